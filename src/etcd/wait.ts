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
 * carrying the last complete picture in `details.health` (a final check cut short by the deadline does
 * not replace it) and every endpoint's answer in that picture in the message.
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
      const budget = Math.max(1, Math.min(checkTimeoutMs, left()));
      const health = await check({ timeoutMs: budget, signal });
      attempts += 1;
      if (satisfied(health, options.mustAnswer)) return health;
      // A check the deadline cut short ("no answer within 1 ms") is no answer: what the timeout reports is
      // the last check that had its full per-endpoint budget, unless no such check ran.
      if (budget >= checkTimeoutMs || last === undefined) last = health;
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

/** The head, the verdict, then every endpoint's answer in the last complete check (healthy ones too). */
export function unhealthyMessage(last: ClusterHealth | undefined, waitedMs: number, attempts: number): string {
  const head = `etcd cluster not healthy after ${waitedMs} ms (${attempts} check${attempts === 1 ? '' : 's'})`;
  if (last === undefined) return `${head}: no check completed`;
  const verdict = last.healthy ? `${last.verdict} (quorum)` : (last.error?.code ?? 'unavailable');
  const answers = last.endpoints.map((e) => {
    const who = e.memberName ? `${e.memberName} (${e.endpoint})` : e.endpoint;
    return e.healthy ? `${who}: ok in ${Math.round(e.tookMs)} ms` : `${who}: ${e.error?.code ?? 'unhealthy'}: ${e.error?.message ?? ''}`;
  });
  return `${head}; ${verdict}; last answers: ${answers.join('; ')}`;
}
