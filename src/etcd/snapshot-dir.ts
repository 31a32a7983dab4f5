/**
 * Scheduled backups: a checked snapshot into a directory under a timestamped name, its `sha256sum` line
 * next to it, and the oldest snapshots of the same prefix pruned once the new one is complete.
 * @module
 */
import { lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { utcStamp } from '../utc-stamp.js';
import type { EtcdConnectOptions } from './options.js';
import { resolveConnectOptions } from './options.js';
import { type SnapshotResult, saveSnapshot } from './snapshot.js';

/**
 * Options of {@link saveSnapshotToDir}.
 * @category etcd client
 */
export interface SaveSnapshotToDirOptions extends EtcdConnectOptions {
  /**
   * Directory the snapshots live in. Created with mode 0700 (and its missing parents) when it does not
   * exist; an existing directory is used as it is (its mode is not changed). Required.
   */
  dir: string;
  /**
   * How many snapshots of this {@link SaveSnapshotToDirOptions.prefix} to keep, the new one included: an integer ≥ 1. Once the new
   * snapshot and its `.sha256` file are complete, older snapshots beyond this count are deleted (oldest
   * first, by the time in their names), each with its `.sha256` file. The snapshot just written is never
   * deleted, even when the clock went back. Default: undefined (nothing is deleted).
   */
  keep?: number;
  /**
   * Start of every file name: `<prefix>-<UTC yyyymmddThhmmssZ>.db` (e.g. the cluster name). 1–128
   * characters of `[A-Za-z0-9._-]`, starting with a letter or digit. Only files with exactly this prefix and
   * the timestamp pattern count as snapshots for {@link SaveSnapshotToDirOptions.keep}: other files in `dir` are never touched.
   * Default: `'etcd-snapshot'`.
   */
  prefix?: string;
  /** Time written into the file name (UTC, whole seconds). Default: the current time. */
  now?: Date;
  /** Longest time for the whole transfer from one member, in ms (as {@link SaveSnapshotOptions.timeoutMs}). Default: 300000 (5 min). */
  timeoutMs?: number;
  /** Aborts the transfer (rejects with `ABORTED`; no snapshot is written and nothing is deleted). */
  signal?: AbortSignal;
}

/**
 * What {@link saveSnapshotToDir} wrote and deleted.
 * @category etcd client
 */
export interface SnapshotDirResult extends SnapshotResult {
  /** The `sha256sum` file next to the snapshot (`<path>.sha256`, mode 0600): `sha256sum -c` in `dir` checks it. */
  sha256File: string;
  /** Snapshot files deleted by {@link SaveSnapshotToDirOptions.keep} (paths in `dir`, oldest first); each one's `.sha256` file went with it. */
  pruned: string[];
  /** Partial files of this prefix left by earlier runs that were interrupted (paths in `dir`), deleted. */
  partialsRemoved: string[];
}

const DEFAULT_PREFIX = 'etcd-snapshot';
const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `2026-12-01T12:34:56.789Z` → `20261201T123456Z` (the stamp of every etcd-kit file name). */
export const snapshotStamp = utcStamp;

/** `<prefix>-<stamp>.db`, or `<prefix>-<stamp>-<seq>.db` for `seq` ≥ 1 (a name already taken). */
export function snapshotDirFileName(prefix: string, at: Date, seq = 0): string {
  return `${prefix}-${snapshotStamp(at)}${seq > 0 ? `-${seq}` : ''}.db`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A snapshot file name of `prefix`, split into its sort keys. */
export interface ParsedSnapshotName {
  /** The file name. */
  name: string;
  /** `yyyymmddThhmmssZ`. */
  stamp: string;
  /** 0 without a suffix, else the `-<n>` suffix. */
  seq: number;
}

/** Parses `name` when it is exactly `<prefix>-<yyyymmddThhmmssZ>[-<n>].db`; undefined for any other name. */
export function parseSnapshotName(prefix: string, name: string): ParsedSnapshotName | undefined {
  const match = new RegExp(`^${escapeRegExp(prefix)}-(\\d{8}T\\d{6}Z)(?:-([1-9]\\d{0,8}))?\\.db$`).exec(name);
  if (!match) return undefined;
  return { name, stamp: match[1]!, seq: match[2] === undefined ? 0 : Number(match[2]) };
}

/** True for a partial file a run of `prefix` leaves while writing (`.<snapshot name>[.sha256].etcd-kit-partial-<pid>`). */
export function isPartialOf(prefix: string, name: string): boolean {
  const match = /^\.(.+?\.db)(?:\.sha256)?\.etcd-kit-partial-\d+$/.exec(name);
  return match !== null && parseSnapshotName(prefix, match[1]!) !== undefined;
}

/**
 * Which snapshot files of `prefix` among `names` to delete so that `keep` remain, `current` (the one
 * just written) always among them: the others are ordered newest first by the time in their names (then
 * the suffix), the newest `keep - 1` stay. Returned oldest first. Names that are not snapshots of
 * `prefix` are never returned.
 */
export function snapshotsToPrune(prefix: string, names: readonly string[], keep: number, current: string): string[] {
  const others = names
    .filter((n) => n !== current)
    .map((n) => parseSnapshotName(prefix, n))
    .filter((p): p is ParsedSnapshotName => p !== undefined)
    .sort((a, b) => (a.stamp === b.stamp ? b.seq - a.seq : a.stamp < b.stamp ? 1 : -1));
  return others
    .slice(Math.max(0, keep - 1))
    .reverse()
    .map((p) => p.name);
}

/** A name in `names` for a snapshot taken at `at` that no snapshot (nor its `.sha256`) has yet. */
export function freeSnapshotName(prefix: string, at: Date, names: ReadonlySet<string>): string {
  for (let seq = 0; ; seq++) {
    const name = snapshotDirFileName(prefix, at, seq);
    if (!names.has(name) && !names.has(`${name}.sha256`)) return name;
  }
}

interface ResolvedDirOptions {
  dir: string;
  keep: number | undefined;
  prefix: string;
  now: Date;
}

function resolveDirOptions(options: SaveSnapshotToDirOptions): ResolvedDirOptions {
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new EtcdKitError('INVALID_ARGUMENT', 'dir: a directory is required', { field: 'dir' });
  }
  const { keep } = options;
  if (keep !== undefined && !(typeof keep === 'number' && Number.isInteger(keep) && keep >= 1)) {
    throw new EtcdKitError('INVALID_ARGUMENT', `keep: must be an integer ≥ 1 (got ${String(keep)})`, { field: 'keep' });
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new EtcdKitError('INVALID_ARGUMENT', `prefix: must be 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit (got ${JSON.stringify(prefix)})`, {
      field: 'prefix',
    });
  }
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new EtcdKitError('INVALID_ARGUMENT', 'now: must be a valid Date', { field: 'now' });
  }
  return { dir: options.dir, keep, prefix, now };
}

function fileError(what: string, err: unknown, details: Record<string, unknown>): EtcdKitError {
  return new EtcdKitError('ETCD_SNAPSHOT_FAILED', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details });
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `<path>.sha256` (one `sha256sum` line naming the file by its base name), 0600, atomically. */
async function writeChecksumFile(dir: string, name: string, sha256: string): Promise<string> {
  const target = join(dir, `${name}.sha256`);
  const tmp = join(dir, `.${name}.sha256.etcd-kit-partial-${process.pid}`);
  try {
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(`${sha256}  ${name}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, target);
    await syncDir(dir);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return target;
}

/** Deletes a file, tolerating one already gone (another run pruning the same directory). */
async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Regular files among `names` (symlinks, directories and anything else are left alone). */
async function regularFiles(dir: string, names: string[]): Promise<Set<string>> {
  const files = new Set<string>();
  for (const name of names) {
    try {
      if ((await lstat(join(dir, name))).isFile()) files.add(name);
    } catch {
      // gone meanwhile
    }
  }
  return files;
}

/**
 * Saves a checked snapshot into `dir` as `<prefix>-<UTC yyyymmddThhmmssZ>.db` (what a systemd timer or
 * cron job runs): {@link saveSnapshot} streams it from the first endpoint that serves it, checks it against
 * the SHA-256 etcd appends, writes it 0600 and renames it into place; a name that already exists gets
 * `-1`, `-2`, ... (nothing is overwritten). Then `<file>.sha256` (one `sha256sum` line, 0600) is written
 * next to it. Only after both are complete: snapshots of the same prefix beyond `keep` are deleted
 * (oldest first, each with its `.sha256`), and partial files of this prefix older than the run (left by an
 * interrupted run) are removed. A failed or aborted save deletes nothing.
 *
 * Every option is checked before any connection (`INVALID_ARGUMENT` naming the field: `dir`, `keep`,
 * `prefix`, `now`, `endpoints`, `tls`). Rejects as {@link saveSnapshot} does when no endpoint serves a
 * snapshot, and with `ETCD_SNAPSHOT_FAILED` when a file in `dir` cannot be written or deleted.
 *
 * @example
 * ```ts
 * import { saveSnapshotToDir } from 'etcd-kit';
 * const snap = await saveSnapshotToDir({ endpoints, tls, dir: '/var/backups/etcd', keep: 24, prefix: 'prod' });
 * console.log(`${snap.path} (sha256 ${snap.sha256}); deleted ${snap.pruned.join(', ') || 'nothing'}`);
 * ```
 * @category etcd client
 */
export async function saveSnapshotToDir(options: SaveSnapshotToDirOptions): Promise<SnapshotDirResult> {
  const startedAt = Date.now();
  // Checked here, before the directory is created; saveSnapshot resolves them again.
  resolveConnectOptions(options);
  const { dir, keep, prefix, now } = resolveDirOptions(options);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fileError(`cannot create the backup directory ${dir}`, err, { dir });
  }
  let before: string[];
  try {
    before = await readdir(dir);
  } catch (err) {
    throw fileError(`cannot read the backup directory ${dir}`, err, { dir });
  }
  const name = freeSnapshotName(prefix, now, new Set(before));
  const path = join(dir, name);
  const snap = await saveSnapshot({
    endpoints: options.endpoints,
    tls: options.tls,
    path,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  let sha256File: string;
  try {
    sha256File = await writeChecksumFile(dir, name, snap.sha256);
  } catch (err) {
    throw fileError(`snapshot saved at ${path}, but its .sha256 file could not be written (nothing was pruned)`, err, { path });
  }
  const pruned: string[] = [];
  const partialsRemoved: string[] = [];
  try {
    const files = await regularFiles(dir, await readdir(dir));
    if (keep !== undefined) {
      for (const old of snapshotsToPrune(prefix, [...files], keep, name)) {
        await removeFile(join(dir, old));
        if (files.has(`${old}.sha256`)) await removeFile(join(dir, `${old}.sha256`));
        pruned.push(join(dir, old));
      }
    }
    for (const partial of [...files].filter((f) => isPartialOf(prefix, f))) {
      const full = join(dir, partial);
      const st = await lstat(full).catch(() => undefined);
      if (st && st.mtimeMs < startedAt) {
        await removeFile(full);
        partialsRemoved.push(full);
      }
    }
  } catch (err) {
    throw fileError(`snapshot saved at ${path}, but old snapshots could not be deleted`, err, { path, pruned });
  }
  return { ...snap, sha256File, pruned, partialsRemoved };
}
