// EtcdCluster.moveLeader on a real local 3-member cluster: the leadership goes where it is asked to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster, type EtcdCluster } from '../../src/etcd/index.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';

let cluster: LocalCluster;
let handle: EtcdCluster;

beforeAll(async () => {
  cluster = await startLocalCluster({ size: 3, namePrefix: 'ml' });
  handle = connectCluster({ endpoints: cluster.endpoints, tls: cluster.tls });
});

afterAll(async () => {
  handle?.close();
  await cluster?.close();
});

/** The leader every member reports (one entry per member, hex ids). */
async function leaderSeenByEach(): Promise<string[]> {
  const health = await handle.checkHealth({ timeoutMs: 3000 });
  return health.endpoints.map((e) => e.status?.leaderId ?? '?');
}

describe('moveLeader', () => {
  it('moves the leadership to each follower in turn; every member sees the new leader', async () => {
    const health = await handle.waitForHealthy({ timeoutMs: 30_000 });
    const ids = health.endpoints.map((e) => e.status!.memberId);
    let leader = health.leader!.id;
    // twice round: each member leads once, whichever led at the start
    for (const target of [...ids.filter((id) => id !== leader), leader]) {
      const result = await handle.moveLeader(target, { retryTimeoutMs: 5000 });
      expect(result).toEqual({ from: leader, to: target, moved: true });
      expect(await leaderSeenByEach()).toEqual([target, target, target]);
      leader = target;
    }
  });

  it('does nothing when the target already leads', async () => {
    const leader = (await handle.checkHealth()).leader!.id;
    expect(await handle.moveLeader(leader)).toEqual({ from: leader, to: leader, moved: false });
    expect(await leaderSeenByEach()).toEqual([leader, leader, leader]);
  });

  it('refuses an id that is no member, and a malformed id before any request', async () => {
    const leader = (await handle.checkHealth()).leader!.id;
    await expect(handle.moveLeader('1234abcd')).rejects.toMatchObject({ code: expect.stringMatching(/^ETCD_/) });
    await expect(handle.moveLeader('not-hex')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'toMemberId' });
    expect((await handle.checkHealth()).leader!.id).toBe(leader);
  });
});
