// rollingRestart's order, hand-over and catch-up check on a real local 3-member etcd: followers first, the
// leadership moved to a member already done before the leader's turn, and a member that never catches
// up with the leader fails the roll naming it (ETCD_TIMEOUT), instead of the next member going down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedMember } from '../../src/deploy/prepare.js';
import { type RollingRestartContext, rollingRestart } from '../../src/deploy/rolling-restart.js';
import { EtcdKitError } from '../../src/errors.js';
import { connectCluster, type EtcdCluster } from '../../src/etcd/index.js';
import { rejection } from '../helpers/rejection.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';

let local: LocalCluster;
let cluster: EtcdCluster;
let members: PreparedMember[];

beforeAll(async () => {
  local = await startLocalCluster({ size: 3, namePrefix: 'rr' });
  cluster = connectCluster({ endpoints: local.endpoints, tls: local.tls });
  // rollingRestart reads only the member names (spec order = endpoint order).
  members = local.members.map((m) => ({ spec: { name: m.name } }) as PreparedMember);
});
afterAll(async () => {
  cluster?.close();
  await local?.close();
});

function context(over: Partial<RollingRestartContext>, log: string[]): RollingRestartContext {
  return {
    cluster,
    members,
    options: {},
    healthTimeoutMs: 20_000,
    health: undefined as never,
    stage: async (m) => {
      log.push(`stage ${m.spec.name}`);
    },
    // The process restart is the deploy's (SSH + systemd); here the member keeps running: what is under
    // test is the order, the hand-over and the catch-up wait against real raft indexes.
    restart: async (m) => {
      log.push(`restart ${m.spec.name}`);
    },
    fail: (m, err) => new EtcdKitError('DEPLOY_FAILED', `${m.spec.name}: ${(err as Error).message}`, { cause: err, member: m.spec.name }),
    ...over,
  };
}

describe('rollingRestart on real etcd', () => {
  it('followers first, leadership handed to the first one done, the leader last; each staged right before its restart', async () => {
    const health = await cluster.waitForHealthy({ timeoutMs: 30_000 });
    const leader = health.leader!.name;
    const followers = members.map((m) => m.spec.name).filter((n) => n !== leader);
    const log: string[] = [];
    const order = await rollingRestart(context({ health }, log), members);
    expect(order).toEqual([...followers, leader]);
    expect(log).toEqual(order.flatMap((n) => [`stage ${n}`, `restart ${n}`]));
    // the leadership went to the first member restarted, before the old leader's turn
    expect((await cluster.checkHealth({ timeoutMs: 5000 })).leader?.name).toBe(followers[0]);
  });

  it('a member that does not catch up with the leader fails the roll naming it, and the next one is not touched', async () => {
    const health = await cluster.waitForHealthy({ timeoutMs: 30_000 });
    const leaderId = health.leader!.id;
    // The leader's raft index as the roll reads it before the first restart: far beyond what exists.
    const ahead = {
      ...health,
      endpoints: health.endpoints.map((e) => (e.status?.memberId === leaderId ? { ...e, status: { ...e.status, raftIndex: e.status.raftIndex + 1_000_000_000 } } : e)),
    };
    const log: string[] = [];
    const started = Date.now();
    const err = await rejection(rollingRestart(context({ health: ahead, healthTimeoutMs: 1500 }, log), members));
    const first = members.map((m) => m.spec.name).find((n) => n !== health.leader!.name)!;
    expect(err.message).toMatch(new RegExp(`^${first}: ${first} did not catch up with the leader within 1500 ms: raft applied index \\d+, the leader's raft index before the restart was \\d+`));
    expect((err.cause as { code?: string }).code).toBe('ETCD_TIMEOUT');
    expect(log).toEqual([`stage ${first}`, `restart ${first}`]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
