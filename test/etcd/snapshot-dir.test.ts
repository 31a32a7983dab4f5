// The pure parts of saveSnapshotToDir: file names, which files count as snapshots of a prefix, which are
// pruned, and option checks that reject before anything is created or connected to.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdTlsOptions, saveSnapshotToDir } from '../../src/etcd/index.js';
import {
  freeSnapshotName,
  isPartialOf,
  parseSnapshotName,
  snapshotDirFileName,
  snapshotStamp,
  snapshotsToPrune,
} from '../../src/etcd/snapshot-dir.js';
import { isEtcdKitError } from '../../src/errors.js';
import { createCA, signClientCert } from '../../src/pki/index.js';
import { caught } from './support.js';

const AT = new Date('2026-12-01T12:34:56.789Z');

describe('snapshot file names', () => {
  it('are <prefix>-<UTC yyyymmddThhmmssZ>.db, with -<n> for a taken name', () => {
    expect(snapshotStamp(AT)).toBe('20261201T123456Z');
    expect(snapshotDirFileName('prod', AT)).toBe('prod-20261201T123456Z.db');
    expect(snapshotDirFileName('prod', AT, 2)).toBe('prod-20261201T123456Z-2.db');
    // UTC whatever the offset the Date was built with.
    expect(snapshotStamp(new Date('2026-12-01T23:59:59+02:00'))).toBe('20261201T215959Z');
  });

  it('never reuse a name a snapshot or its .sha256 has', () => {
    expect(freeSnapshotName('prod', AT, new Set())).toBe('prod-20261201T123456Z.db');
    expect(freeSnapshotName('prod', AT, new Set(['prod-20261201T123456Z.db']))).toBe('prod-20261201T123456Z-1.db');
    expect(freeSnapshotName('prod', AT, new Set(['prod-20261201T123456Z.db.sha256']))).toBe('prod-20261201T123456Z-1.db');
    expect(freeSnapshotName('prod', AT, new Set(['prod-20261201T123456Z.db', 'prod-20261201T123456Z-1.db']))).toBe('prod-20261201T123456Z-2.db');
    // Another prefix's file of the same second is no conflict.
    expect(freeSnapshotName('prod', AT, new Set(['prod2-20261201T123456Z.db']))).toBe('prod-20261201T123456Z.db');
  });

  it('recognize exactly the snapshots of one prefix', () => {
    expect(parseSnapshotName('prod', 'prod-20261201T123456Z.db')).toEqual({ name: 'prod-20261201T123456Z.db', stamp: '20261201T123456Z', seq: 0 });
    expect(parseSnapshotName('prod', 'prod-20261201T123456Z-12.db')?.seq).toBe(12);
    for (const other of [
      'prod-20261201T123456Z.db.sha256',
      'prod-20261201T123456Z.db.bak',
      'prod-x-20261201T123456Z.db',
      'prod-3.5.16-20261201T123456Z.db', // a pre-change snapshot of the deploy, same token
      'prod2-20261201T123456Z.db',
      'xprod-20261201T123456Z.db',
      'prod-2026120T123456Z.db',
      'prod-20261201T123456Z-0.db',
      'prod-20261201T123456Z-.db',
      '.prod-20261201T123456Z.db.etcd-kit-partial-123',
      'prod-20261201T123456Z.db\n',
    ]) {
      expect(parseSnapshotName('prod', other), other).toBeUndefined();
    }
    // Regex characters in a prefix are literal: `a.b` does not match `axb`.
    expect(parseSnapshotName('a.b', 'axb-20261201T123456Z.db')).toBeUndefined();
    expect(parseSnapshotName('a.b', 'a.b-20261201T123456Z.db')).toBeDefined();
  });

  it('recognize the partial files of one prefix', () => {
    expect(isPartialOf('prod', '.prod-20261201T123456Z.db.etcd-kit-partial-4242')).toBe(true);
    expect(isPartialOf('prod', '.prod-20261201T123456Z-1.db.sha256.etcd-kit-partial-4242')).toBe(true);
    expect(isPartialOf('prod', '.prod2-20261201T123456Z.db.etcd-kit-partial-4242')).toBe(false);
    expect(isPartialOf('prod', '.other.db.etcd-kit-partial-4242')).toBe(false);
    expect(isPartialOf('prod', 'prod-20261201T123456Z.db')).toBe(false);
    expect(isPartialOf('prod', '.prod-20261201T123456Z.db.etcd-kit-partial-')).toBe(false);
  });
});

describe('snapshotsToPrune', () => {
  const names = [
    'prod-20261201T100000Z.db',
    'prod-20261201T100000Z.db.sha256',
    'prod-20261201T090000Z.db',
    'prod-20261201T110000Z-1.db',
    'prod-20261201T110000Z.db',
    'prod-20251231T235959Z.db',
    'notes.txt',
    'staging-20200101T000000Z.db',
  ];
  const current = 'prod-20261201T120000Z.db';

  it('keeps the newest keep (the new one included), returns the rest oldest first, never other files', () => {
    const all = [...names, current];
    expect(snapshotsToPrune('prod', all, 1, current)).toEqual([
      'prod-20251231T235959Z.db',
      'prod-20261201T090000Z.db',
      'prod-20261201T100000Z.db',
      'prod-20261201T110000Z.db',
      'prod-20261201T110000Z-1.db',
    ]);
    // Same second: the -1 suffix is the newer one.
    expect(snapshotsToPrune('prod', all, 3, current)).toEqual(['prod-20251231T235959Z.db', 'prod-20261201T090000Z.db', 'prod-20261201T100000Z.db']);
    expect(snapshotsToPrune('prod', all, 6, current)).toEqual([]);
    expect(snapshotsToPrune('prod', all, 100, current)).toEqual([]);
    expect(snapshotsToPrune('staging', all, 1, 'staging-20261201T120000Z.db')).toEqual(['staging-20200101T000000Z.db']);
  });

  it('never prunes the snapshot just written, even when its name is older (clock went back)', () => {
    const old = 'prod-20200101T000000Z.db';
    expect(snapshotsToPrune('prod', [...names, old], 2, old)).toEqual([
      'prod-20251231T235959Z.db',
      'prod-20261201T090000Z.db',
      'prod-20261201T100000Z.db',
      'prod-20261201T110000Z.db',
    ]);
  });
});

describe('saveSnapshotToDir option checks', () => {
  let tls: EtcdTlsOptions;
  let dir: string;
  let server: Server;
  let endpoint: string;
  let connections = 0;

  beforeAll(async () => {
    const ca = await createCA({ keyAlgorithm: 'ecdsa-p256' });
    const admin = await signClientCert(ca, { commonName: 'admin' });
    tls = { caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };
    dir = await mkdtemp(join(tmpdir(), 'etcd-kit-snapdir-unit-'));
    // Counts connection attempts: a rejected call must make none.
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['keep', { keep: 0 }],
    ['keep', { keep: -1 }],
    ['keep', { keep: 1.5 }],
    ['keep', { keep: Number.NaN }],
    ['keep', { keep: '2' }],
    ['prefix', { prefix: '' }],
    ['prefix', { prefix: '.hidden' }],
    ['prefix', { prefix: 'a/b' }],
    ['now', { now: new Date('nope') }],
    ['dir', { dir: '' }],
  ])('rejects a bad %s (%o) with INVALID_ARGUMENT naming it, before creating the dir or connecting', async (field, bad) => {
    const target = join(dir, `never-${field}`);
    const err = await caught(saveSnapshotToDir({ endpoints: [endpoint], tls, dir: target, ...(bad as object) }));
    expect(isEtcdKitError(err) && [err.code, err.field]).toEqual(['INVALID_ARGUMENT', field]);
    expect(existsSync(target)).toBe(false);
    expect(connections).toBe(0);
  });

  it('rejects bad endpoints before creating the dir', async () => {
    const target = join(dir, 'never-endpoints');
    const err = await caught(saveSnapshotToDir({ endpoints: ['http://127.0.0.1:2379'], tls, dir: target, keep: 2 }));
    expect(isEtcdKitError(err) && err.code).toBe('INVALID_ARGUMENT');
    expect(existsSync(target)).toBe(false);
  });

  it('a save that fails (nothing listening that speaks TLS) writes and deletes nothing', async () => {
    const target = join(dir, 'backups');
    const old = ['etcd-snapshot-20200101T000000Z.db', 'etcd-snapshot-20200101T000000Z.db.sha256', '.etcd-snapshot-20200101T000000Z.db.etcd-kit-partial-1'];
    await rm(target, { recursive: true, force: true });
    await mkdir(target);
    for (const f of old) await writeFile(join(target, f), 'old');
    const err = await caught(saveSnapshotToDir({ endpoints: [endpoint], tls, dir: target, keep: 1, timeoutMs: 3000 }));
    expect(isEtcdKitError(err) && err.code).toMatch(/^ETCD_/);
    expect((await readdir(target)).sort()).toEqual([...old].sort());
  });
});
