// The PKI dir's lock as the operations use it: taken before any host is touched, so an operation refused
// by it has connected nowhere, and released on every path. The "hosts" are a local TCP port that counts
// connections and drops them (no SSH server: an operation that got that far fails with an SSH error).
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdCluster } from '../../src/deploy/deploy.js';
import { removeEtcdMember } from '../../src/deploy/remove.js';
import { recoverEtcdCluster } from '../../src/deploy/restore.js';
import type { DeployProgressEvent } from '../../src/deploy/types.js';
import { EtcdKitError } from '../../src/errors.js';
import { acquirePkiLock, pkiPaths } from '../../src/pki/index.js';
import { type CountingHost, startCountingHost } from './counting-host.js';

let host: CountingHost;
beforeAll(async () => {
  host = await startCountingHost();
});
afterAll(async () => {
  await host?.close();
});

const spec = () => host.spec();
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
    const before = host.connections;
    const err = await failure(deployEtcdCluster(s, { ...host.options, onProgress: (e) => steps.push(e.step) }));
    expect(err.code).toBe('PKI_LOCKED');
    expect(err.message).toContain('ca rotation');
    expect(host.connections).toBe(before);
    expect(steps).not.toContain('binaries');
    expect(await exists(lock.path)).toBe(true); // still the holder's
    await lock.release();
  });

  it('without the lock held the same deploy gets as far as the host, and releases the lock after failing', async () => {
    const s = spec();
    const before = host.connections;
    const err = await failure(deployEtcdCluster(s, host.options));
    expect(err.code).not.toBe('PKI_LOCKED');
    expect(err.code).toMatch(/^SSH_/);
    expect(host.connections).toBeGreaterThan(before);
    expect(await exists(pkiPaths(s.pki.dir).lock)).toBe(false);
  });

  it('a dry run takes no lock: a plan runs beside a held lock', async () => {
    const s = spec();
    const lock = await acquirePkiLock(s.pki.dir, { operation: 'deploy' });
    const err = await failure(deployEtcdCluster(s, { ...host.options, dryRun: true }));
    expect(err.code).toMatch(/^SSH_/);
    await lock.release();
  });

  it('recover and member remove are refused by a held lock before connecting, and release their own lock', async () => {
    const s = spec();
    const lock = await acquirePkiLock(s.pki.dir, { operation: 'deploy' });
    const before = host.connections;
    expect((await failure(recoverEtcdCluster(s, { ...host.options, from: 'etcd01' }))).code).toBe('PKI_LOCKED');
    expect((await failure(removeEtcdMember(s, 'etcd02', host.options))).code).toBe('PKI_LOCKED');
    expect(host.connections).toBe(before);
    await lock.release();

    // Unlocked, each fails further on (no CA in the PKI dir, no SSH server) and leaves no lock behind.
    expect((await failure(recoverEtcdCluster(s, { ...host.options, from: 'etcd01' }))).code).not.toBe('PKI_LOCKED');
    expect(await exists(lock.path)).toBe(false);
    expect((await failure(removeEtcdMember(s, 'etcd02', host.options))).code).not.toBe('PKI_LOCKED');
    expect(await exists(lock.path)).toBe(false);
  });
});
