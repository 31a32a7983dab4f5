// Disaster recovery on real hosts (etcd 3.6): a cluster rolled back to a snapshot, with and without a
// revision bump; refusals that change nothing; a restore after a purge and onto other hosts; a lost
// quorum recovered from the one member left.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployResult, deployEtcdCluster, type EtcdTlsOptions, readPkiDir, recoverEtcdCluster, resetEtcdCluster, restoreEtcdCluster, saveSnapshot } from '../../src/index.js';
import { createEtcdClient, readClusterIdentity } from '../../src/etcd-entry.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, mainPids, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let spec: ReturnType<typeof testbedSpec>;
let deployed: DeployResult;
let tls: EtcdTlsOptions;
let scratch: string;
let snapshotPath: string;
let snapshotRevision: bigint;

beforeAll(async () => {
  tb = await startTestbed({ hosts: 6 });
  spec = testbedSpec(tb, e2eRelease().tarball, 3);
  spec.pki = { ...spec.pki, keyAlgorithm: 'ecdsa-p256' };
  deployed = await deployEtcdCluster(spec);
  const pki = await readPkiDir(spec.pki.dir);
  tls = { caPem: pki.ca.certPem, certPem: pki.clients['admin']!.certPem, keyPem: pki.clients['admin']!.keyPem };
  scratch = mkdtempSync(join(tmpdir(), 'etcd-kit-restore-'));
});
afterAll(async () => {
  await tb?.destroy();
});

async function withClient<T>(endpoints: string[], fn: (c: ReturnType<typeof createEtcdClient>) => Promise<T>): Promise<T> {
  const client = createEtcdClient({ endpoints, tls });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

async function keys(endpoints: string[], prefix: string): Promise<string[]> {
  return withClient(endpoints, async (c) => (await c.getAll().prefix(prefix).keys()).sort());
}

/** Each host's data dir listing and etcd main PID: what a refusal must leave as it was. */
async function hostState(): Promise<string[]> {
  const dirs = await Promise.all([0, 1, 2].map(async (i) => (await tb.exec(i, 'ls -d /var/lib/etcd* ; ls /var/lib/etcd/member')).stdout));
  return [...dirs, (await mainPids(tb)).slice(0, 3).join(',')];
}

describe('restoreEtcdCluster on etcd 3.6', () => {
  it('a running cluster rolled back to a snapshot: exactly its keys, a new cluster ID, old data dirs kept', async () => {
    const endpoints = deployed.endpoints;
    await withClient(endpoints, async (c) => {
      const lease = c.lease(3600);
      await lease.grant();
      await Promise.all(Array.from({ length: 300 }, (_, i) => c.put(`/snap/k${String(i).padStart(3, '0')}`).value(`v${i}`)));
      await lease.put('/snap/leased').value('held');
    });
    const before = await readClusterIdentity({ endpoints, tls });
    snapshotPath = join(scratch, 'snap.db');
    await saveSnapshot({ endpoints, tls, path: snapshotPath });
    // nothing was written since that read: the snapshot's revision
    snapshotRevision = BigInt(before.revision);
    await withClient(endpoints, (c) => Promise.all(Array.from({ length: 50 }, (_, i) => c.put(`/later/k${i}`).value('x'))));

    const result = await restoreEtcdCluster(spec, { snapshot: snapshotPath, replaceRunning: true });
    expect(result.health.verdict).toBe('healthy');
    expect(result.clusterId).not.toBe(before.clusterId);
    expect(BigInt(result.revision)).toBe(snapshotRevision);
    expect(result.snapshot.sha256).toBe(createHash('sha256').update(readFileSync(snapshotPath)).digest('hex'));
    expect(await keys(endpoints, '/later/')).toEqual([]);
    const restored = await keys(endpoints, '/snap/');
    expect(restored).toHaveLength(301);
    expect(await withClient(endpoints, (c) => c.get('/snap/k042').string())).toBe('v42');
    // every host kept its old data dir, moved aside whole
    for (const [i, m] of result.members.entries()) {
      expect(m.movedAside).toMatch(/^\/var\/lib\/etcd\.before-restore-\d{8}T\d{6}Z$/);
      expect((await tb.exec(i, `ls ${m.movedAside}/member`)).stdout).toMatch(/snap/);
      expect((await tb.exec(i, 'stat -c "%U %a" /var/lib/etcd')).stdout.trim()).toBe('etcd 700');
      // the first start's env override is gone: the next start reads only the env file (corruption check on)
      expect((await tb.exec(i, 'ls /run/systemd/system/etcd.service.d/ /run/etcd-kit/ 2>&1 || true')).stdout).not.toContain('once');
    }
    // the members are new members of a new cluster, and a deploy of the same spec changes nothing
    expect(new Set(result.members.map((m) => m.memberId)).size).toBe(3);
    expect((await deployEtcdCluster(spec)).changed).toBe(false);
  });

  it('with bumpRevision: the revision is at least the snapshot revision + N, the keys the same', async () => {
    const result = await restoreEtcdCluster(spec, { snapshot: snapshotPath, replaceRunning: true, bumpRevision: 1_000_000, markCompacted: true });
    expect(BigInt(result.revision)).toBeGreaterThanOrEqual(snapshotRevision + 1_000_000n);
    expect(await keys(deployed.endpoints, '/snap/')).toHaveLength(301);
  });

  it('refusals change nothing on any host: a damaged snapshot, a running cluster without replaceRunning, recover with quorum', async () => {
    const state = await hostState();
    const damaged = join(scratch, 'damaged.db');
    const bytes = readFileSync(snapshotPath);
    bytes[4096] = bytes[4096]! ^ 0xff;
    writeFileSync(damaged, bytes);
    expect((await rejection(restoreEtcdCluster(spec, { snapshot: damaged, replaceRunning: true }))).code).toBe('SNAPSHOT_INVALID');
    const running = await rejection(restoreEtcdCluster(spec, { snapshot: snapshotPath }));
    expect(running.code).toBe('UNSAFE_CHANGE');
    expect(running.message).toMatch(/running and healthy .*rollback of the data.*replaceRunning/);
    const quorum = await rejection(recoverEtcdCluster(spec, { from: 'etcd01', backupDir: join(scratch, 'recover') }));
    expect(quorum.code).toBe('UNSAFE_CHANGE');
    expect(quorum.message).toMatch(/has a quorum .*Replace the failed members/);
    expect(await hostState()).toEqual(state);
  });

  it('a lost quorum: two members stopped and wiped, recovered from the third with every key', async () => {
    await tb.exec(1, 'systemctl stop etcd && rm -rf /var/lib/etcd/member');
    await tb.exec(2, 'systemctl stop etcd && rm -rf /var/lib/etcd/member');
    const backupDir = join(scratch, 'recover');
    const messages: string[] = [];
    const result = await recoverEtcdCluster(spec, { from: 'etcd01', backupDir, onProgress: (e) => e.message && messages.push(e.message) });
    expect(result.health.verdict).toBe('healthy');
    expect(result.snapshot.path.startsWith(backupDir)).toBe(true);
    // etcd01 still runs (alone, no quorum) and serves a snapshot: that, checked, not its raw db file
    expect(result.snapshot.path).toMatch(/\.db$/);
    expect(messages.some((m) => m.startsWith('snapshot from etcd01'))).toBe(true);
    expect(await keys(deployed.endpoints, '/snap/')).toHaveLength(301);
    expect(result.members.map((m) => m.name)).toEqual(['etcd01', 'etcd02', 'etcd03']);
  });

  it('after a purge reset, and onto three other hosts (the cluster moves)', async () => {
    await resetEtcdCluster(spec, { removeData: true });
    const purged = await restoreEtcdCluster(spec, { snapshot: snapshotPath });
    expect(purged.health.verdict).toBe('healthy');
    expect(purged.members.every((m) => m.movedAside === undefined)).toBe(true);
    expect(await keys(deployed.endpoints, '/snap/')).toHaveLength(301);

    const moved = { ...spec, members: tb.hosts.slice(3, 6).map((h, i) => ({ name: `etcd0${i + 1}`, host: h.ip })) };
    const there = await restoreEtcdCluster(moved, { snapshot: snapshotPath });
    expect(there.health.verdict).toBe('healthy');
    expect(there.endpoints).toEqual(tb.hosts.slice(3, 6).map((h) => `https://${h.ip}:2379`));
    expect(await keys(there.endpoints, '/snap/')).toHaveLength(301);
    expect((await deployEtcdCluster(moved)).changed).toBe(false);
  });
});
