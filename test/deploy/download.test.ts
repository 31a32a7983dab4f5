// fetchVerifiedTarball against a real HTTP server on 127.0.0.1.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchVerifiedTarball } from '../../src/deploy/download.js';
import { rejection } from '../helpers/rejection.js';

const payload = randomBytes(300_000);
const sha = createHash('sha256').update(payload).digest('hex');
const hits: string[] = [];
let server: Server;
let base: string;
const cacheRoot = mkdtempSync(join(tmpdir(), 'etcd-kit-dl-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/etcd-v3.4.23-linux-amd64.tar.gz') {
      res.writeHead(200, { 'content-length': payload.length });
      res.end(payload);
    } else if (req.url === '/truncated.tar.gz') {
      // Promise the whole file, send half, then hang up: a broken mirror or a dropped connection.
      res.writeHead(200, { 'content-length': payload.length });
      res.write(payload.subarray(0, payload.length / 2), () => res.socket?.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  rmSync(cacheRoot, { recursive: true, force: true });
});


describe('fetchVerifiedTarball', () => {
  it('downloads, verifies and caches; the second call does not download', async () => {
    const cacheDir = join(cacheRoot, 'ok');
    const first = await fetchVerifiedTarball(`${base}/etcd-v3.4.23-linux-amd64.tar.gz`, sha.toUpperCase(), { cacheDir });
    expect(first.cached).toBe(false);
    expect(first.bytes).toBe(payload.length);
    expect(first.path).toBe(join(cacheDir, sha, 'etcd-v3.4.23-linux-amd64.tar.gz'));
    expect(readFileSync(first.path).equals(payload)).toBe(true);
    const before = hits.length;
    const second = await fetchVerifiedTarball(`${base}/etcd-v3.4.23-linux-amd64.tar.gz`, sha, { cacheDir });
    expect(second).toEqual({ path: first.path, cached: true, bytes: 0 });
    expect(hits.length).toBe(before);
  });

  it('refuses a wrong checksum and leaves nothing in the cache', async () => {
    const cacheDir = join(cacheRoot, 'wrong');
    const wrong = 'f'.repeat(64);
    const err = await rejection(fetchVerifiedTarball(`${base}/etcd-v3.4.23-linux-amd64.tar.gz`, wrong, { cacheDir }));
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.field).toBe('etcd.sha256');
    expect(err.details).toMatchObject({ expected: wrong, actual: sha });
    expect(readdirSync(join(cacheDir, wrong))).toEqual([]);
  });

  it('refuses a truncated download and leaves nothing in the cache', async () => {
    const cacheDir = join(cacheRoot, 'trunc');
    const err = await rejection(fetchVerifiedTarball(`${base}/truncated.tar.gz`, sha, { cacheDir }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(readdirSync(join(cacheDir, sha))).toEqual([]);
  });

  it('reports HTTP errors as DOWNLOAD_FAILED', async () => {
    const err = await rejection(fetchVerifiedTarball(`${base}/missing.tar.gz`, sha, { cacheDir: join(cacheRoot, '404') }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toContain('404');
  });

  it('replaces a corrupted cache entry by downloading again', async () => {
    const cacheDir = join(cacheRoot, 'ok');
    const { path } = await fetchVerifiedTarball(`${base}/etcd-v3.4.23-linux-amd64.tar.gz`, sha, { cacheDir });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, 'corrupted');
    const before = hits.length;
    const again = await fetchVerifiedTarball(`${base}/etcd-v3.4.23-linux-amd64.tar.gz`, sha, { cacheDir });
    expect(again.cached).toBe(false);
    expect(hits.length).toBe(before + 1);
    expect(readFileSync(path).equals(payload)).toBe(true);
  });
});
