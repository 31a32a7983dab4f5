// What a CA rotation's end looks like from outside, checked with real clients: openssl s_client (the chain
// each member serves on its client and peer ports), etcdctl (an old-CA client refused), the host files.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { DeployResult } from '../../src/index.js';

const run = promisify(execFile);

/**
 * One `openssl s_client` handshake with `address` (`ip:port`) trusting only `caFile`, presenting `client`:
 * its `Verify return code` (0: the served chain verifies) and the peer's signature type (`ECDSA`, `RSA-PSS`).
 */
export async function servedChainVerifies(address: string, caFile: string, client: { certFile: string; keyFile: string }): Promise<{ code: number; text: string; keyType: string }> {
  // stdin at EOF (/dev/null): s_client handshakes, prints what it verified and exits.
  const out = await new Promise<string>((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', address, '-CAfile', caFile, '-cert', client.certFile, '-key', client.keyFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('close', () => resolve(text));
  });
  const verify = out.match(/Verify return code: (\d+) \(([^)]*)\)/);
  return {
    code: verify ? Number(verify[1]) : -1,
    text: verify?.[2] ?? out.trim().split('\n').slice(-3).join(' | '),
    keyType: out.match(/^Peer signature type: (.*)$/m)?.[1] ?? '',
  };
}

/** etcdctl `endpoint health` with the given files; resolves with its exit code and output (never throws). */
export async function etcdctlHealth(etcdctl: string, endpoints: string[], files: { caFile: string; certFile: string; keyFile: string }): Promise<{ code: number; output: string }> {
  return run(
    etcdctl,
    [`--endpoints=${endpoints.join(',')}`, `--cacert=${files.caFile}`, `--cert=${files.certFile}`, `--key=${files.keyFile}`, '--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health'],
    { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' },
  )
    .then((r) => ({ code: 0, output: r.stdout + r.stderr }))
    .catch((err: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof err.code === 'number' ? err.code : 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }));
}

/** `ip:port` of every member's client and peer listener. */
export function listenerAddresses(result: Pick<DeployResult, 'endpoints'>): string[] {
  return result.endpoints.flatMap((e) => {
    const host = new URL(e).hostname;
    return [`${host}:2379`, `${host}:2380`];
  });
}
