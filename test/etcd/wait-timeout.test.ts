// The timeout of a wait reports each endpoint's last real answer: a final check the deadline cut short
// ("no answer within 1 ms") never replaces the last check that had its full per-endpoint budget.
import { describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { resolveWaitOptions } from '../../src/etcd/options.js';
import type { ClusterHealth } from '../../src/etcd/types.js';
import { pollUntilHealthy } from '../../src/etcd/wait.js';

const A = 'https://10.0.0.11:2379';
const B = 'https://10.0.0.12:2379';

/** etcd02 answers "connection refused" when given its full budget, and times out when the budget is cut. */
function picture(budget: number, full: number): ClusterHealth {
  const cut = budget < full;
  return {
    healthy: true,
    verdict: 'degraded',
    leader: { id: 'a', name: 'etcd01' },
    quorum: { votingMembers: 2, needed: 2, healthyVoters: 1 },
    members: [],
    endpoints: [
      { endpoint: A, memberName: 'etcd01', healthy: true, tookMs: 3 },
      {
        endpoint: B,
        memberName: 'etcd02',
        healthy: false,
        tookMs: budget,
        error: cut
          ? { code: 'ETCD_TIMEOUT', message: `${B}: no answer within ${Math.round(budget)} ms` }
          : { code: 'ETCD_UNREACHABLE', message: `${B}: connection refused` },
      },
    ],
    alarms: [],
    tookMs: budget,
  };
}

describe('pollUntilHealthy timeout message', () => {
  it('names every endpoint with its last complete answer, not the one cut short by the deadline', async () => {
    const budgets: number[] = [];
    const full = 120;
    const check = async ({ timeoutMs }: { timeoutMs: number }) => {
      budgets.push(timeoutMs);
      // A full check takes 100 ms (etcd02's refusal arrives late); a cut one runs until its budget ends.
      await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 100)));
      return picture(timeoutMs, full);
    };
    const err = await pollUntilHealthy(check, resolveWaitOptions({ timeoutMs: 300, checkTimeoutMs: full, intervalMs: 20, maxIntervalMs: 20, mustAnswer: 'all' })).catch((e: unknown) => e);
    expect(isEtcdKitError(err) && err.code).toBe('ETCD_UNHEALTHY');
    const e = err as Error & { details: { health: ClusterHealth } };
    // The scenario really had a last check cut short by the deadline.
    expect(budgets.at(-1)).toBeLessThan(full);
    expect(e.message).toContain(`etcd02 (${B}): ETCD_UNREACHABLE: ${B}: connection refused`);
    expect(e.message).toContain(`etcd01 (${A}): ok in 3 ms`);
    expect(e.message).toContain('degraded (quorum)');
    expect(e.message).not.toMatch(/no answer within/);
    expect(e.details.health.endpoints[1]!.error?.code).toBe('ETCD_UNREACHABLE');
  });

  it('keeps a cut-short check when it is the only one', async () => {
    const check = async ({ timeoutMs }: { timeoutMs: number }) => picture(timeoutMs, 5000);
    const err = (await pollUntilHealthy(check, resolveWaitOptions({ timeoutMs: 50, checkTimeoutMs: 5000, mustAnswer: 'all' })).catch((x: unknown) => x)) as Error;
    expect(err.message).toMatch(/etcd02 \(https:\/\/10\.0\.0\.12:2379\): ETCD_TIMEOUT: .*no answer within \d+ ms/);
  });
});
