/**
 * What runs where, read before a deploy changes anything: each member's version as its running etcd
 * reports it (the status a health check reads anyway), the binary on disk for a member that has data but
 * does not answer, and — only when the change needs them — etcd's cluster version and whether auth is on.
 * @module
 */
import type { ClusterHealth, EtcdCluster } from '../etcd/index.js';
import type { MemberInspection } from '../remote/index.js';
import { parseEtcdVersion } from '../render/index.js';
import type { PreparedMember } from './prepare.js';
import { type ClusterVersionFacts, type MemberVersions, versionFactsNeeded } from './version-rules.js';

/** How long the reads before a change may take, in ms (a member that is down costs at most this). */
const OBSERVE_TIMEOUT_MS = 3000;

/** What {@link observeVersions} found. */
export interface ObservedVersions {
  /** Per member, in spec order. */
  members: MemberVersions[];
  /** Cluster-wide facts, those the change needs. */
  cluster: ClusterVersionFacts;
  /** The health check the running versions came from (absent without a running cluster). */
  health: ClusterHealth | undefined;
}

/**
 * Per member: `running` from the member's own status; `onDisk` from the host's facts when etcd does not
 * answer there but its data dir holds a member (stopped, crash-looping: it starts from that binary). A
 * member with neither is new. `members[i]` is the member behind `cluster.endpoints[i]` (spec order).
 */
export function memberVersions(members: readonly PreparedMember[], inspections: readonly MemberInspection[], health: ClusterHealth | undefined): MemberVersions[] {
  return members.map((m, i) => {
    const running = health?.endpoints[i]?.status?.version;
    const facts = inspections[i]?.facts;
    const onDisk = running === undefined && facts?.memberData ? facts.etcdVersion : undefined;
    return { name: m.spec.name, ...(running === undefined ? {} : { running }), ...(onDisk === undefined ? {} : { onDisk }) };
  });
}

/**
 * Reads the versions {@link planVersionChange} decides on. Read-only; never throws for an unhealthy
 * cluster or a failed read: what could not be read is left out, and the rules refuse what they cannot judge.
 */
export async function observeVersions(
  members: readonly PreparedMember[],
  inspections: readonly MemberInspection[],
  cluster: EtcdCluster | undefined,
  target: string,
  signal?: AbortSignal,
): Promise<ObservedVersions> {
  const call = { timeoutMs: OBSERVE_TIMEOUT_MS, ...(signal ? { signal } : {}) };
  const health = cluster ? await cluster.checkHealth(call) : undefined;
  const versions = memberVersions(members, inspections, health);
  const need = versionFactsNeeded(versions, target);
  const [clusterVersion, authEnabled] = await Promise.all([
    need.clusterVersion && cluster
      ? cluster.readVersion(call).then(
          (v) => (v.clusterVersion ? parseEtcdVersion(v.clusterVersion, 'clusterVersion').minorText : undefined),
          () => undefined,
        )
      : undefined,
    need.authEnabled && cluster ? cluster.readAuthEnabled(call).catch(() => undefined) : undefined,
  ]);
  return {
    members: versions,
    cluster: { ...(clusterVersion ? { clusterVersion } : {}), ...(authEnabled === undefined ? {} : { authEnabled }) },
    health,
  };
}
