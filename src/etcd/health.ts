/**
 * Turns the raw per-endpoint answers of one check into the cluster picture: per-endpoint verdicts with
 * member names, the leader, the quorum arithmetic, alarms, and one cluster-level error code.
 * @module
 */
import type { EtcdKitError, EtcdKitErrorCode } from '../errors.js';
import { alarmsInStatus, type EndpointProbe, type ProbeResult } from './probe.js';
import type { ClusterHealth, EndpointHealth, EtcdAlarm, EtcdFailure, EtcdMember, HealthVerdict } from './types.js';

/** Builds the {@link ClusterHealth} of one check. */
export function summarizeHealth(result: ProbeResult, tookMs: number): ClusterHealth {
  const members = result.members ?? [];
  const byId = new Map(members.map((m) => [m.id, m]));
  const endpoints = result.probes.map((p) => endpointHealth(p, memberOf(p, members)));

  const voters = members.filter((m) => !m.isLearner);
  const votingMembers = voters.length > 0 ? voters.length : endpoints.length;
  const needed = Math.floor(votingMembers / 2) + 1;
  const healthyVoters = result.probes.filter((p) => p.read.ok && memberOf(p, members)?.isLearner !== true).length;
  // etcd serves a linearizable read only after its leader confirmed a quorum, so one success proves it.
  const healthy = result.probes.some((p) => p.read.ok);

  const leaderId = healthy ? mostCommon(result.probes.filter((p) => p.read.ok).map((p) => p.status?.leaderId)) : undefined;
  const leader = leaderId === undefined ? null : { id: leaderId, name: byId.get(leaderId)?.name ?? '' };
  const alarms = collectAlarms(result.probes).map((a) => {
    const name = byId.get(a.memberId)?.name;
    return name ? { ...a, memberName: name } : a;
  });

  const quorum = { votingMembers, needed, healthyVoters };
  const health: ClusterHealth = {
    healthy,
    verdict: healthVerdict({ healthy, quorum, endpoints }),
    leader,
    quorum,
    members,
    endpoints,
    alarms,
    tookMs,
  };
  if (!healthy) health.error = clusterError(endpoints, needed, votingMembers);
  return health;
}

/**
 * The verdict of a health picture: `unavailable` without quorum; `healthy` when every endpoint answered and
 * so did every voting member of the member list; `degraded` otherwise. Pure: usable on any
 * {@link ClusterHealth} (or a hand-built one).
 *
 * @example
 * ```ts
 * const health = await checkHealth({ endpoints, tls });
 * if (healthVerdict(health) === 'degraded') console.warn('a member is down; the cluster still has quorum');
 * ```
 */
export function healthVerdict(health: Pick<ClusterHealth, 'healthy' | 'quorum' | 'endpoints'>): HealthVerdict {
  if (!health.healthy) return 'unavailable';
  const everyEndpoint = health.endpoints.every((e) => e.healthy);
  const everyVoter = health.quorum.healthyVoters >= health.quorum.votingMembers;
  return everyEndpoint && everyVoter ? 'healthy' : 'degraded';
}

function endpointHealth(p: EndpointProbe, member: EtcdMember | undefined): EndpointHealth {
  const learnerUp = !p.read.ok && p.read.learnerRefused && p.status !== undefined;
  const out: EndpointHealth = { endpoint: p.endpoint, healthy: p.read.ok || learnerUp, tookMs: round(p.tookMs) };
  if (member?.name) out.memberName = member.name;
  if (!p.read.ok && !learnerUp) out.error = endpointFailure(p, p.read.error);
  if (p.status) out.status = p.status;
  return out;
}

/** A member that answers its status but cannot finish a linearizable read is cut off from a quorum. */
function endpointFailure(p: EndpointProbe, error: EtcdKitError): EtcdFailure {
  if (p.status !== undefined && (error.code === 'ETCD_TIMEOUT' || error.code === 'ETCD_NO_QUORUM')) {
    const leader = p.status.leaderId === '0' ? 'it knows no leader' : `it last saw leader ${p.status.leaderId}`;
    return {
      code: 'ETCD_NO_QUORUM',
      message: `${p.endpoint}: the member answers but cannot complete a linearizable read (${leader}): no quorum`,
    };
  }
  return { code: error.code, message: error.message };
}

function clusterError(endpoints: EndpointHealth[], needed: number, votingMembers: number): EtcdFailure {
  const codes = new Set(endpoints.map((e) => e.error?.code).filter((c): c is EtcdKitErrorCode => c !== undefined));
  const summary = endpoints.map((e) => `${e.memberName ?? e.endpoint}: ${e.error?.code ?? 'ok'}`).join(', ');
  const [only] = codes;
  // Every endpoint failing the same way (all refused, all untrusted) is about access, not about quorum.
  if (codes.size === 1 && only !== undefined && only !== 'ETCD_NO_QUORUM') {
    return { code: only, message: `no endpoint answered a linearizable read (${summary})` };
  }
  return {
    code: 'ETCD_NO_QUORUM',
    message: `no quorum: a linearizable read needs ${needed} of ${votingMembers} voting members (${summary})`,
  };
}

/** The alarms the members report, healthy ones preferred (a member cut off may lag), without repeats. */
function collectAlarms(probes: EndpointProbe[]): EtcdAlarm[] {
  const healthy = probes.filter((p) => p.read.ok && p.status);
  const sources = healthy.length > 0 ? healthy : probes.filter((p) => p.status);
  const seen = new Map<string, EtcdAlarm>();
  for (const p of sources) {
    for (const a of p.status ? alarmsInStatus(p.status) : []) seen.set(`${a.memberId}/${a.alarm}`, a);
  }
  return [...seen.values()];
}

/** Matches an endpoint to a member: by the id its status reported, else by advertised client URL. */
function memberOf(p: EndpointProbe, members: EtcdMember[]): EtcdMember | undefined {
  if (p.status) return members.find((m) => m.id === p.status?.memberId);
  return members.find((m) => m.clientUrls.some((u) => sameUrl(u, p.endpoint)));
}

function sameUrl(a: string, b: string): boolean {
  try {
    const ua = new URL(a);
    const ub = new URL(b);
    return ua.protocol === ub.protocol && ua.hostname === ub.hostname && ua.port === ub.port;
  } catch {
    return false;
  }
}

function mostCommon(values: (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== undefined && v !== '0') counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let bestCount = 0;
  for (const [v, n] of counts) {
    if (n > bestCount) {
      best = v;
      bestCount = n;
    }
  }
  return best;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
