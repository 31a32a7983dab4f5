/**
 * Rolling restarts, decided: who goes when, and who leads while the leader restarts. Pure, unit-tested.
 * @module
 */
import type { MemberPlan } from './types.js';

/** What {@link planRestartOrder} needs to know, all by member name. */
export interface RestartOrderInput {
  /** Members to restart, in spec order. */
  restart: readonly string[];
  /** The current leader's name (undefined when unknown). */
  leader: string | undefined;
}

/** Followers first in spec order, the leader last (it is restarted once leadership has moved away). */
export function planRestartOrder(input: RestartOrderInput): string[] {
  const followers = input.restart.filter((n) => n !== input.leader);
  return followers.length === input.restart.length ? followers : [...followers, input.leader!];
}

/** What {@link leadershipTarget} needs to know, right before one member's restart, all by member name. */
export interface LeadershipInput {
  /** The member about to restart. */
  restarting: string;
  /** The leader now (undefined when unknown). */
  leader: string | undefined;
  /** Members already restarted in this roll (upgraded, caught up), in the order they were restarted. */
  restarted: readonly string[];
  /** Voting members healthy in the last check (learners excluded). */
  healthyVoters: readonly string[];
}

/**
 * Where the leadership goes before `restarting` restarts: nowhere unless it leads; then to the first member
 * already restarted in this roll that is a healthy voter (it runs the new release and has caught up), else
 * to any other healthy voter (better a planned hand-over than an election after a timeout), else nowhere
 * (a one-member cluster).
 */
export function leadershipTarget(input: LeadershipInput): string | undefined {
  if (input.leader === undefined || input.leader !== input.restarting) return undefined;
  const others = input.healthyVoters.filter((n) => n !== input.restarting);
  return input.restarted.find((n) => others.includes(n)) ?? others[0];
}

/** Version changes of members with data (running, or stopped with a data dir): any of them means a checked snapshot first. */
const VERSION_CHANGES = new Set(['upgrade', 'downgrade', 'patch-up', 'patch-down']);

/**
 * Whether a deploy must take a checked snapshot before its first restart: a member with data changes its
 * etcd version (`upgrade`, `downgrade`, `patch-up`, `patch-down`; `install` and `none` do not).
 */
export function needsPreChangeSnapshot(members: readonly Pick<MemberPlan, 'version'>[]): boolean {
  return members.some((m) => VERSION_CHANGES.has(m.version.change));
}

/** A restarted member has caught up once its applied index reached the leader's raft index read before the restart. */
export function caughtUp(appliedIndex: number | undefined, leaderIndexBefore: number): boolean {
  return appliedIndex !== undefined && appliedIndex >= leaderIndexBefore;
}
