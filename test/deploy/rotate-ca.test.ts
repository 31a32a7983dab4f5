// rotateEtcdCa's refusals that come before any host is touched: bad options, a rotation under way to
// another algorithm, a spec ahead of its PKI dir, a held lock; and the other operations refusing to run
// in the middle of a rotation (a member removal would otherwise change the membership, then stop).
import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdCluster } from '../../src/deploy/deploy.js';
import { removeEtcdMember } from '../../src/deploy/remove.js';
import { restoreEtcdCluster } from '../../src/deploy/restore.js';
import { rotateEtcdCa } from '../../src/deploy/rotate-ca.js';
import type { ClusterSpec } from '../../src/deploy/resolve-spec.js';
import { acquirePkiLock, beginCaRotation, createClusterPki, readCaRotationState, writePkiDir } from '../../src/pki/index.js';
import { rejection } from '../helpers/rejection.js';
import { type CountingHost, startCountingHost } from './counting-host.js';

let host: CountingHost;
beforeAll(async () => {
  host = await startCountingHost();
});
afterAll(async () => {
  await host?.close();
});

/** A spec whose PKI dir holds a cluster PKI for `members` (default: the spec's own). */
async function withPki(spec: ClusterSpec, members = spec.members.map((m) => m.name)): Promise<ClusterSpec> {
  const pki = await createClusterPki({ members: members.map((name) => ({ name, hosts: ['127.0.0.1'] })), keyAlgorithm: 'ecdsa-p256', clients: spec.pki.clients });
  await writePkiDir(spec.pki.dir, pki);
  return spec;
}

describe('rotateEtcdCa refuses before touching a host', () => {
  it('bad options, each naming its field', async () => {
    const spec = host.spec();
    const before = host.connections;
    for (const [options, field] of [
      [{ keyAlgorithm: 'dsa-1024' }, 'keyAlgorithm'],
      [{ validityDays: 0 }, 'validityDays'],
      [{ validityDays: 1.5 }, 'validityDays'],
      [{ stopAfter: 'drop-old' }, 'stopAfter'],
      [{ healthTimeoutMs: -1 }, 'healthTimeoutMs'],
    ] as const) {
      expect(await rejection(rotateEtcdCa(spec, options as never))).toMatchObject({ code: 'INVALID_ARGUMENT', field });
    }
    expect(await rejection(rotateEtcdCa({ members: [], etcd: { binDir: '/nonexistent' }, pki: { dir: spec.pki.dir } } as never))).toMatchObject({ code: 'INVALID_SPEC' });
    expect(host.connections).toBe(before);
  });

  it('a rotation under way to another key algorithm: PKI_INVALID_INPUT, the record unchanged', async () => {
    const spec = await withPki(host.spec());
    const state = await beginCaRotation(spec.pki.dir, { keyAlgorithm: 'ecdsa-p384' });
    const before = host.connections;
    expect(await rejection(rotateEtcdCa(spec, { keyAlgorithm: 'rsa-2048' }))).toMatchObject({ code: 'PKI_INVALID_INPUT', field: 'keyAlgorithm', details: { phase: 'trust-both' } });
    expect(host.connections).toBe(before);
    expect(await readCaRotationState(spec.pki.dir)).toEqual(state);
  });

  it('a spec with a member the PKI dir has no certificates for: deploy first', async () => {
    const spec = await withPki(host.spec(['etcd02']), ['etcd01']);
    const before = host.connections;
    expect(await rejection(rotateEtcdCa(spec))).toMatchObject({ code: 'UNSAFE_CHANGE', details: { missing: ['members/etcd02'] } });
    expect(host.connections).toBe(before);
    expect(await readCaRotationState(spec.pki.dir)).toBeUndefined();
  });

  it('a PKI dir another operation holds: PKI_LOCKED', async () => {
    const spec = await withPki(host.spec());
    const lock = await acquirePkiLock(spec.pki.dir, { operation: 'deploy' });
    const before = host.connections;
    expect(await rejection(rotateEtcdCa(spec))).toMatchObject({ code: 'PKI_LOCKED' });
    expect(host.connections).toBe(before);
    await lock.release();
  });

  it('with everything in order it goes as far as the hosts (the counting port), and begins nothing there', async () => {
    const spec = await withPki(host.spec());
    const before = host.connections;
    expect((await rejection(rotateEtcdCa(spec))).code).toMatch(/^SSH_/);
    expect(host.connections).toBeGreaterThan(before);
    expect(await readCaRotationState(spec.pki.dir)).toBeUndefined();
  });
});

describe('other operations in the middle of a rotation', () => {
  it('deploy, restore and member remove: CA_ROTATION_IN_PROGRESS before connecting', async () => {
    const spec = await withPki(host.spec(['etcd02']));
    await beginCaRotation(spec.pki.dir);
    const before = host.connections;
    expect(await rejection(deployEtcdCluster(spec, host.options))).toMatchObject({ code: 'CA_ROTATION_IN_PROGRESS', field: 'pki.dir' });
    expect(await rejection(removeEtcdMember({ ...spec, members: spec.members.slice(0, 1) }, 'etcd02', host.options))).toMatchObject({ code: 'CA_ROTATION_IN_PROGRESS' });
    expect(host.connections).toBe(before);
    // a restore checks its snapshot file first (this one has a valid SHA-256 trailer), then the rotation
    const body = randomBytes(64);
    const snapshot = join(tmpdir(), `etcd-kit-rotating-${process.pid}.db`);
    await writeFile(snapshot, Buffer.concat([body, createHash('sha256').update(body).digest()]));
    expect(await rejection(restoreEtcdCluster(spec, { ...host.options, snapshot }))).toMatchObject({ code: 'CA_ROTATION_IN_PROGRESS' });
    await rm(snapshot);
    expect(host.connections).toBe(before);
  });
});
