/**
 * Rolling restarts, carried out: one member at a time, its files placed right before its own restart,
 * followers first, leadership handed to a restarted member before the leader goes, and each member
 * healthy and caught up with the leader before the next one starts.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { ClusterHealth, EtcdCluster } from '../etcd/index.js';
import type { PreparedMember } from './prepare.js';
import { caughtUp, leadershipTarget, planRestartOrder } from './restart-order.js';
import type { DeployOptions } from './types.js';
import { waitForEndpoints } from './wait-endpoints.js';

const CATCH_UP_POLL_MS = 250;

/** What {@link rollingRestart} needs from the deploy. */
export interface RollingRestartContext {
  cluster: EtcdCluster;
  /** Every member of the spec, in spec order (`members[i]` is behind `cluster.endpoints[i]`). */
  members: readonly PreparedMember[];
  options: DeployOptions;
  healthTimeoutMs: number;
  /** The health picture right before the roll (every member healthy). */
  health: ClusterHealth;
  /** Places the member's files without restarting it (its turn has come). */
  stage(m: PreparedMember): Promise<void>;
  /** Restarts the member and resolves once its new process runs. */
  restart(m: PreparedMember): Promise<void>;
  /** Runs once the member is healthy and caught up, before the next one's turn (checks, a progress record). */
  settled?(m: PreparedMember): Promise<void>;
  /** Wraps a member's failure (names it, explains it). */
  fail(m: PreparedMember, err: unknown): Error | Promise<Error>;
}

function memberIdOf(health: ClusterHealth, i: number): string | undefined {
  return health.endpoints[i]?.status?.memberId;
}

function nameOfId(ctx: RollingRestartContext, health: ClusterHealth, id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const i = health.endpoints.findIndex((e) => e.status?.memberId === id);
  return i === -1 ? undefined : ctx.members[i]?.spec.name;
}

function leaderRaftIndex(health: ClusterHealth): number {
  const leader = health.endpoints.find((e) => e.status !== undefined && e.status.memberId === health.leader?.id);
  // No leader status: the highest committed index any member reports is the bar.
  return leader?.status?.raftIndex ?? Math.max(0, ...health.endpoints.map((e) => e.status?.raftIndex ?? 0));
}

function healthyVoters(ctx: RollingRestartContext, health: ClusterHealth): string[] {
  return health.endpoints.flatMap((e, i) => (e.healthy && e.status && !e.status.isLearner ? [ctx.members[i]!.spec.name] : []));
}

/** Waits until every member is healthy and member `index` has applied at least `target`. */
async function waitCaughtUp(ctx: RollingRestartContext, index: number, target: number): Promise<ClusterHealth> {
  const m = ctx.members[index]!;
  const deadline = Date.now() + ctx.healthTimeoutMs;
  let applied: number | undefined;
  let answered = false;
  const behind = (cause?: unknown) =>
    new EtcdKitError(
      'ETCD_TIMEOUT',
      `${m.spec.name} did not catch up with the leader within ${ctx.healthTimeoutMs} ms: raft applied index ${applied ?? 'unknown'}, the leader's raft index before the restart was ${target}`,
      { member: m.spec.name, details: { appliedIndex: applied, leaderIndex: target }, ...(cause === undefined ? {} : { cause }) },
    );
  for (;;) {
    let health: ClusterHealth;
    try {
      health = await waitForEndpoints(ctx.cluster, { timeoutMs: Math.max(1, deadline - Date.now()), signal: ctx.options.signal });
    } catch (err) {
      // Healthy before and only the time ran out: what it waited for is the catch-up (the cause has the rest).
      if (answered && err instanceof EtcdKitError && (err.code === 'ETCD_UNHEALTHY' || err.code === 'ETCD_TIMEOUT')) throw behind(err);
      throw err;
    }
    answered = true;
    applied = health.endpoints[index]?.status?.raftAppliedIndex;
    if (caughtUp(applied, target)) return health;
    if (Date.now() > deadline) throw behind();
    await new Promise((r) => setTimeout(r, CATCH_UP_POLL_MS));
  }
}

/**
 * Restarts `toRestart` one at a time (see {@link planRestartOrder}): before each, the leader is read
 * afresh and, if it is the member about to restart, leadership moves to an already restarted member
 * ({@link leadershipTarget}); then its files are placed, it restarts, and the next waits until every member
 * is healthy and this one's applied index has reached the leader's raft index read just before. Returns
 * the names in the order restarted.
 */
export async function rollingRestart(ctx: RollingRestartContext, toRestart: readonly PreparedMember[]): Promise<string[]> {
  let health = ctx.health;
  const byName = new Map(ctx.members.map((m, i) => [m.spec.name, i]));
  const order = planRestartOrder({ restart: toRestart.map((m) => m.spec.name), leader: nameOfId(ctx, health, health.leader?.id) });
  const restarted: string[] = [];
  for (const name of order) {
    const index = byName.get(name)!;
    const m = ctx.members[index]!;
    try {
      const to = leadershipTarget({ restarting: name, leader: nameOfId(ctx, health, health.leader?.id), restarted, healthyVoters: healthyVoters(ctx, health) });
      if (to !== undefined) {
        const toId = memberIdOf(health, byName.get(to)!)!;
        ctx.options.onProgress?.({ step: 'restart', message: `moving leadership from ${name} to ${to} before restarting ${name}`, leadership: { from: name, to } });
        await ctx.cluster.moveLeader(toId, { retryTimeoutMs: Math.min(ctx.healthTimeoutMs, 30_000), ...(ctx.options.signal ? { signal: ctx.options.signal } : {}) });
        health = await waitForEndpoints(ctx.cluster, { timeoutMs: ctx.healthTimeoutMs, signal: ctx.options.signal });
      }
      const target = leaderRaftIndex(health);
      await ctx.stage(m);
      ctx.options.onProgress?.({ step: 'restart', member: name });
      await ctx.restart(m);
      ctx.options.onProgress?.({ step: 'wait-healthy', member: name, message: `waiting for ${name} to be healthy and caught up with the leader (raft index ${target})` });
      health = await waitCaughtUp(ctx, index, target);
      await ctx.settled?.(m);
      restarted.push(name);
    } catch (err) {
      throw await ctx.fail(m, err);
    }
  }
  return restarted;
}
