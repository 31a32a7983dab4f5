/**
 * Unpacking a release tarball costs ~0.4 s of gunzip for ~40 MB of binaries, on every run. The unpacked,
 * hashed binaries are kept twice: in memory for repeated deploys in one process (tests, tools, loops),
 * and on disk keyed by the tarball's SHA-256 so a CLI re-run reads plain files instead of inflating.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PreparedBinaries, prepareBinaries } from '../remote/index.js';
import { sha256Hex, sha256OfFile } from './hash.js';

interface Manifest {
  version: string | undefined;
  arch: string;
  files: { name: string; sha256: string }[];
}

const memory = new Map<string, PreparedBinaries>();

async function fromDisk(dir: string): Promise<PreparedBinaries | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  const files = await Promise.all(
    manifest.files.map(async (f) => {
      const data = await readFile(join(dir, f.name));
      // Trust nothing on disk blindly: a cached binary must still hash to what the tarball held.
      if (sha256Hex(data) !== f.sha256) return undefined;
      return { name: f.name, data, sha256: f.sha256 };
    }),
  ).catch(() => undefined);
  if (!files || files.some((f) => f === undefined)) return undefined;
  return { kind: 'prepared-binaries', version: manifest.version, arch: manifest.arch, files: files as PreparedBinaries['files'] };
}

async function toDisk(dir: string, binaries: PreparedBinaries): Promise<void> {
  const temp = `${dir}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(temp, { recursive: true, mode: 0o755 });
    await Promise.all(binaries.files.map((f) => writeFile(join(temp, f.name), f.data, { mode: 0o755 })));
    const manifest: Manifest = { version: binaries.version, arch: binaries.arch, files: binaries.files.map((f) => ({ name: f.name, sha256: f.sha256 })) };
    await writeFile(join(temp, 'manifest.json'), JSON.stringify(manifest));
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } catch {
    // The cache is an optimisation: a read-only or full disk must not fail a deploy.
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * {@link prepareBinaries} for a release tarball, with an in-process memo (keyed by path, size and mtime)
 * and an on-disk cache of the unpacked binaries under `cacheRoot/<sha256 of the tarball>`.
 */
export async function prepareTarballCached(tarball: string, cacheRoot: string): Promise<PreparedBinaries> {
  const info = await stat(tarball);
  const memoKey = `${tarball}\0${info.size}\0${info.mtimeMs}`;
  const memo = memory.get(memoKey);
  if (memo) return memo;
  const dir = join(cacheRoot, await sha256OfFile(tarball));
  let binaries = await fromDisk(dir);
  if (!binaries) {
    binaries = await prepareBinaries({ tarball });
    await toDisk(dir, binaries);
  }
  memory.set(memoKey, binaries);
  return binaries;
}
