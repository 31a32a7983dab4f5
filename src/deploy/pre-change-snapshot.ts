/**
 * A checked snapshot on the controller before a deploy changes any member's etcd version.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type EtcdTlsOptions, saveSnapshot } from '../etcd/index.js';
import { DEFAULT_BACKUP_DIR } from './options.js';
import type { PreChangeSnapshot } from './types.js';
import { utcStamp } from '../utc-stamp.js';

/** The directory snapshots are written to, absolute. */
export function backupDirOf(backupDir: string | undefined): string {
  return resolve(backupDir ?? DEFAULT_BACKUP_DIR);
}

/** `<token>-<version>-<UTC yyyymmddThhmmssZ>.db`, every character outside `[A-Za-z0-9._-]` replaced by `_`. */
export function snapshotFileName(token: string, version: string, at: Date): string {
  return `${token}-${version}-${utcStamp(at)}.db`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Takes the snapshot with {@link saveSnapshot} (checked against etcd's own SHA-256 trailer, mode 0600,
 * atomic rename) into `dir` (created 0700 when missing). `version` is what the cluster runs now.
 */
export async function takePreChangeSnapshot(input: {
  dir: string;
  token: string;
  version: string;
  endpoints: string[];
  tls: EtcdTlsOptions;
  signal?: AbortSignal | undefined;
}): Promise<PreChangeSnapshot> {
  await mkdir(input.dir, { recursive: true, mode: 0o700 });
  const path = join(input.dir, snapshotFileName(input.token, input.version, new Date()));
  const saved = await saveSnapshot({ endpoints: input.endpoints, tls: input.tls, path, ...(input.signal ? { signal: input.signal } : {}) });
  return { path: saved.path, sha256: saved.sha256, bytes: saved.bytes, ...(saved.revision !== undefined ? { revision: saved.revision } : {}), endpoint: saved.endpoint };
}
