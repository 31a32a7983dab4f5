import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKitError } from '../../src/errors.js';
import { readSnapshotFile } from '../../src/etcd/index.js';

let dir: string;
// etcd's snapshot format: the database, then the SHA-256 of the database.
const body = Buffer.from('not a real bbolt file, but the trailer rule is the same '.repeat(100));
const snapshot = Buffer.concat([body, createHash('sha256').update(body).digest()]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-snapfile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, data: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

describe('readSnapshotFile', () => {
  it('accepts a file whose last 32 bytes are the SHA-256 of the rest', async () => {
    const snap = await readSnapshotFile(await file('ok.db', snapshot));
    expect(snap).toMatchObject({ bytes: snapshot.length, hasIntegrityTrailer: true, sha256: createHash('sha256').update(snapshot).digest('hex') });
    expect(snap.data.equals(snapshot)).toBe(true);
  });

  it('refuses a damaged, truncated or trailer-less file with SNAPSHOT_INVALID naming it', async () => {
    const flipped = Buffer.from(snapshot);
    flipped[100] = flipped[100]! ^ 0xff;
    for (const [name, data] of [
      ['flipped.db', flipped],
      ['truncated.db', snapshot.subarray(0, snapshot.length - 1)],
      ['bare.db', body],
      ['tiny.db', Buffer.from('x')],
    ] as const) {
      const path = await file(name, data);
      const err = await readSnapshotFile(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdKitError);
      expect((err as EtcdKitError).code).toBe('SNAPSHOT_INVALID');
      expect((err as EtcdKitError).message).toContain(path);
    }
  });

  it('a copied db is accepted with skipHashCheck, and says it has no trailer', async () => {
    const snap = await readSnapshotFile(await file('copied.db', body), { skipHashCheck: true });
    expect(snap.hasIntegrityTrailer).toBe(false);
  });

  it('a missing file is an INVALID_ARGUMENT naming the snapshot', async () => {
    const err = await readSnapshotFile(join(dir, 'nope.db')).catch((e: unknown) => e);
    expect((err as EtcdKitError).code).toBe('INVALID_ARGUMENT');
    expect((err as EtcdKitError).field).toBe('snapshot');
  });
});
