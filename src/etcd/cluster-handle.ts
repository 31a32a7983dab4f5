/**
 * A handle on a cluster that keeps one mTLS connection per endpoint, so polling loops (waits, rolling
 * restarts) pay the TLS + HTTP/2 setup once; and the connect-use-close functions built on it.
 * @module
 */
import type { Etcd3 } from 'etcd3';
import { EtcdKitError } from '../errors.js';
import { classifyEtcdError, isNeverConnected, isTransientRefusal } from './classify.js';
import { createEndpointClient } from './client.js';
import { raceDeadline, sleep } from './deadline.js';
import { summarizeHealth } from './health.js';
import {
  addMemberWith,
  decimalId,
  hexId,
  listMembersWith,
  promoteMemberWith,
  removeMemberWith,
} from './members.js';
import {
  type AddMemberOptions,
  type CheckHealthOptions,
  type EtcdConnectOptions,
  type MembershipCallOptions,
  type MembershipChangeOptions,
  resolveChangeOptions,
  resolveCheckOptions,
  resolveConnectOptions,
  resolveMembershipOptions,
  resolvePeerUrls,
  resolveWaitOptions,
  type WaitForHealthyOptions,
} from './options.js';
import { type ProbeTarget, probeEndpoints } from './probe.js';
import type { AddMemberResult, ClusterHealth, EtcdMember } from './types.js';
import { withoutSocketRefs } from './socket-refs.js';
import { type EtcdVersionInfo, fetchVersionEndpoint, probeAuthEnabled } from './versions.js';
import { pollUntilHealthy } from './wait.js';

/**
 * An open connection to a cluster: one mTLS client per endpoint. Call {@link EtcdCluster.close} when done.
 * @category etcd client
 */
export interface EtcdCluster {
  /** The endpoints, canonical form, in the order given. */
  readonly endpoints: readonly string[];
  /** Checks every endpoint concurrently; see {@link etcd-kit!checkHealth | checkHealth}. */
  checkHealth(options?: CheckHealthOptions): Promise<ClusterHealth>;
  /**
   * Polls {@link EtcdCluster.checkHealth | checkHealth} until the cluster is healthy, pausing `intervalMs`
   * (growing by half up to `maxIntervalMs`) between checks. Resolves with the first healthy picture. After
   * `timeoutMs` throws `ETCD_UNHEALTHY` whose message names each failing member and why, with the last
   * picture in `details.health`; throws `ABORTED` promptly when `signal` fires.
   */
  waitForHealthy(options?: WaitForHealthyOptions): Promise<ClusterHealth>;
  /** Lists the members, asking the endpoints in turn until one answers. */
  listMembers(options?: MembershipCallOptions): Promise<EtcdMember[]>;
  /**
   * Adds a member, or a non-voting learner with `isLearner: true` (etcd >= 3.4), announcing its peer URLs.
   * Start the new member afterwards with `initial-cluster-state=existing`. The request goes to another
   * endpoint only if it could not be delivered at all. etcd (strict reconfig check) refuses changes until the
   * answering member has been connected to every peer for 5 s; `retryTimeoutMs` rides that out.
   */
  addMember(options: AddMemberOptions): Promise<AddMemberResult>;
  /**
   * Promotes a learner (hex id) to a voting member. etcd refuses (`ETCD_MEMBERSHIP`) while the learner lags
   * behind the leader; `retryTimeoutMs` keeps retrying that long.
   */
  promoteMember(id: string, options?: MembershipChangeOptions): Promise<EtcdMember[]>;
  /** Removes a member (hex id); returns the membership after the change. */
  removeMember(id: string, options?: MembershipChangeOptions): Promise<EtcdMember[]>;
  /**
   * etcd's `/version` (HTTPS on the client URL, mTLS) from the first endpoint that answers, the ones
   * healthy in the last check first: that member's server version and the cluster version.
   */
  readVersion(options?: MembershipCallOptions): Promise<EtcdVersionInfo>;
  /** Whether etcd auth is enabled, asking the endpoints in turn until one answers (etcd needs a quorum for it). */
  readAuthEnabled(options?: MembershipCallOptions): Promise<boolean>;
  /**
   * Hands the leadership to member `toMemberId` (hex id, a voting member): finds the current leader with a
   * health check and sends etcd's `MoveLeader` to the leader's own endpoint (etcd refuses it anywhere
   * else), which answers once the transfer is done. A no-op when `toMemberId` already leads. While the
   * leader changes under the request (`not leader`), retries for `retryTimeoutMs`. Throws
   * `ETCD_NO_QUORUM` when no leader is known, `ETCD_MEMBERSHIP` when etcd refuses the target (a learner,
   * an unknown id), and the usual `ETCD_*` / `ABORTED` errors.
   */
  moveLeader(toMemberId: string, options?: MembershipChangeOptions): Promise<MoveLeaderResult>;
  /**
   * Closes every connection. Idempotent. An open but idle handle already keeps no process alive; after
   * `close()` a connection attempt still in progress is dropped within about a second.
   */
  close(): void;
}

/**
 * What {@link EtcdCluster.moveLeader} did.
 * @category etcd client
 */
export interface MoveLeaderResult {
  /** Hex id of the leader before the call. */
  from: string;
  /** Hex id of the leader after it (the requested member). */
  to: string;
  /** False when the requested member already led (nothing was sent). */
  moved: boolean;
}

type ResolvedCall = ReturnType<typeof resolveMembershipOptions>;
type ResolvedChange = ReturnType<typeof resolveChangeOptions>;

/**
 * Opens a handle on a cluster, holding one connection per endpoint. Validates the input first
 * (`INVALID_ARGUMENT` naming the field; `http://` endpoints are refused); connections open lazily.
 *
 * @example
 * ```ts
 * const cluster = connectCluster({ endpoints: ['https://10.0.0.11:2379', 'https://10.0.0.12:2379'], tls });
 * try {
 *   await cluster.waitForHealthy({ timeoutMs: 30_000 });
 *   const { leader, endpoints } = await cluster.checkHealth();
 * } finally {
 *   cluster.close();
 * }
 * ```
 * @category etcd client
 */
export function connectCluster(options: EtcdConnectOptions): EtcdCluster {
  const { endpoints, tls } = resolveConnectOptions(options);
  const targets: ProbeTarget[] = endpoints.map((e) => ({ endpoint: e.url, client: createEndpointClient(e.url, tls) }));
  let closed = false;
  // Endpoints that answered last time go first for membership calls and the health check's member list.
  let preferred: string[] = [];

  const ensureOpen = (): void => {
    if (closed) throw new EtcdKitError('ETCD_REQUEST_FAILED', 'this cluster handle is closed');
  };

  const check = async (opts: { timeoutMs: number; signal: AbortSignal | undefined }): Promise<ClusterHealth> => {
    ensureOpen();
    if (opts.signal?.aborted) throw new EtcdKitError('ABORTED', 'health check aborted by the caller');
    const startedAt = performance.now();
    const result = await withoutSocketRefs(() => probeEndpoints(targets, opts.timeoutMs, opts.signal, preferred[0]));
    if (opts.signal?.aborted) throw new EtcdKitError('ABORTED', 'health check aborted by the caller');
    const health = summarizeHealth(result, Math.round((performance.now() - startedAt) * 100) / 100);
    preferred = health.endpoints.filter((e) => e.healthy).map((e) => e.endpoint);
    return health;
  };

  const rank = (endpoint: string): number => {
    const i = preferred.indexOf(endpoint);
    return i === -1 ? preferred.length : i;
  };

  /** Runs a membership call on one endpoint after another, moving on only when that is safe. */
  const onAnyEndpoint = async <T>(
    operation: string,
    idempotent: boolean,
    call: (client: Etcd3, timeoutMs: number) => Promise<T>,
    opts: ResolvedCall,
  ): Promise<T> => {
    ensureOpen();
    const ordered = [...targets].sort((a, b) => rank(a.endpoint) - rank(b.endpoint));
    let lastError: EtcdKitError | undefined;
    for (const { endpoint, client } of ordered) {
      try {
        return await withoutSocketRefs(() => raceDeadline(call(client, opts.timeoutMs), opts.timeoutMs, opts.signal));
      } catch (err) {
        lastError = classifyEtcdError(err, { endpoint, operation, timeoutMs: opts.timeoutMs });
        // A change goes elsewhere only if it never left this process; a read may go anywhere.
        const tryNext = idempotent
          ? lastError.code !== 'ABORTED' && lastError.code !== 'ETCD_MEMBERSHIP'
          : isNeverConnected(err);
        if (!tryNext) throw lastError;
      }
    }
    throw lastError ?? new EtcdKitError('ETCD_UNREACHABLE', `${operation}: no endpoint to ask`);
  };

  /** A membership change, retried while etcd refuses it for a passing reason (nothing applied yet). */
  const change = async <T>(
    operation: string,
    call: (client: Etcd3, timeoutMs: number) => Promise<T>,
    opts: ResolvedChange,
  ): Promise<T> => {
    const giveUpAt = performance.now() + opts.retryTimeoutMs;
    for (;;) {
      try {
        return await onAnyEndpoint(operation, false, call, opts);
      } catch (err) {
        if (!isTransientRefusal(err) || performance.now() + opts.retryIntervalMs > giveUpAt) throw err;
        await sleep(opts.retryIntervalMs, opts.signal).catch((e: unknown) => {
          throw classifyEtcdError(e, { operation });
        });
      }
    }
  };

  const readVersion = async (opts: ResolvedCall): Promise<EtcdVersionInfo> => {
    ensureOpen();
    let lastError: EtcdKitError | undefined;
    for (const { endpoint } of [...targets].sort((a, b) => rank(a.endpoint) - rank(b.endpoint))) {
      try {
        return await fetchVersionEndpoint(endpoint, tls, opts.timeoutMs, opts.signal);
      } catch (err) {
        if (opts.signal?.aborted) throw new EtcdKitError('ABORTED', 'version read aborted by the caller');
        lastError = err instanceof EtcdKitError ? err : classifyEtcdError(err, { endpoint, operation: 'GET /version' });
      }
    }
    throw lastError ?? new EtcdKitError('ETCD_UNREACHABLE', 'GET /version: no endpoint to ask');
  };

  const moveLeader = async (toMemberId: string, opts: ResolvedChange): Promise<MoveLeaderResult> => {
    const targetID = decimalId(toMemberId, 'toMemberId');
    const to = hexId(targetID);
    const giveUpAt = performance.now() + opts.retryTimeoutMs;
    for (;;) {
      const health = await check({ timeoutMs: opts.timeoutMs, signal: opts.signal });
      const from = health.leader?.id;
      if (!from) throw new EtcdKitError('ETCD_NO_QUORUM', 'move leader: the cluster has no leader', { details: { health } });
      if (from === to) return { from, to, moved: false };
      const index = health.endpoints.findIndex((e) => e.status?.memberId === from);
      const leader = targets[index];
      try {
        if (!leader) throw new EtcdKitError('ETCD_UNREACHABLE', `move leader: the leader ${from} is not one of this handle's endpoints`);
        await withoutSocketRefs(() =>
          raceDeadline(leader.client.maintenance.moveLeader({ targetID }, { deadline: Date.now() + opts.timeoutMs }), opts.timeoutMs, opts.signal),
        );
        return { from, to, moved: true };
      } catch (err) {
        const failure = err instanceof EtcdKitError ? err : classifyEtcdError(err, { endpoint: leader?.endpoint, operation: 'move leader', timeoutMs: opts.timeoutMs });
        const passing = /not leader|leader changed|no leader|timed out/i.test(`${String((err as Error)?.message)} ${String(failure.cause)}`);
        if (failure.code === 'ABORTED' || !passing || performance.now() + opts.retryIntervalMs > giveUpAt) throw failure;
        await sleep(opts.retryIntervalMs, opts.signal).catch((e: unknown) => {
          throw classifyEtcdError(e, { operation: 'move leader' });
        });
      }
    }
  };

  return {
    endpoints: targets.map((t) => t.endpoint),
    checkHealth: async (opts) => check(resolveCheckOptions(opts)),
    waitForHealthy: async (opts) => pollUntilHealthy(check, resolveWaitOptions(opts)),
    listMembers: async (opts) => onAnyEndpoint('member list', true, listMembersWith, resolveMembershipOptions(opts)),
    addMember: async (opts) => {
      const request = { peerUrls: resolvePeerUrls(opts?.peerUrls), isLearner: opts.isLearner ?? false };
      return change('member add', (client, ms) => addMemberWith(client, request, ms), resolveChangeOptions(opts));
    },
    promoteMember: async (id, opts) => {
      const decimal = decimalId(id);
      return change('member promote', (client, ms) => promoteMemberWith(client, decimal, ms), resolveChangeOptions(opts));
    },
    removeMember: async (id, opts) => {
      const decimal = decimalId(id);
      return change('member remove', (client, ms) => removeMemberWith(client, decimal, ms), resolveChangeOptions(opts));
    },
    readVersion: async (opts) => readVersion(resolveMembershipOptions(opts)),
    readAuthEnabled: async (opts) => onAnyEndpoint('auth probe', true, (client, ms) => probeAuthEnabled(client, ms), resolveMembershipOptions(opts)),
    moveLeader: async (toMemberId, opts) => moveLeader(toMemberId, resolveChangeOptions(opts)),
    close: () => {
      if (closed) return;
      closed = true;
      for (const t of targets) t.client.close();
    },
  };
}

async function withCluster<T>(options: EtcdConnectOptions, use: (cluster: EtcdCluster) => Promise<T>): Promise<T> {
  const cluster = connectCluster(options);
  try {
    return await use(cluster);
  } finally {
    cluster.close();
  }
}

/**
 * Checks the cluster once: on every endpoint concurrently, a linearizable read (the health verdict) and
 * the member's status (which lists the cluster's alarms too); plus the member list, from one endpoint.
 * Each endpoint has its own single-attempt connection, so a dead member cannot hide behind a live one, and
 * a slow or dead endpoint costs at most `timeoutMs`. Never throws for an unhealthy cluster: look at `healthy`, `error` and
 * `endpoints[i].error`. Throws `INVALID_ARGUMENT` for bad input and `ABORTED` when `signal` fires.
 *
 * @example
 * ```ts
 * const health = await checkHealth({ endpoints, tls: { caPem, certPem, keyPem }, timeoutMs: 1000 });
 * if (!health.healthy) console.error(health.error?.code, health.endpoints.map((e) => e.error?.message));
 * ```
 * @category etcd client
 */
export async function checkHealth(options: EtcdConnectOptions & CheckHealthOptions): Promise<ClusterHealth> {
  const resolved = resolveCheckOptions(options);
  return withCluster(options, (cluster) => cluster.checkHealth(resolved));
}

/**
 * Polls {@link checkHealth} until the cluster is healthy, pausing `intervalMs` (growing by half up to
 * `maxIntervalMs`) between checks. Resolves with the first healthy picture. After `timeoutMs` throws
 * `ETCD_UNHEALTHY` whose message names each failing member and why, with the last picture in
 * `details.health`; throws `ABORTED` promptly when `signal` fires.
 *
 * @example
 * ```ts
 * await waitForHealthy({ endpoints, tls, timeoutMs: 30_000 });
 * ```
 */
export async function waitForHealthy(options: EtcdConnectOptions & WaitForHealthyOptions): Promise<ClusterHealth> {
  const resolved = resolveWaitOptions(options);
  return withCluster(options, (cluster) => cluster.waitForHealthy(resolved));
}

/** Lists the cluster's members (connect, ask, close). */
export async function listMembers(options: EtcdConnectOptions & MembershipCallOptions): Promise<EtcdMember[]> {
  return withCluster(options, (cluster) => cluster.listMembers(options));
}

/**
 * Adds a member, or a non-voting learner with `isLearner: true` (etcd >= 3.4), announcing its peer URLs.
 * Start the new member afterwards with `initial-cluster-state=existing`. The request goes to another
 * endpoint only if it could not be delivered at all. etcd (strict reconfig check) refuses changes until the
 * answering member has been connected to every peer for 5 s; `retryTimeoutMs` rides that out.
 */
export async function addMember(options: EtcdConnectOptions & AddMemberOptions): Promise<AddMemberResult> {
  return withCluster(options, (cluster) => cluster.addMember(options));
}

/**
 * Promotes a learner to a voting member. etcd refuses (`ETCD_MEMBERSHIP`) while the learner lags behind
 * the leader; `retryTimeoutMs` keeps retrying that long.
 */
export async function promoteMember(
  options: EtcdConnectOptions & MembershipChangeOptions & { /** Member id, hex. */ id: string },
): Promise<EtcdMember[]> {
  return withCluster(options, (cluster) => cluster.promoteMember(options.id, options));
}

/** Removes a member by hex id. */
export async function removeMember(
  options: EtcdConnectOptions & MembershipChangeOptions & { /** Member id, hex. */ id: string },
): Promise<EtcdMember[]> {
  return withCluster(options, (cluster) => cluster.removeMember(options.id, options));
}
