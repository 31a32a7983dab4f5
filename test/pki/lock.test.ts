import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPkiNames } from '../../src/pki/dir.js';
import {
  type ClusterPki,
  type PkiLockHolder,
  acquirePkiLock,
  createClusterPki,
  inspectPkiDir,
  pkiPaths,
  readPkiDir,
  withPkiLock,
  writePkiDir,
} from '../../src/pki/index.js';
import { expectPkiError } from './helpers.js';

let root: string;
let counter = 0;
let deadPid: number;

/** The pid of a process that has exited: a lock it left is stale. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etcd-kit-pki-lock-'));
  deadPid = await exitedPid();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const freshDir = () => join(root, `pki-${++counter}`);
const lockText = (holder: PkiLockHolder) => `${JSON.stringify(holder)}\n`;
const holderOf = async (dir: string): Promise<PkiLockHolder> => JSON.parse(await readFile(pkiPaths(dir).lock, 'utf8'));
const exists = (path: string) => stat(path).then(() => true, () => false);

describe('acquirePkiLock', () => {
  it('creates <dir>/.etcd-kit.lock (0600) with the holder, in a dir it creates 0700; release removes it', async () => {
    const dir = freshDir();
    const now = new Date('2026-03-01T10:00:00Z');
    const lock = await acquirePkiLock(dir, { operation: 'deploy', now });
    expect(lock.path).toBe(join(dir, '.etcd-kit.lock'));
    expect(lock.holder).toEqual({ pid: process.pid, hostname: hostname(), operation: 'deploy', startedAt: '2026-03-01T10:00:00.000Z' });
    expect(await holderOf(dir)).toEqual(lock.holder);
    expect((await stat(lock.path)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await lock.release();
    expect(await exists(lock.path)).toBe(false);
    await lock.release(); // idempotent
    // Free again: the next operation takes it.
    await (await acquirePkiLock(dir, { operation: 'restore' })).release();
  });

  it('is 0600 under umask 0 too', async () => {
    const previous = process.umask(0);
    try {
      const dir = freshDir();
      const lock = await acquirePkiLock(dir, { operation: 'deploy' });
      expect((await stat(lock.path)).mode & 0o777).toBe(0o600);
      await lock.release();
    } finally {
      process.umask(previous);
    }
  });

  it('refuses a second acquire while held with PKI_LOCKED naming the holder and the file to remove', async () => {
    const dir = freshDir();
    const lock = await acquirePkiLock(dir, { operation: 'ca rotation', now: new Date('2026-03-01T10:00:00Z') });
    const err = await expectPkiError(acquirePkiLock(dir, { operation: 'deploy' }), 'PKI_LOCKED', 'pki.dir');
    expect(err.message).toContain('ca rotation');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.message).toContain(hostname());
    expect(err.message).toContain('2026-03-01T10:00:00.000Z');
    expect(err.message).toContain(`remove ${lock.path}`);
    expect(err.details).toEqual({ path: lock.path, holder: lock.holder });
    expect(await holderOf(dir)).toEqual(lock.holder); // the holder's lock untouched
    await lock.release();
  });

  it('takes over a stale lock: a dead pid on this host', async () => {
    const dir = freshDir();
    const stale: PkiLockHolder = { pid: deadPid, hostname: hostname(), operation: 'deploy', startedAt: '2026-01-01T00:00:00.000Z' };
    await acquirePkiLock(dir, { operation: 'x' }).then((l) => l.release()); // make the dir
    await writeFile(pkiPaths(dir).lock, lockText(stale), { mode: 0o600 });
    const lock = await acquirePkiLock(dir, { operation: 'restore' });
    expect(await holderOf(dir)).toEqual(lock.holder);
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
    expect(await exists(lock.path)).toBe(false);
  });

  it('refuses a lock of another host, even with a pid dead here', async () => {
    const dir = freshDir();
    const other: PkiLockHolder = { pid: deadPid, hostname: `not-${hostname()}`, operation: 'deploy', startedAt: '2026-01-01T00:00:00.000Z' };
    await acquirePkiLock(dir, { operation: 'x' }).then((l) => l.release());
    await writeFile(pkiPaths(dir).lock, lockText(other), { mode: 0o600 });
    const err = await expectPkiError(acquirePkiLock(dir, { operation: 'restore' }), 'PKI_LOCKED', 'pki.dir');
    expect(err.details).toEqual({ path: pkiPaths(dir).lock, holder: other });
    expect(err.message).toContain(`not-${hostname()}`);
    expect(await holderOf(dir)).toEqual(other);
  });

  it('refuses a live pid of this host that is not this process', async () => {
    const dir = freshDir();
    const other: PkiLockHolder = { pid: process.ppid, hostname: hostname(), operation: 'deploy', startedAt: '2026-01-01T00:00:00.000Z' };
    await acquirePkiLock(dir, { operation: 'x' }).then((l) => l.release());
    await writeFile(pkiPaths(dir).lock, lockText(other), { mode: 0o600 });
    await expectPkiError(acquirePkiLock(dir, { operation: 'restore' }), 'PKI_LOCKED', 'pki.dir');
  });

  it('refuses a damaged lock file (holder unknown) and never removes it', async () => {
    for (const damaged of ['', '{"pid":', 'null', '{"pid":0,"hostname":"h","operation":"deploy","startedAt":"x"}', '{"pid":12}']) {
      const dir = freshDir();
      await acquirePkiLock(dir, { operation: 'x' }).then((l) => l.release());
      await writeFile(pkiPaths(dir).lock, damaged);
      const err = await expectPkiError(acquirePkiLock(dir, { operation: 'deploy' }), 'PKI_LOCKED', 'pki.dir');
      expect(err.details).toEqual({ path: pkiPaths(dir).lock, holder: undefined });
      expect(err.message).toContain('damaged');
      expect(err.message).toContain(`remove ${pkiPaths(dir).lock}`);
      expect(await readFile(pkiPaths(dir).lock, 'utf8')).toBe(damaged);
    }
  });

  it('requires an operation', async () => {
    await expectPkiError(acquirePkiLock(freshDir(), { operation: ' ' }), 'PKI_INVALID_INPUT', 'operation');
  });

  it('release leaves alone a lock someone else holds by now', async () => {
    const dir = freshDir();
    const lock = await acquirePkiLock(dir, { operation: 'deploy' });
    // An operator removed our lock and another operation took it.
    const other: PkiLockHolder = { pid: process.ppid, hostname: hostname(), operation: 'restore', startedAt: '2026-01-01T00:00:00.000Z' };
    await writeFile(lock.path, lockText(other));
    await lock.release();
    expect(await holderOf(dir)).toEqual(other);
  });

  it('readPkiDir, listPkiNames and inspectPkiDir ignore the lock file', async () => {
    const pki: ClusterPki = await createClusterPki({ members: [{ name: 'etcd01', hosts: ['10.0.0.1'] }] });
    const dir = freshDir();
    await writePkiDir(dir, pki);
    const before = { read: await readPkiDir(dir), names: await listPkiNames(dir), inspected: await inspectPkiDir(dir) };
    const lock = await acquirePkiLock(dir, { operation: 'deploy' });
    expect(await readPkiDir(dir)).toEqual(before.read);
    expect(await listPkiNames(dir)).toEqual(before.names);
    expect((await inspectPkiDir(dir)).certificates.map((c) => c.file)).toEqual(before.inspected.certificates.map((c) => c.file));
    await lock.release();
  });
});

describe('withPkiLock', () => {
  it('holds the lock while fn runs and releases it after', async () => {
    const dir = freshDir();
    const result = await withPkiLock(dir, 'deploy', async () => {
      expect((await holderOf(dir)).operation).toBe('deploy');
      await expectPkiError(acquirePkiLock(dir, { operation: 'restore' }), 'PKI_LOCKED');
      return 42;
    });
    expect(result).toBe(42);
    expect(await exists(pkiPaths(dir).lock)).toBe(false);
  });

  it('releases the lock when fn throws, and throws fn’s error', async () => {
    const dir = freshDir();
    const boom = new Error('boom');
    await expect(
      withPkiLock(dir, 'deploy', async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await exists(pkiPaths(dir).lock)).toBe(false);
  });

  it('does not run fn when the lock is held', async () => {
    const dir = freshDir();
    const lock = await acquirePkiLock(dir, { operation: 'deploy' });
    let ran = false;
    await expectPkiError(
      withPkiLock(dir, 'restore', async () => {
        ran = true;
      }),
      'PKI_LOCKED',
    );
    expect(ran).toBe(false);
    await lock.release();
  });
});
