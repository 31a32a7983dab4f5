import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SnapshotDigest } from '../../src/etcd/snapshot.js';

/** A stream as etcd sends it: the database, then the SHA-256 of the database. */
function etcdStream(size: number): Buffer {
  const db = randomBytes(size);
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

/** Feeds `stream` in chunks of random sizes (1 byte to 70 KiB), so the trailer lands across chunks too. */
function digestOf(stream: Buffer): ReturnType<SnapshotDigest['finish']> & { bytes: number } {
  const digest = new SnapshotDigest();
  for (let at = 0; at < stream.length; ) {
    const n = Math.min(stream.length - at, 1 + Math.floor(Math.random() * (Math.random() < 0.3 ? 40 : 70_000)));
    digest.update(stream.subarray(at, at + n));
    at += n;
  }
  return { ...digest.finish(), bytes: digest.bytes };
}

describe('SnapshotDigest', () => {
  it('accepts a complete stream however it is chunked, and hashes the whole of it', () => {
    for (const size of [0, 1, 31, 32, 33, 4096, 300_000]) {
      const stream = etcdStream(size);
      for (let round = 0; round < 5; round++) {
        const result = digestOf(stream);
        expect(result).toEqual({ ok: true, sha256: createHash('sha256').update(stream).digest('hex'), bytes: stream.length });
      }
    }
  });

  it('refuses a truncated stream, a flipped byte, and a stream shorter than the trailer', () => {
    const stream = etcdStream(100_000);
    expect(digestOf(stream.subarray(0, stream.length - 1)).ok).toBe(false);
    expect(digestOf(stream.subarray(0, 60_000)).ok).toBe(false);
    const flipped = Buffer.from(stream);
    flipped[12_345] = (flipped[12_345] ?? 0) ^ 0x01;
    expect(digestOf(flipped).ok).toBe(false);
    expect(digestOf(Buffer.alloc(0)).ok).toBe(false);
    expect(digestOf(randomBytes(20)).ok).toBe(false);
  });
});
