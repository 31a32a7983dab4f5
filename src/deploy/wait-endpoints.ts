/**
 * Waits for health as a deploy needs it: every endpoint (not just a quorum), or the given endpoints (and a
 * quorum) after a restart or a join, polled at a steady pace so a member coming up is noticed quickly.
 * @module
 */
import type { ClusterHealth, EtcdCluster } from '../etcd/index.js';

const POLL_MS = 250;

/**
 * Polls until the cluster has quorum and every endpoint in `endpoints` (default: all) answers a
 * linearizable read. Throws `ETCD_UNHEALTHY` with `details.health` (the last picture) on timeout.
 */
export function waitForEndpoints(
  cluster: EtcdCluster,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; endpoints?: string[] },
): Promise<ClusterHealth> {
  return cluster.waitForHealthy({
    timeoutMs: options.timeoutMs,
    mustAnswer: options.endpoints ?? 'all',
    intervalMs: POLL_MS,
    maxIntervalMs: POLL_MS,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
