/**
 * A member that moved to another host: the spec names it on a new host while the running cluster lists a
 * member of that name on its old one. Deciding that, and whether moving it now is safe, is pure and lives
 * here once; doing it (old host cleaned if reachable, member remove, the new host joins) is move.ts.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { EtcdMember } from '../etcd/index.js';
import type { ClusterObservation, MemberObservation, MemberState } from './member-state.js';

/** The host of a peer URL (`https://10.0.0.13:2380` → `10.0.0.13`, brackets of an IPv6 address dropped). */
export function peerHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return url;
  }
}

/** The host of a listed member's (first) peer URL: where it ran, and where its host is reached over SSH. */
function hostOf(listed: EtcdMember): string {
  const url = listed.peerUrls[0];
  return url === undefined ? `member ${listed.id}` : peerHost(url);
}

/**
 * The listed member `m` moved away from, when `m` is a move; else undefined. A move needs all of:
 * - a member list to trust (a quorum answered);
 * - `m` does not answer: a new host whose etcd answers already runs as a member of this cluster;
 * - the cluster lists nobody at `m`'s spec peer URL (else that entry is `m` itself: down, replaced, joining);
 * - `m`'s new host has no etcd data and no etcd running (else it is not a fresh host to join);
 * - the cluster lists a member by `m`'s name (its peer URLs, then, are another host's).
 */
function movedFrom(m: MemberObservation, cluster: ClusterObservation): EtcdMember | undefined {
  if (!cluster.quorum || m.answers) return undefined;
  if (cluster.members.some((e) => e.peerUrls.includes(m.peerUrl))) return undefined;
  const unit = m.facts.unit;
  if (m.facts.memberData || unit.mainPid > 0 || unit.activeState === 'active' || unit.activeState === 'activating') return undefined;
  return cluster.members.find((e) => e.name !== '' && e.name === m.name);
}

/**
 * Refines the states of {@link decideMemberStates} (same order): a `new` member whose name the cluster
 * lists on another host is a `move` (reason `10.0.0.13 → 10.0.0.14`). Every other state is kept. Pure.
 */
export function decideMoves(members: readonly MemberObservation[], states: readonly MemberState[], cluster: ClusterObservation): MemberState[] {
  return states.map((s, i): MemberState => {
    const m = members[i]!;
    if (s.kind !== 'new') return s;
    const old = movedFrom(m, cluster);
    if (!old) return s;
    const from = hostOf(old);
    return { kind: 'move', memberId: old.id, from, reason: `${from} → ${peerHost(m.peerUrl)}` };
  });
}

function refuse(member: string, message: string, details: Record<string, unknown>): never {
  throw new EtcdKitError('UNSAFE_CHANGE', message, { member, details });
}

/**
 * Refuses a move that is not safe, before any host changes (`UNSAFE_CHANGE`, naming the member; the rule
 * in `details.rule`), the same rules as a replacement (`assertReplacementsSafe`):
 * - `one-at-a-time`: more than one move or replacement;
 * - `ambiguous-name`: the cluster lists several members by the moved member's name;
 * - `old-address-in-spec`: the old peer URL is another spec member's (a swap: cleaning the old host would
 *   stop that member);
 * - `others-healthy`: another member of the spec does not answer (down, new, being replaced);
 * - `quorum`: the other members answering are no quorum of the voting members with the old one out.
 * Returns nothing when safe (or nothing moves).
 */
export function assertMovesSafe(members: readonly MemberObservation[], states: readonly MemberState[], cluster: ClusterObservation): void {
  const moving = states.flatMap((s, i) => (s.kind === 'move' ? [{ state: s, member: members[i]! }] : []));
  if (moving.length === 0) return;
  const first = moving[0]!;
  const name = first.member.name;
  const changes = states.flatMap((s, i) => (s.kind === 'move' || s.kind === 'replace' ? [`${s.kind} ${members[i]!.name}`] : []));
  if (changes.length > 1) {
    refuse(name, `refusing to ${changes.join(' and ')} at once: one member at a time; re-run once the first is done, or restore the others first`, {
      changes,
      rule: 'one-at-a-time',
    });
  }
  const sameName = cluster.members.filter((e) => e.name === name);
  if (sameName.length > 1) {
    refuse(name, `refusing to move ${name}: the cluster lists ${sameName.length} members named ${name} (${sameName.map((e) => e.id).join(', ')}); remove the stale one first`, {
      memberIds: sameName.map((e) => e.id),
      rule: 'ambiguous-name',
    });
  }
  const old = cluster.members.find((e) => e.id === first.state.memberId);
  const taken = members.filter((m) => m !== first.member && old?.peerUrls.includes(m.peerUrl)).map((m) => m.name);
  if (taken.length > 0) {
    refuse(name, `refusing to move ${name} (${first.state.reason}): its old address is ${taken.join(', ')}'s in the spec; move one member at a time`, {
      members: taken,
      rule: 'old-address-in-spec',
    });
  }
  const unhealthy = members.filter((m, i) => m !== first.member && states[i]!.kind !== 'up').map((m) => m.name);
  if (unhealthy.length > 0) {
    refuse(
      name,
      `refusing to move ${name} (${first.state.reason}) while ${unhealthy.join(', ')} ${unhealthy.length === 1 ? 'does' : 'do'} not answer: fix ${unhealthy.length === 1 ? 'it' : 'them'} first`,
      { unhealthy, rule: 'others-healthy' },
    );
  }
  const voters = cluster.members.filter((e) => !e.isLearner);
  const needed = Math.floor(voters.length / 2) + 1;
  const healthyOthers = voters.filter((e) => e.id !== first.state.memberId && cluster.answeredIds.has(e.id)).length;
  // The removal is committed by the current voters with the old member out: the others alone must be a quorum.
  if (old && !old.isLearner && healthyOthers < needed) {
    refuse(
      name,
      `refusing to move ${name} (${first.state.reason}): the other members are ${healthyOthers} of ${voters.length} voting members answering, a quorum needs ${needed}`,
      { votingMembers: voters.length, needed, healthyOthers, rule: 'quorum' },
    );
  }
}
