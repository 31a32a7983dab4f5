/**
 * Fetches an etcd release tarball once onto the controller, verifies its SHA-256 and caches it by that
 * checksum, so hosts only ever receive bytes that were checked (etcdadm #116) and offline re-runs work.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EtcdKitError } from '../errors.js';
import { sha256OfFile } from './hash.js';

/** Options of {@link fetchVerifiedTarball}. */
export interface FetchTarballOptions {
  /** Cache directory. Default: `$XDG_CACHE_HOME/etcd-kit/downloads` or `~/.cache/etcd-kit/downloads`. */
  cacheDir?: string;
  /** Cancels the download. */
  signal?: AbortSignal;
  /** Called with downloaded byte counts. */
  onProgress?: (event: { bytes: number; totalBytes: number | undefined; cached: boolean }) => void;
}

/** What {@link fetchVerifiedTarball} did. */
export interface FetchedTarball {
  /** Path of the verified tarball in the cache. */
  path: string;
  /** True when it came from the cache (no download). */
  cached: boolean;
  /** Bytes downloaded (0 when cached). */
  bytes: number;
}

/** The default download cache directory. */
export function defaultDownloadCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache');
  return join(base, 'etcd-kit', 'downloads');
}

function fileNameOf(url: string): string {
  const name = basename(new URL(url).pathname);
  return /^[A-Za-z0-9._+-]+$/.test(name) && name !== '' ? name : 'etcd.tar.gz';
}

/**
 * Downloads `url` into the cache unless a file with the expected SHA-256 is already there. A checksum
 * mismatch (`CHECKSUM_MISMATCH`) or a short/failed download (`DOWNLOAD_FAILED`) leaves nothing in the cache.
 *
 * @example
 * ```ts
 * const { path } = await fetchVerifiedTarball('https://example.org/etcd-v3.6.14-linux-amd64.tar.gz', '<64 hex>');
 * ```
 */
export async function fetchVerifiedTarball(url: string, sha256: string, options: FetchTarballOptions = {}): Promise<FetchedTarball> {
  const expected = sha256.toLowerCase();
  const dir = join(options.cacheDir ?? defaultDownloadCacheDir(), expected);
  const path = join(dir, fileNameOf(url));
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isFile() && (await sha256OfFile(path)) === expected) {
    options.onProgress?.({ bytes: existing.size, totalBytes: existing.size, cached: true });
    return { path, cached: true, bytes: 0 };
  }

  await mkdir(dir, { recursive: true, mode: 0o755 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.part`;
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: options.signal ?? null, redirect: 'follow' });
    } catch (err) {
      if (options.signal?.aborted) throw new EtcdKitError('ABORTED', `download of ${url} aborted`, { cause: err });
      throw new EtcdKitError('DOWNLOAD_FAILED', `cannot download ${url}: ${(err as Error).message}`, { field: 'etcd.url', cause: err });
    }
    if (!response.ok || !response.body) {
      throw new EtcdKitError('DOWNLOAD_FAILED', `cannot download ${url}: HTTP ${response.status}`, { field: 'etcd.url' });
    }
    const lengthHeader = response.headers.get('content-length');
    const totalBytes = lengthHeader ? Number(lengthHeader) : undefined;
    const hash = createHash('sha256');
    let bytes = 0;
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      options.onProgress?.({ bytes, totalBytes, cached: false });
    });
    try {
      await pipeline(body, createWriteStream(temp, { mode: 0o644 }));
    } catch (err) {
      if (options.signal?.aborted) throw new EtcdKitError('ABORTED', `download of ${url} aborted`, { cause: err });
      throw new EtcdKitError('DOWNLOAD_FAILED', `download of ${url} failed after ${bytes} bytes: ${(err as Error).message}`, {
        field: 'etcd.url',
        cause: err,
      });
    }
    if (totalBytes !== undefined && bytes !== totalBytes) {
      throw new EtcdKitError('DOWNLOAD_FAILED', `download of ${url} is truncated: ${bytes} of ${totalBytes} bytes`, { field: 'etcd.url' });
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new EtcdKitError('CHECKSUM_MISMATCH', `sha256 of ${url} is ${actual}, the spec expects ${expected}`, {
        field: 'etcd.sha256',
        details: { expected, actual, bytes },
      });
    }
    await rename(temp, path);
    return { path, cached: false, bytes };
  } finally {
    await rm(temp, { force: true });
  }
}
