// A continuous writer for tests that change a running cluster: it keeps putting numbered keys and
// remembers which ones etcd acknowledged, so a test can prove that no acknowledged write was lost.
import type { EtcdTlsOptions } from '../../src/index.js';
import { createEtcdClient } from '../../src/etcd-entry.js';

/** What a {@link startWriter} run saw. */
export interface WriterReport {
  /** Keys etcd acknowledged, in write order. */
  acked: string[];
  /** Writes that failed (a member restarting, no leader for a moment); each was retried as a new key. */
  failed: number;
}

/** A running writer. */
export interface Writer {
  /** Acknowledged writes so far. */
  readonly ackedCount: number;
  /** Stops writing and returns what it saw. */
  stop(): Promise<WriterReport>;
}

/**
 * Starts writing `<prefix><n>` = `n` in a loop through one multi-endpoint client (etcd3 retries on another
 * member). `onAck` runs after each acknowledged write, e.g. to note which step of a roll it landed in.
 */
export function startWriter(endpoints: string[], tls: EtcdTlsOptions, prefix: string, onAck?: (key: string) => void): Writer {
  const client = createEtcdClient({ endpoints, tls });
  const acked: string[] = [];
  let failed = 0;
  let writing = true;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const key = `${prefix}${i}`;
      try {
        await client.put(key).value(String(i));
        acked.push(key);
        onAck?.(key);
      } catch {
        failed++;
        await new Promise((r) => setTimeout(r, 20)); // a member is restarting: retry shortly
      }
    }
  })();
  return {
    get ackedCount() {
      return acked.length;
    },
    async stop() {
      writing = false;
      await loop;
      client.close();
      return { acked, failed };
    },
  };
}

/**
 * The acknowledged keys the cluster does not hold (expected: none). Reads with a fresh client: the
 * writer's may still hold a circuit breaker open for a member it saw restart.
 */
export async function lostWrites(endpoints: string[], tls: EtcdTlsOptions, prefix: string, acked: string[]): Promise<string[]> {
  const reader = createEtcdClient({ endpoints, tls });
  try {
    const stored = new Set(await reader.getAll().prefix(prefix).keys());
    return acked.filter((k) => !stored.has(k));
  } finally {
    reader.close();
  }
}
