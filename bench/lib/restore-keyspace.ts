/**
 * The key space of bench/restore.ts: `count` keys of `valueBytes` random bytes each under `<prefix>data/`
 * (random, so neither the disk nor a transfer can compress them), put concurrently over mTLS; then the
 * "damage" a restore has to undo (keys deleted and keys added after the snapshot); then the check that a
 * restored cluster holds exactly the snapshot's keys: the count, the damage gone, a few values byte for
 * byte (by SHA-256) and the revision.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EtcdTlsOptions } from '../../src/index.js';
import { createEtcdClient } from '../../src/etcd-entry.js';

/** What was written, to check a restore against. */
export interface Keyspace {
  prefix: string;
  /** Keys under `<prefix>data/`, in order. */
  keys: string[];
  /** SHA-256 (hex) of each key's value. */
  sha256: Map<string, string>;
  valueBytes: number;
}

const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const dataKey = (prefix: string, i: number) => `${prefix}data/k${String(i).padStart(6, '0')}`;

/** Puts `count` random values of `valueBytes` bytes, `concurrency` puts in flight. */
export async function fillKeyspace(
  endpoints: string[],
  tls: EtcdTlsOptions,
  opts: { prefix: string; count: number; valueBytes: number; concurrency?: number },
): Promise<Keyspace> {
  const client = createEtcdClient({ endpoints, tls });
  const keys = Array.from({ length: opts.count }, (_, i) => dataKey(opts.prefix, i));
  const sums = new Map<string, string>();
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.concurrency ?? 8 }, async () => {
        while (next < keys.length) {
          const key = keys[next++]!;
          const value = randomBytes(opts.valueBytes);
          sums.set(key, sha(value));
          await client.put(key).value(value);
        }
      }),
    );
  } finally {
    client.close();
  }
  return { prefix: opts.prefix, keys, sha256: sums, valueBytes: opts.valueBytes };
}

/** After the snapshot: deletes the first `deletes` data keys and adds `adds` keys under `<prefix>after/`. */
export async function damageKeyspace(endpoints: string[], tls: EtcdTlsOptions, ks: Keyspace, deletes = 100, adds = 50): Promise<void> {
  const client = createEtcdClient({ endpoints, tls });
  try {
    await Promise.all(ks.keys.slice(0, deletes).map((k) => client.delete().key(k)));
    await Promise.all(Array.from({ length: adds }, (_, i) => client.put(`${ks.prefix}after/k${i}`).value(`written after the snapshot ${i}`)));
  } finally {
    client.close();
  }
}

/** The cluster's current revision (header of a linearizable range). */
export async function currentRevision(endpoints: string[], tls: EtcdTlsOptions): Promise<string> {
  const client = createEtcdClient({ endpoints, tls });
  try {
    const r = await client.kv.range({ key: Buffer.from('\0') });
    return String(r.header.revision);
  } finally {
    client.close();
  }
}

/**
 * Throws unless the cluster holds the snapshot's key space: every data key (including the ones deleted
 * after the snapshot), none of the later additions, `samples` values equal to what was written (the
 * first key, the last, and evenly spread ones), at `revision`. Each endpoint is asked on its own, so a
 * member that restored something else is caught too. Returns the revision seen.
 */
export async function verifyKeyspace(endpoints: string[], tls: EtcdTlsOptions, ks: Keyspace, revision: string, samples = 5): Promise<string> {
  const picks = [0, ks.keys.length - 1, ...Array.from({ length: Math.max(0, samples - 2) }, (_, i) => Math.floor(((i + 1) * ks.keys.length) / (samples - 1)))];
  let seen = '';
  for (const endpoint of endpoints) {
    const client = createEtcdClient({ endpoints: [endpoint], tls });
    try {
      const data = await client.getAll().prefix(`${ks.prefix}data/`).count();
      const after = await client.getAll().prefix(`${ks.prefix}after/`).count();
      if (data !== ks.keys.length || after !== 0) {
        throw new Error(`${endpoint}: ${data} data keys (want ${ks.keys.length}) and ${after} keys written after the snapshot (want 0)`);
      }
      for (const i of picks) {
        const key = ks.keys[Math.min(i, ks.keys.length - 1)]!;
        const value = await client.get(key).buffer();
        if (value === null || value.length !== ks.valueBytes || sha(value) !== ks.sha256.get(key)) throw new Error(`${endpoint}: ${key} does not hold the value written`);
      }
      const r = await client.kv.range({ key: Buffer.from(ks.keys[0]!), serializable: true });
      seen = String(r.header.revision);
      if (seen !== revision) throw new Error(`${endpoint}: revision ${seen}, the snapshot's is ${revision}`);
    } finally {
      client.close();
    }
  }
  return seen;
}
