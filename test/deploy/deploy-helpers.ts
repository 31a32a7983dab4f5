// Shared set-up of the deploy tests: a spec for a testbed, etcdctl with the issued admin cert, and a
// look at etcd's main PID on each host.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ClusterSpecInput, DeployResult } from '../../src/index.js';
import { type EtcdRelease, etcdRelease } from '../helpers/etcd-releases.js';
import type { Testbed } from '../testbed/index.js';

const run = promisify(execFile);

/**
 * Minor of etcd the deploy e2e suite runs on: the newest cached patch of it. `ETCD_KIT_E2E_ETCD` picks
 * another (`3.7`, or an exact `3.5.33`). Default: `3.6`.
 */
export const E2E_ETCD_MINOR = process.env.ETCD_KIT_E2E_ETCD ?? '3.6';

/** The release the deploy e2e suite deploys (see {@link E2E_ETCD_MINOR}). */
export function e2eRelease(): EtcdRelease {
  return etcdRelease(E2E_ETCD_MINOR);
}

/** A spec for the first `count` hosts of a testbed, members etcd01.., a fresh PKI dir. */
export function testbedSpec(tb: Testbed, tarball: string, count = tb.hosts.length): ClusterSpecInput & { pki: { dir: string } } {
  return {
    members: tb.hosts.slice(0, count).map((h, i) => ({ name: `etcd0${i + 1}`, host: h.ip })),
    ssh: { privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath, readyTimeoutMs: 4000 },
    etcd: { tarball },
    pki: { dir: join(mkdtempSync(join(tmpdir(), 'etcd-kit-deploy-')), 'pki') },
  };
}

/** Runs the controller's etcdctl with the admin client certificate a deploy issued; stdout + stderr (etcdctl 3.4 reports health on stderr). */
export async function etcdctl(result: DeployResult, ...args: string[]): Promise<string> {
  const admin = result.clientCerts['admin']!;
  const { stdout, stderr } = await run('/usr/bin/etcdctl', [
    `--endpoints=${result.endpoints.join(',')}`,
    `--cacert=${admin.caFile}`,
    `--cert=${admin.certFile}`,
    `--key=${admin.keyFile}`,
    '--dial-timeout=3s',
    '--command-timeout=5s',
    ...args,
  ], { env: { ...process.env, ETCDCTL_API: '3' } });
  return stdout + stderr;
}

/** etcd's MainPID on every host (0 when not running). */
export async function mainPids(tb: Testbed, count = tb.hosts.length): Promise<number[]> {
  return Promise.all(
    tb.hosts.slice(0, count).map(async (h) => Number((await tb.exec(h.name, 'systemctl show -p MainPID --value etcd')).stdout.trim())),
  );
}

/** etcdctl against one member's endpoint only, serializable: what that member itself holds. */
export async function localGet(result: DeployResult, index: number, key: string): Promise<string> {
  const admin = result.clientCerts['admin']!;
  const { stdout } = await run(
    '/usr/bin/etcdctl',
    [
      `--endpoints=${result.endpoints[index]}`,
      `--cacert=${admin.caFile}`,
      `--cert=${admin.certFile}`,
      `--key=${admin.keyFile}`,
      '--dial-timeout=3s',
      '--command-timeout=5s',
      'get',
      key,
      '--consistency=s',
      '--print-value-only',
    ],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
  return stdout;
}
