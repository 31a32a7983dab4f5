/**
 * What each member of a running cluster is, from one look before any change: up (it answers), down but
 * intact (it does not answer, its data is there: start it, never "up to date"), or lost (its data is gone
 * or no longer matches the cluster while a quorum of the others still lists it: replace it). Pure: the
 * observations come from the deploy's one health check, the host facts and the cluster's member list.
 * Every rule about "is this member failed, and is fixing it safe" lives here once.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { ClusterHealth, EtcdMember } from '../etcd/index.js';
import { type HostFacts, unitIsRunning } from '../remote/index.js';

/** One member of the spec as observed before any change. */
export interface MemberObservation {
  /** Member name (spec). */
  name: string;
  /** Its peer URL (spec), how the cluster's member list is matched. */
  peerUrl: string;
  /** It answered the health check (a linearizable read; a learner: its status call). */
  answers: boolean;
  /** What its host reported: data dir, unit state, restart count, etcd's last fatal lines. */
  facts: Pick<HostFacts, 'memberData' | 'unit' | 'etcdFatal'>;
}

/** The cluster as the same health check saw it. */
export interface ClusterObservation {
  /** A quorum answered (without it the member list cannot be trusted and nothing is replaced). */
  quorum: boolean;
  /** The member list (empty when nobody answered). */
  members: readonly EtcdMember[];
  /** Member ids that answered the health check. */
  answeredIds: ReadonlySet<string>;
}

/** What one member is, and what a deploy does about it. */
export type MemberState =
  /** It answers: nothing to fix. */
  | { kind: 'up' }
  /** Not in the cluster and no data: a new member (joins, see `planCluster`), or nothing installed yet. */
  | { kind: 'new' }
  /**
   * It does not answer, its data is there (stopped, crash-looping, hung, partitioned): never replaced; started,
   * or restarted at once when its etcd runs (`running`).
   */
  | { kind: 'down'; reason: string; running: boolean }
  /** Its data is gone or no longer matches the cluster, which still lists it: member remove + add again. */
  | { kind: 'replace'; memberId: string; reason: string }
  /**
   * The cluster lists a member of this name on another host (`from`, its peer URLs' hosts): the member moved
   * (see move-rules.ts). The old member (`memberId`) is removed, the new host joins.
   */
  | { kind: 'move'; memberId: string; from: string; reason: string };

/** etcd's raft panics when the member's log is behind what the cluster committed for it: the data was lost. */
const RAFT_LOG_LOST = /tocommit\((\d+)\) is out of range \[lastIndex\((\d+)\)\]/;

function unitWords(unit: MemberObservation['facts']['unit']): string {
  const state = unit.subState && unit.subState !== unit.activeState ? `${unit.activeState}/${unit.subState}` : unit.activeState || 'unknown';
  const restarts = unit.restarts ? `, restarted ${unit.restarts} times` : '';
  return `etcd ${state}${restarts}`;
}

/** Why the member's own data can no longer serve, when the evidence is certain; else undefined. */
function lostData(m: MemberObservation, listed: EtcdMember): string | undefined {
  // A member the cluster lists by name has started once and had data: an empty data dir means it lost it.
  if (!m.facts.memberData && listed.name !== '') return 'data dir empty';
  for (const line of m.facts.etcdFatal ?? []) {
    const lost = RAFT_LOG_LOST.exec(line);
    if (!lost) continue;
    return lost[2] === '0'
      ? `data dir empty (etcd exits: its raft log is empty, the cluster committed up to ${lost[1]} for it)`
      : `data no longer matches the cluster (etcd exits: raft log ends at ${lost[2]}, the cluster committed up to ${lost[1]} for it)`;
  }
  return undefined;
}

/** The cluster lists this member (by peer URL). */
function listedAs(m: MemberObservation, cluster: ClusterObservation): EtcdMember | undefined {
  return cluster.members.find((e) => e.peerUrls.includes(m.peerUrl));
}

/**
 * Decides each member's state (spec order). Never `replace` without a quorum of the others listing the
 * member, and never for a member whose data is there and that merely does not answer (a partition, an
 * SSH-reachable host whose etcd is stopped): that one is `down`.
 */
export function decideMemberStates(members: readonly MemberObservation[], cluster: ClusterObservation): MemberState[] {
  return members.map((m): MemberState => {
    if (m.answers) return { kind: 'up' };
    const listed = cluster.quorum ? listedAs(m, cluster) : undefined;
    const lost = listed ? lostData(m, listed) : undefined;
    if (listed && lost) return { kind: 'replace', memberId: listed.id, reason: lost };
    if (!m.facts.memberData) return { kind: 'new' };
    const running = unitIsRunning(m.facts.unit);
    const reason = running ? `not answering (${unitWords(m.facts.unit)}, data intact)` : `down (${unitWords(m.facts.unit)}, data intact)`;
    return { kind: 'down', reason, running };
  });
}

/**
 * Refuses a replacement that is not safe, before any host changes (`UNSAFE_CHANGE`, naming the member):
 * more than one member to replace (one at a time), another member of the spec not answering, or the
 * others without a quorum of the voting members while this one is out. Returns nothing when safe.
 */
export function assertReplacementsSafe(members: readonly MemberObservation[], states: readonly MemberState[], cluster: ClusterObservation): void {
  const replacing = states.flatMap((s, i) => (s.kind === 'replace' ? [{ state: s, member: members[i]! }] : []));
  if (replacing.length === 0) return;
  const first = replacing[0]!;
  if (replacing.length > 1) {
    throw new EtcdKitError('UNSAFE_CHANGE', `refusing to replace ${replacing.map((r) => r.member.name).join(' and ')} at once: one member at a time; restore the others first`, {
      member: first.member.name,
      details: { replace: replacing.map((r) => r.member.name), rule: 'one-at-a-time' },
    });
  }
  const unhealthy = states.flatMap((s, i) => (s.kind === 'down' || s.kind === 'replace' ? [members[i]!.name] : [])).filter((n) => n !== first.member.name);
  if (unhealthy.length > 0) {
    throw new EtcdKitError(
      'UNSAFE_CHANGE',
      `refusing to replace ${first.member.name} (${first.state.reason}) while ${unhealthy.join(', ')} ${unhealthy.length === 1 ? 'does' : 'do'} not answer: fix ${unhealthy.length === 1 ? 'it' : 'them'} first`,
      { member: first.member.name, details: { unhealthy, rule: 'others-healthy' } },
    );
  }
  const voters = cluster.members.filter((m) => !m.isLearner);
  const target = cluster.members.find((m) => m.id === first.state.memberId);
  const needed = Math.floor(voters.length / 2) + 1;
  const healthyOthers = voters.filter((m) => m.id !== first.state.memberId && cluster.answeredIds.has(m.id)).length;
  // The removal is committed by the current voters with this member out: the others alone must be a quorum.
  if (target && !target.isLearner && healthyOthers < needed) {
    throw new EtcdKitError(
      'UNSAFE_CHANGE',
      `refusing to replace ${first.member.name} (${first.state.reason}): the other members are ${healthyOthers} of ${voters.length} voting members answering, a quorum needs ${needed}`,
      { member: first.member.name, details: { votingMembers: voters.length, needed, healthyOthers, rule: 'quorum' } },
    );
  }
}

/** The cluster side of the observations, from the deploy's one health check (absent: no running cluster). */
export function clusterObservation(health: ClusterHealth | undefined): ClusterObservation {
  return {
    quorum: health?.healthy === true,
    members: health?.members ?? [],
    answeredIds: new Set((health?.endpoints ?? []).flatMap((e) => (e.healthy && e.status ? [e.status.memberId] : []))),
  };
}
