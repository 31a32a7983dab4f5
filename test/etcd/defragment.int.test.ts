// defragmentCluster against real etcd 3.4 clusters: space freed by compaction comes back to the file
// system one member at a time (leader last, cluster healthy throughout), and a cluster stopped by its
// space quota (NOSPACE alarm) takes writes again after compaction + defragmentation.
import { afterAll, describe, expect, it } from 'vitest';
import { checkHealth, createEtcdClient, type DefragmentProgress, defragmentCluster } from '../../src/etcd/index.js';
import { isEtcdKitError } from '../../src/errors.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';
import { caught } from './support.js';

const clusters: LocalCluster[] = [];
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.close()));
});

const VALUE = 'x'.repeat(64 * 1024);

/** Writes `count` 64 KiB revisions of one key, then compacts everything but the last: garbage for defrag. */
async function makeGarbage(cluster: LocalCluster, count: number): Promise<void> {
  const client = createEtcdClient({ endpoints: cluster.endpoints, tls: cluster.tls });
  try {
    for (let i = 0; i < count; i++) await client.put('/garbage').value(`${i}${VALUE}`);
    const { header } = await client.get('/garbage').exec();
    await client.kv.compact({ revision: header.revision, physical: true });
  } finally {
    client.close();
  }
}

describe('defragmentCluster', () => {
  it('shrinks every member, leader last, with every member healthy before and after each step', async () => {
    const cluster = await startLocalCluster({ size: 3 });
    clusters.push(cluster);
    await makeGarbage(cluster, 200);
    const before = await checkHealth({ endpoints: cluster.endpoints, tls: cluster.tls });
    const leader = before.leader!.name;
    const events: DefragmentProgress[] = [];
    const result = await defragmentCluster({ endpoints: cluster.endpoints, tls: cluster.tls, onProgress: (e) => events.push(e) });
    expect(result.members).toHaveLength(3);
    expect(result.members.at(-1)!.memberName).toBe(leader);
    for (const m of result.members) {
      // ~13 MB of old revisions, compacted: the file comes back to well under half its size.
      expect(m.dbSizeBefore).toBeGreaterThan(8_000_000);
      expect(m.dbSizeAfter).toBeLessThan(m.dbSizeBefore / 2);
    }
    // One member at a time: each starts only after the previous one is done.
    expect(events.map((e) => e.step)).toEqual(['defragment', 'done', 'defragment', 'done', 'defragment', 'done']);
    expect(new Set(events.map((e) => e.endpoint)).size).toBe(3);
    expect(result.health.endpoints.every((e) => e.healthy)).toBe(true);
    expect(result.disarmed).toEqual([]);
  });

  it('gets a cluster stopped by its space quota (NOSPACE) writing again, after compaction', async () => {
    const cluster = await startLocalCluster({ size: 3, settings: { quotaBackendBytes: 4 * 1024 * 1024 } });
    clusters.push(cluster);
    const client = createEtcdClient({ endpoints: cluster.endpoints, tls: cluster.tls });
    try {
      let refused: unknown;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        refused = await client.put('/fill').value(`${i}${VALUE}`).then(() => undefined, (err: unknown) => err);
      }
      expect(String(refused)).toMatch(/database space exceeded/);
      const full = await checkHealth({ endpoints: cluster.endpoints, tls: cluster.tls });
      expect(full.alarms.map((a) => a.alarm)).toContain('NOSPACE');

      const { header } = await client.get('/fill').exec();
      await client.kv.compact({ revision: header.revision, physical: true });
      const result = await defragmentCluster({ endpoints: cluster.endpoints, tls: cluster.tls });
      expect(result.disarmed.map((a) => a.alarm)).toContain('NOSPACE');
      expect(result.health.alarms).toEqual([]);
      await client.put('/after').value('writable again');
      expect(await client.get('/after').string()).toBe('writable again');
    } finally {
      client.close();
    }
  });

  it('touches nothing when a member is down, naming it', async () => {
    const cluster = clusters[0]!;
    await cluster.stop(cluster.members[2]!.name);
    try {
      const err = await caught(defragmentCluster({ endpoints: cluster.endpoints, tls: cluster.tls, healthTimeoutMs: 1500 }));
      expect(isEtcdKitError(err) && err.code).toBe('ETCD_UNHEALTHY');
      expect((err as Error).message).toContain(cluster.members[2]!.clientUrl);
    } finally {
      await cluster.start(cluster.members[2]!.name);
    }
  });
});
