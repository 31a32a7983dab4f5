/**
 * The PKI dir's lock: one mutating etcd-kit operation (a deploy, a restore, a CA rotation, ...) at a time per
 * PKI dir, so two of them never change the same cluster at once from the same controller files.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { EtcdKitError } from '../errors.js';
import { pkiPaths } from './dir.js';
import { KEY_FILE_MODE, ioError, makeDir, readTextIfExists, removeFile } from './files.js';

/** Who holds a PKI dir's lock: the record in `<dir>/.etcd-kit.lock`. */
export interface PkiLockHolder {
  /** Process id of the holder, on `hostname`. */
  pid: number;
  /** `os.hostname()` of the machine the holder runs on. */
  hostname: string;
  /** What the holder is doing: `deploy`, `restore`, ... */
  operation: string;
  /** When it took the lock, ISO 8601 (UTC). */
  startedAt: string;
}

/** Options of {@link acquirePkiLock}. */
export interface AcquirePkiLockOptions {
  /** What the lock is taken for (`deploy`, `restore`, ...): another operation's refusal names it. Required, non-empty. */
  operation: string;
  /** The clock, for tests: the lock's `startedAt`. Default: the current time. */
  now?: Date;
}

/** A held PKI dir lock, from {@link acquirePkiLock}. */
export interface PkiLock {
  /** The lock file, `<dir>/.etcd-kit.lock`. */
  readonly path: string;
  /** What the lock file says about this holder. */
  readonly holder: PkiLockHolder;
  /**
   * Removes the lock file if it still holds this holder's record; a lock someone else holds by now (after
   * a take-over or an operator's removal) is left alone. Idempotent: later calls resolve as the first did.
   */
  release(): Promise<void>;
}

/** Private like the keys beside it: it names a process and a host. */
const LOCK_FILE_MODE = KEY_FILE_MODE;

/** Creates the lock file holding `text`; false when it exists already. */
async function tryCreate(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', LOCK_FILE_MODE);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError('cannot create lock file', path, cause);
  }
  try {
    await handle.chmod(LOCK_FILE_MODE); // open's mode is masked by umask
    await handle.writeFile(text);
    await handle.sync();
  } catch (cause) {
    await handle.close().catch(() => {});
    await removeFile(path).catch(() => {}); // ours, half-written: it would block every later operation
    throw ioError('cannot write lock file', path, cause);
  }
  await handle.close();
  return true;
}

/** The record in a lock file, or undefined when the text is not one (damaged, half-written, not ours). */
function parseHolder(text: string): PkiLockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { pid, hostname: host, operation, startedAt } = value as Record<string, unknown>;
  // pid 0 and negative pids address process groups in process.kill: never a holder.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof host !== 'string' || typeof operation !== 'string' || typeof startedAt !== 'string') return undefined;
  return { pid, hostname: host, operation, startedAt };
}

/** True unless signal 0 says no such process (EPERM: it exists, it is another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Stale: left by a process of this machine that is gone. Another machine's pid says nothing here. */
const isStale = (holder: PkiLockHolder): boolean => holder.hostname === hostname() && !isAlive(holder.pid);

/**
 * Removes the stale lock file that held `staleText`. It is moved aside first (atomic) and checked: when
 * another process took the stale lock over between our read and the move, what moved is its fresh lock,
 * and it is put back (link fails rather than overwrite). False when the lock is someone else's now.
 */
async function removeStale(path: string, staleText: string): Promise<boolean> {
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return true; // gone already: free to create
    throw ioError('cannot remove stale lock file', path, cause);
  }
  const moved = await readTextIfExists(aside);
  if (moved !== staleText) await link(aside, path).catch(() => {});
  await removeFile(aside);
  return moved === staleText;
}

function lockedError(path: string, holder: PkiLockHolder | undefined): EtcdKitError {
  const message = holder
    ? `the PKI dir is in use by ${holder.operation} (pid ${holder.pid} on ${holder.hostname}, started ${holder.startedAt}): ` +
      `one etcd-kit operation at a time per PKI dir. Nothing was changed. If you know that operation is gone, remove ${path} and run again`
    : `the PKI dir's lock file ${path} exists but does not say who holds it (damaged). Nothing was changed. ` +
      `If no etcd-kit operation is using this PKI dir, remove ${path} and run again`;
  return new EtcdKitError('PKI_LOCKED', message, { field: 'pki.dir', details: { path, holder } });
}

function heldLock(path: string, holder: PkiLockHolder, text: string): PkiLock {
  let released: Promise<void> | undefined;
  return {
    path,
    holder,
    release() {
      released ??= (async () => {
        if ((await readTextIfExists(path)) === text) await removeFile(path);
      })();
      return released;
    },
  };
}

async function ensureDir(dir: string): Promise<void> {
  // Only a missing dir is made: makeDir also tightens an existing one, which is not the lock's business.
  const exists = await stat(dir).then(
    () => true,
    (cause: NodeJS.ErrnoException) => {
      if (cause.code === 'ENOENT') return false;
      throw ioError('cannot stat directory', dir, cause);
    },
  );
  if (!exists) await makeDir(dir);
}

/** A holder releasing between our failed create and our read: how many times to try again. */
const CREATE_ATTEMPTS = 3;

/**
 * Takes the lock of the PKI dir `dir`: creates `<dir>/.etcd-kit.lock` (0600, exclusively) holding
 * `{ pid, hostname, operation, startedAt }`. Creates `dir` (0700) when it does not exist yet.
 *
 * A lock file left by a process of this machine (same `os.hostname()`) that is no longer running is stale
 * and taken over; when another process takes it over first, this one refuses. A lock of another machine
 * is never taken over (its pid means nothing here), and neither is a damaged lock file: the operator
 * removes it once sure no operation is running.
 *
 * @throws EtcdKitError PKI_LOCKED (field `pki.dir`, `details: { path, holder }`, `holder` undefined for a
 * damaged file) when another operation holds the lock; PKI_INVALID_INPUT (`operation` empty); PKI_IO.
 * @example
 * ```ts
 * const lock = await acquirePkiLock('./pki', { operation: 'ca rotation' });
 * try {
 *   // change the PKI dir and the cluster
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export async function acquirePkiLock(dir: string, opts: AcquirePkiLockOptions): Promise<PkiLock> {
  if (typeof opts?.operation !== 'string' || opts.operation.trim() === '') {
    throw new EtcdKitError('PKI_INVALID_INPUT', 'operation: what the lock is taken for is required', { field: 'operation' });
  }
  const path = pkiPaths(dir).lock;
  const holder: PkiLockHolder = { pid: process.pid, hostname: hostname(), operation: opts.operation, startedAt: (opts.now ?? new Date()).toISOString() };
  const text = `${JSON.stringify(holder)}\n`; // what release compares: the exact text, not a re-parse
  await ensureDir(dir);
  for (let attempt = 1; ; attempt++) {
    if (await tryCreate(path, text)) return heldLock(path, holder, text);
    const found = await readTextIfExists(path);
    if (found === undefined) {
      if (attempt < CREATE_ATTEMPTS) continue;
      throw lockedError(path, undefined);
    }
    const other = parseHolder(found);
    if (other === undefined || !isStale(other)) throw lockedError(path, other);
    if ((await removeStale(path, found)) && (await tryCreate(path, text))) return heldLock(path, holder, text);
    // Another process took the stale lock over first: it holds the lock now.
    const winner = await readTextIfExists(path);
    throw lockedError(path, winner === undefined ? undefined : parseHolder(winner));
  }
}

/**
 * Runs `fn` holding the lock of the PKI dir `dir` ({@link acquirePkiLock} with `operation`) and releases it
 * however `fn` ends. When `fn` throws, its error is the one thrown (a failed release is not reported then).
 * @throws EtcdKitError the errors of {@link acquirePkiLock}, and whatever `fn` throws.
 * @example
 * ```ts
 * await withPkiLock('./pki', 'restore', () => restoreSomething());
 * ```
 */
export async function withPkiLock<T>(dir: string, operation: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquirePkiLock(dir, { operation });
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await lock.release().catch(() => {}); // the operation's own error is the one to report
    throw err;
  }
  await lock.release();
  return result;
}
