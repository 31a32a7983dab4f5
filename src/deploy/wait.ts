// Waits for health as a deploy needs it: every endpoint (not just a quorum), or one member's endpoint
// after a restart, with the last picture in the error so a timeout says which member and why.
import { EtcdKitError } from '../errors.js';
import type { ClusterHealth, EtcdCluster } from '../etcd/index.js';

const POLL_MS = 250;
const CHECK_TIMEOUT_MS = 2000;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new EtcdKitError('ABORTED', 'deploy aborted', { cause: signal.reason }));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new EtcdKitError('ABORTED', 'deploy aborted', { cause: signal?.reason }));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(health: ClusterHealth): string {
  return health.endpoints
    .filter((e) => !e.healthy)
    .map((e) => `${e.endpoint}: ${e.error?.code ?? 'unhealthy'}${e.error ? ` (${e.error.message})` : ''}`)
    .join('; ');
}

/**
 * Polls until the cluster has quorum and every endpoint in `endpoints` (default: all) answers a
 * linearizable read. Throws `ETCD_UNHEALTHY` with `details.health` (the last picture) on timeout.
 */
export async function waitForEndpoints(
  cluster: EtcdCluster,
  options: { timeoutMs: number; signal?: AbortSignal | undefined; endpoints?: string[] },
): Promise<ClusterHealth> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ClusterHealth | undefined;
  for (;;) {
    const left = deadline - Date.now();
    last = await cluster.checkHealth({
      timeoutMs: Math.max(200, Math.min(CHECK_TIMEOUT_MS, left)),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const wanted = options.endpoints ? last.endpoints.filter((e) => options.endpoints!.includes(e.endpoint)) : last.endpoints;
    if (last.healthy && wanted.every((e) => e.healthy)) return last;
    if (Date.now() + POLL_MS >= deadline) break;
    await sleep(POLL_MS, options.signal);
  }
  throw new EtcdKitError('ETCD_UNHEALTHY', `cluster not healthy after ${options.timeoutMs} ms: ${describe(last) || last.error?.message || 'no quorum'}`, {
    details: { health: last },
  });
}
