import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { addMember, connectCluster, type EtcdCluster, listMembers, removeMember } from '../../src/etcd/index.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';
import { caught, type ExtraMember, prepareExtraMember } from './support.js';

let cluster: LocalCluster;
let handle: EtcdCluster;
let extra: ExtraMember | undefined;

beforeAll(async () => {
  cluster = await startLocalCluster({ size: 3, keyAlgorithm: 'ecdsa-p256', namePrefix: 'mem' });
  handle = connectCluster({ endpoints: cluster.endpoints, tls: cluster.tls });
});

afterAll(async () => {
  handle?.close();
  await extra?.kill();
  await cluster?.close();
});

describe('membership wrappers on etcd 3.4', () => {
  it('lists the members with hex ids and their URLs', async () => {
    const members = await listMembers({ endpoints: cluster.endpoints, tls: cluster.tls });
    expect(members.map((m) => m.name).sort()).toEqual(['mem1', 'mem2', 'mem3']);
    for (const m of members) {
      expect(m.id).toMatch(/^[0-9a-f]+$/);
      expect(m.clientUrls).toEqual([cluster.member(m.name).clientUrl]);
      expect(m.isLearner).toBe(false);
    }
    expect(await handle.listMembers()).toEqual(members);
  });

  it('adds a learner, sees it as a learner, promotes it once caught up, then removes it', async () => {
    extra = await prepareExtraMember(cluster, 'mem4');
    // Fresh cluster: etcd's strict reconfig check refuses changes for its first 5 s; the retry rides it out.
    const added = await addMember({
      endpoints: cluster.endpoints,
      tls: cluster.tls,
      peerUrls: [extra.peerUrl],
      isLearner: true,
      retryTimeoutMs: 30_000,
    });
    expect(added.member).toMatchObject({ name: '', peerUrls: [extra.peerUrl], clientUrls: [], isLearner: true });
    expect(added.members).toHaveLength(4);
    const id = added.member.id;
    expect((await handle.listMembers()).find((m) => m.id === id)?.isLearner).toBe(true);

    // A learner that has not even started cannot be promoted.
    const early = await caught(handle.promoteMember(id));
    expect(isEtcdKitError(early, 'ETCD_MEMBERSHIP')).toBe(true);
    expect((early as Error).message).toContain('in sync');

    await extra.start(added.members);
    const withLearner = connectCluster({ endpoints: [...cluster.endpoints, extra.clientUrl], tls: cluster.tls });
    try {
      const promoted = await handle.promoteMember(id, { retryTimeoutMs: 60_000 });
      expect(promoted.find((m) => m.id === id)).toMatchObject({ name: 'mem4', isLearner: false });

      const health = await withLearner.waitForHealthy({ timeoutMs: 30_000 });
      expect(health.quorum.votingMembers).toBe(4);
      const learnerEntry = health.endpoints.find((e) => e.endpoint === extra?.clientUrl);
      expect(learnerEntry?.memberName).toBe('mem4');
      expect(learnerEntry?.status?.isLearner).toBe(false);
    } finally {
      withLearner.close();
    }

    const after = await removeMember({ endpoints: cluster.endpoints, tls: cluster.tls, id, retryTimeoutMs: 30_000 });
    expect(after.map((m) => m.name).sort()).toEqual(['mem1', 'mem2', 'mem3']);
    expect(await handle.listMembers()).toHaveLength(3);
    expect((await handle.checkHealth()).healthy).toBe(true);

    const again = await caught(handle.removeMember(id));
    expect(isEtcdKitError(again, 'ETCD_MEMBERSHIP')).toBe(true);
    expect((again as Error).message).toContain('member not found');
  });

  it('reports a running learner endpoint as up and as a learner', async () => {
    const learner = await prepareExtraMember(cluster, 'mem5');
    try {
      const added = await handle.addMember({ peerUrls: [learner.peerUrl], isLearner: true, retryTimeoutMs: 30_000 });
      await learner.start(added.members);
      const withLearner = connectCluster({ endpoints: [...cluster.endpoints, learner.clientUrl], tls: cluster.tls });
      try {
        let entry: Awaited<ReturnType<EtcdCluster['checkHealth']>>['endpoints'][number] | undefined;
        // Until it has started and published its name through raft.
        const ready = () => entry?.healthy === true && entry.memberName !== undefined;
        for (let i = 0; i < 100 && !ready(); i++) {
          const health = await withLearner.checkHealth();
          entry = health.endpoints.find((e) => e.endpoint === learner.clientUrl);
          if (!ready()) await new Promise((r) => setTimeout(r, 200));
        }
        expect(entry?.healthy).toBe(true);
        expect(entry?.status?.isLearner).toBe(true);
        expect(entry?.memberName).toBe('mem5');
      } finally {
        withLearner.close();
      }
      await handle.removeMember(added.member.id, { retryTimeoutMs: 30_000 });
    } finally {
      await learner.kill();
    }
  });

  it('validates input before any request', async () => {
    const http = await caught(handle.addMember({ peerUrls: ['http://127.0.0.1:2380'] }));
    expect(isEtcdKitError(http, 'INVALID_ARGUMENT')).toBe(true);
    expect((http as { field?: string }).field).toBe('peerUrls[0]');
    const badId = await caught(handle.promoteMember('not-hex'));
    expect(isEtcdKitError(badId, 'INVALID_ARGUMENT')).toBe(true);
    expect((badId as { field?: string }).field).toBe('id');
  });
});
