/**
 * Result types of the etcd client layer. Member ids are hexadecimal strings, as `etcdctl member list`
 * prints them (`8e9e05c52164694d`); sizes and raft counters are plain numbers.
 * @module
 */
import type { EtcdKitErrorCode } from '../errors.js';

/**
 * A member as the cluster's membership list records it.
 * @category etcd client
 */
export interface EtcdMember {
  /** Member id, hexadecimal (as etcdctl prints it). */
  id: string;
  /** Member name; empty for a member that was added but has not started yet. */
  name: string;
  /** Peer URLs (port 2380). */
  peerUrls: string[];
  /** Client URLs (port 2379); empty until the member has started. */
  clientUrls: string[];
  /** True for a non-voting learner. */
  isLearner: boolean;
}

/**
 * Why something failed: a stable code to branch on and a human message.
 * @category etcd client
 */
export interface EtcdFailure {
  /** Stable code (`ETCD_UNREACHABLE`, `ETCD_TIMEOUT`, `ETCD_TLS_UNTRUSTED`, ...). */
  code: EtcdKitErrorCode;
  /** What happened, naming the endpoint. Never contains key material. */
  message: string;
}

/**
 * What one member says about itself (the Maintenance/Status call).
 * @category etcd client
 */
export interface EndpointStatus {
  /** Id of the answering member, hexadecimal. */
  memberId: string;
  /** etcd server version, e.g. `3.4.23`. */
  version: string;
  /** Size of the backend database file in bytes. */
  dbSizeBytes: number;
  /** Bytes of the database logically in use (the rest is reclaimable by defragmentation). */
  dbSizeInUseBytes: number;
  /** Id of the member this one believes is the leader, hexadecimal; `'0'` when it knows no leader. */
  leaderId: string;
  /** Raft committed index. */
  raftIndex: number;
  /** Raft applied index. */
  raftAppliedIndex: number;
  /** Raft term. */
  raftTerm: number;
  /** True when this member is a learner. */
  isLearner: boolean;
  /** Alarm/health messages the member reports about itself. */
  errors: string[];
}

/**
 * Health of one endpoint.
 * @category etcd client
 */
export interface EndpointHealth {
  /** The endpoint URL, canonical form (`https://10.0.0.11:2379`). */
  endpoint: string;
  /**
   * True when a linearizable read succeeded on this endpoint (for a learner, which cannot serve those:
   * when its status call succeeded).
   */
  healthy: boolean;
  /** Time in ms the read took (or until it failed or timed out). */
  tookMs: number;
  /** Name of the member behind the endpoint, when known from the member list. */
  memberName?: string;
  /** What went wrong, when not healthy. */
  error?: EtcdFailure;
  /** The member's own status, when its status call succeeded (also for unhealthy members that answer). */
  status?: EndpointStatus;
}

/**
 * An alarm raised in the cluster.
 * @category etcd client
 */
export interface EtcdAlarm {
  /** Id of the member that raised it, hexadecimal. */
  memberId: string;
  /** Name of that member, when known. */
  memberName?: string;
  /** `NOSPACE`: the space quota is exhausted (the cluster refuses writes). `CORRUPT`: data corruption found. */
  alarm: 'NOSPACE' | 'CORRUPT';
}

/**
 * The leader as the healthy members see it.
 * @category etcd client
 */
export interface ClusterLeader {
  /** Member id, hexadecimal. */
  id: string;
  /** Member name (empty if the member list could not be read). */
  name: string;
}

/**
 * The quorum arithmetic of one check.
 * @category etcd client
 */
export interface QuorumInfo {
  /** Voting members (learners excluded) in the member list; the endpoint count if the list is unknown. */
  votingMembers: number;
  /** How many voting members a quorum needs: `floor(votingMembers / 2) + 1`. */
  needed: number;
  /** Voting members whose endpoint answered a linearizable read in this check. */
  healthyVoters: number;
}

/**
 * The one-word answer of a health check:
 * - `healthy`: a quorum, and every member answered (every endpoint checked, and every voting member of the
 *   member list through one of them);
 * - `degraded`: a quorum (the cluster serves reads and writes), but at least one member did not answer;
 *   one more failure may cost the quorum;
 * - `unavailable`: no quorum (the cluster serves no linearizable read and no write).
 * @category etcd client
 */
export type HealthVerdict = 'healthy' | 'degraded' | 'unavailable';

/**
 * The answer of a cluster health check.
 * @category etcd client
 */
export interface ClusterHealth {
  /**
   * True when the cluster has a quorum: a linearizable read succeeded on at least one endpoint, which etcd
   * only serves once its leader has confirmed a quorum of voting members. With every member listed in
   * `endpoints` this is the same as "a quorum of members answered". Also true for a `degraded` cluster
   * (a member down): read {@link ClusterHealth.verdict} to know whether every member answered.
   */
  healthy: boolean;
  /**
   * `healthy` (quorum and every member answered), `degraded` (quorum, but not every member answered) or
   * `unavailable` (no quorum; then `healthy` is false). A voting member that none of the checked
   * endpoints reached counts as not answering: check every member's endpoint for a `healthy` verdict.
   */
  verdict: HealthVerdict;
  /** Why the cluster is not healthy (`ETCD_NO_QUORUM`, or the one code every endpoint failed with). */
  error?: EtcdFailure;
  /** The leader as the healthy members see it; null without quorum. */
  leader: ClusterLeader | null;
  /** Voting members, how many must agree, and how many of them answered a linearizable read. */
  quorum: QuorumInfo;
  /** Membership list (empty when no member answered). */
  members: EtcdMember[];
  /** One entry per endpoint, in the order given. */
  endpoints: EndpointHealth[];
  /** Active alarms (empty when none, or when they could not be read). */
  alarms: EtcdAlarm[];
  /** Time in ms the whole check took. */
  tookMs: number;
}

/**
 * Result of adding a member.
 * @category etcd client
 */
export interface AddMemberResult {
  /** The new member (no name and no client URLs until it starts). */
  member: EtcdMember;
  /** The membership after the change. */
  members: EtcdMember[];
}
