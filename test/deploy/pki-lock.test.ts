// The PKI dir's lock as the operations use it: taken before any host is touched, so an operation refused
// by it has connected nowhere, and released on every path. The "hosts" are a local TCP port that counts
// connections and drops them (no SSH server: an operation that got that far fails with an SSH error).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdCluster } from '../../src/deploy/deploy.js';
import { removeEtcdMember } from '../../src/deploy/remove.js';
import { recoverEtcdCluster } from '../../src/deploy/restore.js';
import type { DeployProgressEvent } from '../../src/deploy/types.js';
import { type ClusterSpec, resolveClusterSpec } from '../../src/deploy/validate-spec.js';
import { EtcdKitError } from '../../src/errors.js';
import { acquirePkiLock, pkiPaths } from '../../src/pki/index.js';

const dir = mkdtempSync(join(tmpdir(), 'etcd-kit-deploy-lock-'));
const key = join(dir, 'id_ed25519');
const binDir = join(dir, 'bin');
let server: Server;
let connections = 0;
let counter = 0;

beforeAll(async () => {
  writeFileSync(key, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), '');
  mkdirSync(binDir);
  // An ELF header is all the controller checks of a binary; the version would come from the first host.
  const elf = Buffer.alloc(64);
  elf.write('\x7fELF', 0, 'latin1');
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little-endian
  elf.writeUInt16LE(0x3e, 18); // x86-64
  writeFileSync(join(binDir, 'etcd'), elf);
  writeFileSync(join(binDir, 'etcdctl'), elf);
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** A one-member spec whose host is the counting port, with a PKI dir of its own. */
function spec(): ClusterSpec {
  const { port } = server.address() as AddressInfo;
  return resolveClusterSpec(
    {
      members: [{ name: 'etcd01', host: '127.0.0.1' }],
      ssh: { privateKeyPath: key, port, acceptUnknownHostKeys: true, knownHostsPath: join(dir, 'known_hosts'), agent: false, readyTimeoutMs: 3000 },
      etcd: { binDir },
      pki: { dir: join(dir, `pki-${++counter}`) },
    },
    { env: { HOME: dir }, baseDir: dir },
  );
}

const options = { downloadCacheDir: join(dir, 'cache', 'downloads') };
const exists = (path: string) => stat(path).then(() => true, () => false);

async function failure(action: Promise<unknown>): Promise<EtcdKitError> {
  const err = await action.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EtcdKitError);
  return err as EtcdKitError;
}

describe('the PKI dir lock in the operations', () => {
  it('a deploy refused by a held lock is PKI_LOCKED and has connected to no host', async () => {
    const s = spec();
    const lock = await acquirePkiLock(s.pki.dir, { operation: 'ca rotation' });
    const steps: DeployProgressEvent['step'][] = [];
    const before = connections;
    const err = await failure(deployEtcdCluster(s, { ...options, onProgress: (e) => steps.push(e.step) }));
    expect(err.code).toBe('PKI_LOCKED');
    expect(err.message).toContain('ca rotation');
    expect(connections).toBe(before);
    expect(steps).not.toContain('binaries');
    expect(await exists(lock.path)).toBe(true); // still the holder's
    await lock.release();
  });

  it('without the lock held the same deploy gets as far as the host, and releases the lock after failing', async () => {
    const s = spec();
    const before = connections;
    const err = await failure(deployEtcdCluster(s, options));
    expect(err.code).not.toBe('PKI_LOCKED');
    expect(err.code).toMatch(/^SSH_/);
    expect(connections).toBeGreaterThan(before);
    expect(await exists(pkiPaths(s.pki.dir).lock)).toBe(false);
  });

  it('a dry run takes no lock: a plan runs beside a held lock', async () => {
    const s = spec();
    const lock = await acquirePkiLock(s.pki.dir, { operation: 'deploy' });
    const err = await failure(deployEtcdCluster(s, { ...options, dryRun: true }));
    expect(err.code).toMatch(/^SSH_/);
    await lock.release();
  });

  it('recover and member remove are refused by a held lock before connecting, and release their own lock', async () => {
    const s = spec();
    const lock = await acquirePkiLock(s.pki.dir, { operation: 'deploy' });
    const before = connections;
    expect((await failure(recoverEtcdCluster(s, { ...options, from: 'etcd01' }))).code).toBe('PKI_LOCKED');
    expect((await failure(removeEtcdMember(s, 'etcd02', options))).code).toBe('PKI_LOCKED');
    expect(connections).toBe(before);
    await lock.release();

    // Unlocked, each fails further on (no CA in the PKI dir, no SSH server) and leaves no lock behind.
    expect((await failure(recoverEtcdCluster(s, { ...options, from: 'etcd01' }))).code).not.toBe('PKI_LOCKED');
    expect(await exists(lock.path)).toBe(false);
    expect((await failure(removeEtcdMember(s, 'etcd02', options))).code).not.toBe('PKI_LOCKED');
    expect(await exists(lock.path)).toBe(false);
  });
});
