/**
 * Defragmentation, the way etcd's operations guide asks for it: one member at a time (a member being
 * defragmented serves nothing), followers first and the leader last, the whole cluster healthy before
 * each step; then, optionally, the NOSPACE alarm disarmed so the cluster takes writes again.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { classifyEtcdError } from './classify.js';
import { createEndpointClient } from './client.js';
import { connectCluster, type EtcdCluster } from './cluster-handle.js';
import { raceDeadline, sleep } from './deadline.js';
import { decimalId } from './members.js';
import { type EtcdConnectOptions, resolveConnectOptions } from './options.js';
import type { ClusterHealth, EtcdAlarm } from './types.js';

/**
 * Options of {@link defragmentCluster}.
 * @category etcd client
 */
export interface DefragmentOptions extends EtcdConnectOptions {
  /** Longest wait for every member to be healthy, before each member and after the last, in ms. Default: 60000. */
  healthTimeoutMs?: number;
  /** Longest time one member's defragmentation may take, in ms. Default: 300000 (5 min). */
  timeoutMs?: number;
  /** Disarm NOSPACE alarms once every member is defragmented. Default: `true`. */
  disarmNoSpace?: boolean;
  /** Aborts between steps and interrupts the wait for health (`ABORTED`); a defragmentation under way finishes on the member. */
  signal?: AbortSignal;
  /** Called as each member starts and ends. */
  onProgress?: (event: DefragmentProgress) => void;
}

/**
 * A step of {@link defragmentCluster}.
 * @category etcd client
 */
export interface DefragmentProgress {
  /** The member's endpoint. */
  endpoint: string;
  /** Its name, when the member list has it. */
  memberName?: string;
  /** `defragment` as the member starts, `done` once the cluster is healthy again. */
  step: 'defragment' | 'done';
}

/**
 * What {@link defragmentCluster} did to one member.
 * @category etcd client
 */
export interface MemberDefragment {
  /** The member's endpoint. */
  endpoint: string;
  /** Its name, when the member list has it. */
  memberName?: string;
  /** Size of its database file before, in bytes. */
  dbSizeBefore: number;
  /** Size of its database file after, in bytes. */
  dbSizeAfter: number;
  /** Time the defragmentation itself took, in ms. */
  durationMs: number;
}

/**
 * Result of {@link defragmentCluster}.
 * @category etcd client
 */
export interface DefragmentResult {
  /** Every member, in the order they were defragmented (the leader last). */
  members: MemberDefragment[];
  /** NOSPACE alarms that were disarmed. */
  disarmed: EtcdAlarm[];
  /** The cluster's health after the last step; after a disarm, once no member reports the disarmed alarms (or `healthTimeoutMs` passed). */
  health: ClusterHealth;
  /** Wall time of the whole run, in ms. */
  durationMs: number;
}

const DEFAULT_HEALTH_TIMEOUT_MS = 60_000;
const DEFAULT_DEFRAG_TIMEOUT_MS = 300_000;
/** Pause between health checks: waiting for every member, and for a disarm to reach every member. */
const POLL_MS = 250;

/** Waits until every endpoint answers a linearizable read; `ETCD_UNHEALTHY` naming the others on timeout. */
function everyMemberHealthy(cluster: EtcdCluster, timeoutMs: number, signal: AbortSignal | undefined): Promise<ClusterHealth> {
  return cluster.waitForHealthy({ timeoutMs, mustAnswer: 'all', intervalMs: POLL_MS, maxIntervalMs: POLL_MS, ...(signal ? { signal } : {}) });
}

/**
 * Defragments every member's database, one member at a time: waits until every member is healthy,
 * defragments the followers and then the leader, waiting for the whole cluster to be healthy again
 * after each; then disarms NOSPACE alarms (unless `disarmNoSpace: false`). Defragmentation returns
 * space freed by compaction to the file system; it does not compact (Kubernetes' apiserver compacts
 * every 5 minutes; `autoCompactionRetention` does it otherwise).
 *
 * Throws `ETCD_UNHEALTHY` when a member is not healthy before a step (nothing more is touched),
 * `ETCD_TIMEOUT` / `ETCD_*` when a member's defragmentation fails, `INVALID_ARGUMENT`, `ABORTED`.
 *
 * @example
 * ```ts
 * import { defragmentCluster } from 'etcd-kit';
 * const { members } = await defragmentCluster({ endpoints, tls });
 * for (const m of members) console.log(m.memberName, m.dbSizeBefore, '->', m.dbSizeAfter);
 * ```
 * @category etcd client
 */
export async function defragmentCluster(options: DefragmentOptions): Promise<DefragmentResult> {
  const started = performance.now();
  const { tls } = resolveConnectOptions(options);
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_DEFRAG_TIMEOUT_MS;
  const { signal } = options;
  const cluster = connectCluster(options);
  try {
    let health = await everyMemberHealthy(cluster, healthTimeoutMs, signal);
    const leaderLast = [...health.endpoints].sort(
      (a, b) => Number(a.status?.memberId === health.leader?.id) - Number(b.status?.memberId === health.leader?.id),
    );
    const members: MemberDefragment[] = [];
    for (const { endpoint, memberName, status } of leaderLast) {
      if (signal?.aborted) throw new EtcdKitError('ABORTED', 'defragment aborted by the caller', { cause: signal.reason });
      const named = memberName === undefined ? {} : { memberName };
      options.onProgress?.({ endpoint, ...named, step: 'defragment' });
      const client = createEndpointClient(endpoint, tls);
      const begun = performance.now();
      try {
        await raceDeadline(client.maintenance.defragment(), timeoutMs, undefined);
      } catch (err) {
        throw classifyEtcdError(err, { endpoint, operation: 'defragment' });
      } finally {
        client.close();
      }
      const durationMs = performance.now() - begun;
      health = await everyMemberHealthy(cluster, healthTimeoutMs, signal);
      const after = health.endpoints.find((e) => e.endpoint === endpoint)?.status;
      members.push({ endpoint, ...named, dbSizeBefore: status?.dbSizeBytes ?? 0, dbSizeAfter: after?.dbSizeBytes ?? 0, durationMs });
      options.onProgress?.({ endpoint, ...named, step: 'done' });
    }

    const disarmed: EtcdAlarm[] = [];
    const noSpace = health.alarms.filter((a) => a.alarm === 'NOSPACE');
    if ((options.disarmNoSpace ?? true) && noSpace.length > 0) {
      const client = createEndpointClient(health.endpoints[0]!.endpoint, tls);
      try {
        for (const alarm of noSpace) {
          await raceDeadline(client.maintenance.alarm({ action: 'Deactivate', memberID: decimalId(alarm.memberId), alarm: 'Nospace' }), healthTimeoutMs, signal);
          disarmed.push(alarm);
        }
      } catch (err) {
        throw classifyEtcdError(err, { operation: 'alarm disarm' });
      } finally {
        client.close();
      }
      health = await untilDisarmedEverywhere(cluster, disarmed, healthTimeoutMs, signal);
    }
    return { members, disarmed, health, durationMs: performance.now() - started };
  } finally {
    cluster.close();
  }
}

/**
 * The picture once no member reports a disarmed alarm any more, or the last one after `timeoutMs`. The
 * disarm returns once the member it was sent to applied it; a follower that applies it a moment later
 * still reports the alarm in its status until then.
 */
async function untilDisarmedEverywhere(cluster: EtcdCluster, disarmed: EtcdAlarm[], timeoutMs: number, signal: AbortSignal | undefined): Promise<ClusterHealth> {
  const giveUpAt = performance.now() + timeoutMs;
  const stillRaised = (h: ClusterHealth): boolean => h.alarms.some((a) => disarmed.some((d) => d.memberId === a.memberId && d.alarm === a.alarm));
  for (;;) {
    const health = await cluster.checkHealth({ timeoutMs: 2000, signal });
    if (!stillRaised(health) || performance.now() + POLL_MS > giveUpAt) return health;
    await sleep(POLL_MS, signal).catch((err: unknown) => {
      throw classifyEtcdError(err, { operation: 'alarm disarm' });
    });
  }
}
