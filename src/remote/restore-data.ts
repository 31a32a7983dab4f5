/**
 * A member's data dir rebuilt from a snapshot, on its host: the snapshot uploaded (its hash checked on the
 * host), restored by the release's own tool into a new directory next to the data dir, the old data dir
 * moved aside whole to `<dataDir>.before-restore-<stamp>` (never deleted), the new one renamed into place
 * and given to the service account. The caller stops etcd first and decides the command (render's
 * `snapshotRestoreCommand`). Also: a stopped member's db file read back, for a recovery from it.
 * @module
 */
import { createHash } from 'node:crypto';
import { EtcdKitError } from '../errors.js';
import type { SnapshotRestoreCommand } from '../render/index.js';
import type { PreparedBundle } from './bundle.js';
import { assertManagedDir } from './bundle.js';
import { type RemoteHost, withConnection } from './host-session.js';
import { shellArgs, shellQuote } from './shell.js';
import { stageFiles } from './staging.js';
import type { RemoteCallOptions } from './types.js';

/** Exit status of the restore script when the uploaded snapshot does not hash to what was sent. */
export const RESTORE_HASH_MISMATCH_EXIT = 92;

/** A snapshot (or db file) in memory, with its hash. */
export interface SnapshotBytes {
  /** The whole file. */
  data: Buffer;
  /** Hex SHA-256 of `data`. */
  sha256: string;
}

/** Where the restore script reads and writes, for the command it runs (see {@link RestoreDataOptions.command}). */
export interface RestorePaths {
  /** The uploaded snapshot on the host. */
  snapshotPath: string;
  /** The new data dir the tool creates (next to the data dir; renamed over it afterwards). */
  dataDir: string;
}

/** Options of {@link restoreMemberData}. */
export interface RestoreDataOptions extends RemoteCallOptions {
  /** The member's bundle: its layout (`dataDir`, `binDir`) and the service account that owns the data. */
  bundle: Pick<PreparedBundle, 'layout' | 'serviceUser' | 'serviceGroup'>;
  /** The snapshot to upload. */
  snapshot: SnapshotBytes;
  /** The restore command for these paths (render's `snapshotRestoreCommand`). */
  command: (paths: RestorePaths) => SnapshotRestoreCommand;
  /** Suffix of the moved-aside data dir, `<dataDir>.before-restore-<stamp>`: letters, digits, dashes. */
  stamp: string;
  /** Where {@link uploadSnapshot} put `snapshot` already (it is not sent again). Default: uploaded now. */
  uploaded?: UploadedSnapshot;
}

/** A snapshot uploaded to a host by {@link uploadSnapshot}. */
export interface UploadedSnapshot {
  /** Its path on the host (named by its SHA-256, in etcd-kit's staging directory). */
  path: string;
  /** Bytes sent. */
  bytesSent: number;
  /** Its SHA-256 was checked on the host after the upload (the restore does not hash it again). */
  checked: boolean;
}

/**
 * Uploads a snapshot into the host's staging directory (named by its SHA-256; checked on the host by
 * {@link restoreMemberData}). Changes nothing else: it can run while etcd still serves.
 */
export async function uploadSnapshot(target: RemoteHost, snapshot: SnapshotBytes, options: RemoteCallOptions & { label?: string } = {}): Promise<UploadedSnapshot> {
  return withConnection(target, options, async (conn) => {
    const staged = await stageFiles(conn, [{ path: options.label ?? 'snapshot', ...snapshot }], options.signal ? { signal: options.signal } : {});
    const path = `${staged.dir}/${snapshot.sha256}`;
    // Checked right away, while etcd still serves: the restore itself then needs no second pass.
    await conn.run(`${checkLine(snapshot.sha256, path)}\n`, { label: 'check the uploaded snapshot', privileged: false, ...(options.signal ? { signal: options.signal } : {}) });
    return { path, bytesSent: staged.bytesSent, checked: true };
  });
}

function checkLine(sha256: string, path: string): string {
  return `printf '%s  %s\\n' ${shellQuote(sha256)} ${shellQuote(path)} | sha256sum -c --status || { echo 'the uploaded snapshot does not match its checksum' >&2; exit ${RESTORE_HASH_MISMATCH_EXIT}; }`;
}

/** What {@link restoreMemberData} did. */
export interface RestoreDataReport {
  /** Host as given in the target. */
  host: string;
  /** Where the old data dir went; undefined when it was empty or missing. */
  movedAside: string | undefined;
  /** Bytes uploaded. */
  bytesSent: number;
}

/** The privileged script of {@link restoreMemberData}. Pure, for tests. */
export function restoreDataScript(input: {
  dataDir: string;
  snapshotPath: string;
  sha256: string;
  newDir: string;
  command: SnapshotRestoreCommand;
  owner: string;
  aside: string;
  /** The upload was checked already: no second hash pass inside the downtime. Default: false. */
  checked?: boolean;
}): string {
  const q = shellQuote;
  const d = q(input.dataDir);
  const env = Object.entries(input.command.env).map(([k, v]) => `${k}=${q(v)}`);
  return [
    'set -eu',
    'export LC_ALL=C',
    ...(input.checked ? [] : [checkLine(input.sha256, input.snapshotPath)]),
    `rm -rf -- ${q(input.newDir)}`,
    // The tool's chatter goes to stderr: on failure it is the error message.
    `(cd / && ${env.length > 0 ? `env ${env.join(' ')} ` : ''}${q(input.command.path)} ${shellArgs(input.command.args)}) >&2`,
    `chown -R ${q(input.owner)} -- ${q(input.newDir)}`,
    `chmod 0700 -- ${q(input.newDir)}`,
    `if [ -d ${d} ] && [ -n "$(ls -A ${d})" ]; then`,
    `  [ ! -e ${q(input.aside)} ] || { echo ${q(`${input.aside} exists already`)} >&2; exit 1; }`,
    `  mv -- ${d} ${q(input.aside)}`,
    `  echo "@aside "${q(input.aside)}`,
    `elif [ -d ${d} ]; then rmdir -- ${d}; fi`,
    `mv -- ${q(input.newDir)} ${d}`,
    `sync -- ${d} 2>/dev/null || sync`,
    `rm -f -- ${q(input.snapshotPath)}`,
    '',
  ].join('\n');
}

/**
 * Rebuilds the member's data dir from `snapshot` (see the module comment). Run it with etcd stopped.
 * Throws `SSH_COMMAND_FAILED` with the tool's own message when the restore fails; the old data dir is
 * then still in place, untouched.
 *
 * @example
 * ```ts
 * const { movedAside } = await restoreMemberData(conn, { bundle, snapshot, stamp, command: (p) => snapshotRestoreCommand({ ...input, ...p }) });
 * ```
 */
export async function restoreMemberData(target: RemoteHost, options: RestoreDataOptions): Promise<RestoreDataReport> {
  const { layout } = options.bundle;
  assertManagedDir('layout.dataDir', layout.dataDir);
  if (!/^[0-9A-Za-z-]+$/.test(options.stamp)) throw new EtcdKitError('INVALID_ARGUMENT', 'stamp: letters, digits and dashes only', { field: 'stamp' });
  return withConnection(target, options, async (conn) => {
    const staged = options.uploaded ?? (await uploadSnapshot(conn, options.snapshot, { ...options, label: `${layout.dataDir} (snapshot)` }));
    const paths = { snapshotPath: staged.path, dataDir: `${layout.dataDir}.restore-${options.stamp}` };
    const script = restoreDataScript({
      dataDir: layout.dataDir,
      snapshotPath: paths.snapshotPath,
      sha256: options.snapshot.sha256,
      newDir: paths.dataDir,
      command: options.command(paths),
      owner: `${options.bundle.serviceUser}:${options.bundle.serviceGroup}`,
      aside: `${layout.dataDir}.before-restore-${options.stamp}`,
      checked: staged.checked,
    });
    const result = await conn.run(script, { label: 'snapshot restore', privileged: true, ...(options.signal ? { signal: options.signal } : {}) });
    const line = result.stdout.split('\n').find((l) => l.startsWith('@aside '));
    return { host: conn.host, movedAside: line?.slice('@aside '.length), bytesSent: options.uploaded ? 0 : staged.bytesSent };
  });
}

/** Options of {@link readMemberDb}. */
export interface ReadMemberDbOptions extends RemoteCallOptions {
  /** The member's bundle: its layout's `dataDir`. */
  bundle: Pick<PreparedBundle, 'layout'>;
}

/**
 * A stopped member's database file (`<dataDir>/member/snap/db`) read back to the controller: what a
 * recovery from a member that can no longer serve a snapshot restores from (with the hash check skipped,
 * as etcd documents for a copied db). Throws `SSH_COMMAND_FAILED` when there is no db.
 */
export async function readMemberDb(target: RemoteHost, options: ReadMemberDbOptions): Promise<SnapshotBytes> {
  const db = `${options.bundle.layout.dataDir}/member/snap/db`;
  return withConnection(target, options, async (conn) => {
    // base64 keeps the bytes intact through the text channel of run().
    const result = await conn.run(`set -eu\n[ -f ${shellQuote(db)} ] || { echo 'no etcd database at ${db}' >&2; exit 1; }\nbase64 -w0 -- ${shellQuote(db)}\n`, {
      label: 'read the member database',
      privileged: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const data = Buffer.from(result.stdout.trim(), 'base64');
    return { data, sha256: createHash('sha256').update(data).digest('hex') };
  });
}
