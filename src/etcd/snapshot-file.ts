/**
 * Checking a snapshot file on the controller before it is restored anywhere: etcd appends the SHA-256 of
 * the database to every snapshot it streams (what `saveSnapshot` and `etcdctl snapshot save` write) and
 * `snapshot restore` refuses a file whose trailer does not match. Checked here first, so a damaged file
 * stops the restore before any host is touched. No network.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EtcdKitError } from '../errors.js';

const TRAILER_BYTES = 32;

/**
 * A snapshot file read and checked by {@link readSnapshotFile}.
 * @category etcd client
 */
export interface SnapshotFile {
  /** The path read. */
  path: string;
  /** The whole file. */
  data: Buffer;
  /** Hex SHA-256 of the whole file (what `sha256sum` prints). */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
  /** The file ends with the SHA-256 of the rest (an etcd snapshot); false for a db copied from a data dir. */
  hasIntegrityTrailer: boolean;
}

/**
 * Options of {@link readSnapshotFile}.
 * @category etcd client
 */
export interface ReadSnapshotFileOptions {
  /** Accept a file without a valid trailer (a db copied from a data dir; restored with `--skip-hash-check`). Default: false. */
  skipHashCheck?: boolean;
}

/**
 * Reads a snapshot file and checks etcd's SHA-256 trailer. Throws `SNAPSHOT_INVALID` (with the path) for a
 * damaged or truncated file unless `skipHashCheck`, `INVALID_ARGUMENT` (field `snapshot`) when it cannot
 * be read.
 *
 * @example
 * ```ts
 * const snap = await readSnapshotFile('backups/etcd-20261201T030000Z.db');
 * console.log(snap.bytes, snap.sha256);
 * ```
 * @category etcd client
 */
export async function readSnapshotFile(path: string, options: ReadSnapshotFileOptions = {}): Promise<SnapshotFile> {
  if (typeof path !== 'string' || path === '') throw new EtcdKitError('INVALID_ARGUMENT', 'snapshot: a file name is required', { field: 'snapshot' });
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new EtcdKitError('INVALID_ARGUMENT', `snapshot: cannot read ${path}: ${(err as Error).message}`, { field: 'snapshot', cause: err });
  }
  const trailerOk = data.length > TRAILER_BYTES && createHash('sha256').update(data.subarray(0, data.length - TRAILER_BYTES)).digest().equals(data.subarray(data.length - TRAILER_BYTES));
  if (!trailerOk && !options.skipHashCheck) {
    throw new EtcdKitError(
      'SNAPSHOT_INVALID',
      `snapshot ${path} is damaged: ${data.length <= TRAILER_BYTES ? `only ${data.length} bytes` : 'its SHA-256 trailer does not match its content'} (a db file copied from a data dir has no trailer: recover from it instead)`,
      { details: { path, bytes: data.length } },
    );
  }
  return { path, data, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length, hasIntegrityTrailer: trailerOk };
}
