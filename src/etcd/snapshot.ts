/**
 * Backups: a consistent snapshot of the whole key space streamed from one member into a local file,
 * checked against the SHA-256 etcd appends to the stream, written 0600 (it holds every secret in the
 * cluster) and put in place atomically.
 * @module
 */
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { AbortedError, classifyEtcdError, DeadlineReachedError } from './classify.js';
import { createEndpointClient } from './client.js';
import { type EtcdConnectOptions, type EtcdTlsOptions, resolveConnectOptions } from './options.js';

/**
 * Options of {@link saveSnapshot}.
 * @category etcd client
 */
export interface SaveSnapshotOptions extends EtcdConnectOptions {
  /** File to write. Created with mode 0600; an existing file is replaced only once the new snapshot is complete and checked. */
  path: string;
  /** Longest time for the whole transfer from one member, in ms. Default: 300000 (5 min). */
  timeoutMs?: number;
  /** Aborts the transfer (rejects with `ABORTED`; no file is left behind). */
  signal?: AbortSignal;
}

/**
 * What {@link saveSnapshot} wrote.
 * @category etcd client
 */
export interface SnapshotResult {
  /** The snapshot file. */
  path: string;
  /** Endpoint the snapshot came from (the first one, in the order given, that served it). */
  endpoint: string;
  /** Size of the file in bytes (etcd's bbolt database plus its 32-byte SHA-256 trailer). */
  bytes: number;
  /**
   * Revision of the key-value store when the snapshot was taken (decimal), from the stream's response
   * header: etcd 3.5+ sends it, 3.4 does not (undefined; `etcdctl snapshot status` reads it from the file).
   */
  revision?: string;
  /** Hex SHA-256 of the whole file, to record next to it. */
  sha256: string;
  /** Endpoints that failed before one served the snapshot, with the reason. */
  skipped: {
    /** The endpoint. */
    endpoint: string;
    /** Why it could not serve the snapshot. */
    error: EtcdKitError;
  }[];
  /** Wall time in ms. */
  durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const TRAILER_BYTES = 32;
const MAX_PENDING_WRITES = 16;

/**
 * Checks a snapshot stream as it arrives: etcd's Maintenance.Snapshot ends with the SHA-256 of everything
 * before it (what `etcdctl snapshot restore` verifies). Feed every chunk to {@link update}; {@link ok}
 * tells whether the stream was complete. The 32-byte trailer may span chunks, so the last 32 bytes seen
 * are held back from the body hash until more data arrives.
 */
export class SnapshotDigest {
  readonly #whole = createHash('sha256');
  readonly #body = createHash('sha256');
  #held = Buffer.alloc(0);
  #bytes = 0;

  /** Adds the next chunk of the stream. */
  update(chunk: Buffer): void {
    this.#whole.update(chunk);
    this.#bytes += chunk.length;
    const joined = Buffer.concat([this.#held, chunk]);
    const keep = Math.min(TRAILER_BYTES, joined.length);
    this.#body.update(joined.subarray(0, joined.length - keep));
    this.#held = joined.subarray(joined.length - keep);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Ends the stream: whether its trailer matches its body, and the SHA-256 of the whole stream (hex). */
  finish(): { ok: boolean; sha256: string } {
    const ok = this.#held.length === TRAILER_BYTES && this.#body.digest().equals(this.#held);
    return { ok, sha256: this.#whole.digest('hex') };
  }
}

interface StreamedSnapshot {
  bytes: number;
  revision?: string;
  sha256: string;
}

/** Streams one member's snapshot into `tmp` (already created 0600), verifying the trailer on the way. */
async function streamTo(tmp: string, endpoint: string, options: SaveSnapshotOptions, tls: EtcdTlsOptions): Promise<StreamedSnapshot> {
  const client = createEndpointClient(endpoint, tls);
  const file = await open(tmp, 'w', 0o600);
  try {
    const stream = await client.maintenance.snapshot();
    const digest = new SnapshotDigest();
    let revision: string | undefined;
    let writing = Promise.resolve();
    let pending = 0;
    // A Node readable underneath: paused while the disk is behind, so a large database never piles up in memory.
    const flow = stream as unknown as { cancel?: () => void; pause?: () => void; resume?: () => void };
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const finish = (err?: Error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const cancel = (err: Error) => {
        flow.cancel?.();
        finish(err);
      };
      const timer = setTimeout(() => cancel(new DeadlineReachedError(timeoutMs)), timeoutMs);
      const onAbort = () => cancel(new AbortedError());
      options.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (chunk) => {
        const rev = chunk.header?.revision;
        if (revision === undefined && rev !== undefined && String(rev) !== '0') revision = String(rev);
        const blob = Buffer.from(chunk.blob);
        digest.update(blob);
        if (++pending >= MAX_PENDING_WRITES) flow.pause?.();
        writing = writing.then(async () => {
          await file.write(blob);
          if (--pending < MAX_PENDING_WRITES) flow.resume?.();
        });
        writing.catch(cancel);
      });
      stream.on('error', finish);
      stream.on('end', () => writing.then(() => finish(), finish));
    });
    const { ok, sha256 } = digest.finish();
    if (!ok) {
      throw new EtcdKitError('ETCD_SNAPSHOT_FAILED', `${endpoint}: the snapshot does not match the SHA-256 etcd sent with it (truncated or corrupted)`, {
        details: { endpoint, bytes: digest.bytes },
      });
    }
    await file.sync();
    return { bytes: digest.bytes, ...(revision === undefined ? {} : { revision }), sha256 };
  } finally {
    await file.close();
    client.close();
  }
}

/**
 * Saves a snapshot of the cluster's whole key space to `path` (what `etcdctl snapshot save` does, and
 * what `etcdctl snapshot restore` reads). Tries the endpoints in order until one serves a complete
 * snapshot; each is checked against the SHA-256 etcd appends, synced, and renamed over `path` only
 * then, mode 0600. Rejects with the last endpoint's error (`ETCD_UNREACHABLE`, `ETCD_TIMEOUT`,
 * `ETCD_TLS_*`, `ETCD_SNAPSHOT_FAILED`) when none can, or `ABORTED`.
 *
 * @example
 * ```ts
 * import { saveSnapshot } from 'etcd-kit';
 * const snap = await saveSnapshot({ endpoints, tls, path: `backup-${Date.now()}.db` });
 * console.log(`${snap.path}: ${snap.bytes} bytes from ${snap.endpoint}, sha256 ${snap.sha256}`);
 * ```
 * @category etcd client
 */
export async function saveSnapshot(options: SaveSnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const { endpoints, tls } = resolveConnectOptions(options);
  if (typeof options.path !== 'string' || options.path === '') {
    throw new EtcdKitError('INVALID_ARGUMENT', 'path: a file name is required', { field: 'path' });
  }
  const tmp = join(dirname(options.path), `.${basename(options.path)}.etcd-kit-partial-${process.pid}`);
  const skipped: SnapshotResult['skipped'] = [];
  for (const { url } of endpoints) {
    if (options.signal?.aborted) break;
    try {
      const streamed = await streamTo(tmp, url, options, tls);
      await rename(tmp, options.path);
      await syncDir(dirname(options.path));
      return { path: options.path, endpoint: url, ...streamed, skipped, durationMs: performance.now() - started };
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof AbortedError || options.signal?.aborted) break;
      skipped.push({ endpoint: url, error: asSnapshotError(err, url) });
    }
  }
  if (options.signal?.aborted) throw new EtcdKitError('ABORTED', 'snapshot aborted', { cause: options.signal.reason });
  const last = skipped.at(-1)!.error;
  throw new EtcdKitError(last.code, `no endpoint served a snapshot: ${skipped.map((s) => s.error.message).join('; ')}`, {
    cause: last,
    details: { skipped: skipped.map((s) => ({ endpoint: s.endpoint, code: s.error.code })) },
  });
}

function asSnapshotError(err: unknown, endpoint: string): EtcdKitError {
  if (err instanceof EtcdKitError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && (err as NodeJS.ErrnoException).syscall !== undefined) {
    return new EtcdKitError('ETCD_SNAPSHOT_FAILED', `cannot write the snapshot file: ${(err as Error).message}`, { cause: err, details: { endpoint } });
  }
  return classifyEtcdError(err, { endpoint, operation: 'snapshot' });
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
