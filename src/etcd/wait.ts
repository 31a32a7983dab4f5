/**
 * Polling until the cluster is healthy, with a growing pause between checks and a total deadline.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { classifyEtcdError } from './classify.js';
import { sleep, throwIfAborted } from './deadline.js';
import type { resolveWaitOptions } from './options.js';
import type { ClusterHealth } from './types.js';

type Check = (options: { timeoutMs: number; signal: AbortSignal | undefined }) => Promise<ClusterHealth>;

/**
 * Runs `check` until it reports a healthy cluster. Gives up after `timeoutMs` with `ETCD_UNHEALTHY`,
 * carrying the last picture in `details.health` and naming every failing member in the message.
 */
export async function pollUntilHealthy(check: Check, options: ReturnType<typeof resolveWaitOptions>): Promise<ClusterHealth> {
  const { timeoutMs, intervalMs, maxIntervalMs, checkTimeoutMs, signal } = options;
  const startedAt = performance.now();
  const left = (): number => timeoutMs - (performance.now() - startedAt);
  let pause = intervalMs;
  let attempts = 0;
  let last: ClusterHealth | undefined;
  try {
    while (left() > 0) {
      throwIfAborted(signal);
      last = await check({ timeoutMs: Math.max(1, Math.min(checkTimeoutMs, left())), signal });
      attempts += 1;
      if (satisfied(last, options.mustAnswer)) return last;
      if (left() <= 0) break;
      await sleep(Math.min(pause, left()), signal);
      pause = Math.min(pause * 1.5, maxIntervalMs);
    }
  } catch (err) {
    throw classifyEtcdError(err, { operation: 'wait for a healthy cluster' });
  }
  const waitedMs = Math.round(performance.now() - startedAt);
  throw new EtcdKitError('ETCD_UNHEALTHY', unhealthyMessage(last, waitedMs, attempts), {
    details: { health: last, attempts, waitedMs, lastCode: last?.error?.code },
  });
}

/** A quorum, plus every endpoint `mustAnswer` asks for. */
function satisfied(health: ClusterHealth, mustAnswer: ReturnType<typeof resolveWaitOptions>['mustAnswer']): boolean {
  if (!health.healthy) return false;
  if (mustAnswer === 'quorum') return true;
  const wanted = mustAnswer === 'all' ? health.endpoints : health.endpoints.filter((e) => mustAnswer.includes(e.endpoint));
  return wanted.every((e) => e.healthy);
}

function unhealthyMessage(last: ClusterHealth | undefined, waitedMs: number, attempts: number): string {
  const head = `etcd cluster not healthy after ${waitedMs} ms (${attempts} check${attempts === 1 ? '' : 's'})`;
  if (last === undefined) return `${head}: no check completed`;
  const failing = last.endpoints
    .filter((e) => !e.healthy)
    .map((e) => `${e.memberName ? `${e.memberName} ` : ''}${e.error?.code ?? 'unhealthy'}: ${e.error?.message ?? ''}`);
  return `${head}; ${last.error?.code ?? 'unhealthy'}; ${failing.join('; ')}`;
}
