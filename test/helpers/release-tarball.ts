/**
 * Test helper: an etcd release tarball in the official layout (`etcd-vX.Y.Z-linux-amd64/{etcd,etcdctl,README.md}`,
 * gzipped), built on the fly from the machine's Debian etcd binaries with the system `tar`, so tests exercise
 * the same archive shape users download from GitHub without any network access.
 *
 * @example
 * ```ts
 * const release = await makeReleaseTarball();
 * try {
 *   const binaries = await prepareBinaries({ tarball: release.tarball });
 * } finally {
 *   await release.cleanup();
 * }
 * ```
 * @module
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { etcdBinaryVersion } from './local-cluster.js';

const run = promisify(execFile);

/** Where the binaries come from. */
export const SOURCE_ETCD = '/usr/bin/etcd';
/** etcdctl source. */
export const SOURCE_ETCDCTL = '/usr/bin/etcdctl';

/** A tarball made by {@link makeReleaseTarball}. */
export interface ReleaseTarball {
  /** Path of `etcd-vX.Y.Z-linux-amd64.tar.gz`. */
  tarball: string;
  /** The version in its name, read from `etcd --version`. */
  version: string;
  /** Temp directory holding the tarball (and nothing else of value). */
  dir: string;
  /** Deletes `dir`. */
  cleanup(): Promise<void>;
}

/** Builds the tarball in a fresh temp dir. `arch` only names the archive; the binaries are the machine's. */
export async function makeReleaseTarball(options: { arch?: string } = {}): Promise<ReleaseTarball> {
  const version = etcdBinaryVersion(SOURCE_ETCD);
  const arch = options.arch ?? 'amd64';
  const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-release-'));
  const top = `etcd-v${version}-linux-${arch}`;
  await mkdir(join(dir, top));
  await copyFile(SOURCE_ETCD, join(dir, top, 'etcd'));
  await copyFile(SOURCE_ETCDCTL, join(dir, top, 'etcdctl'));
  await writeFile(join(dir, top, 'README.md'), `# etcd ${version}\nRepacked for etcd-kit tests from ${SOURCE_ETCD}.\n`);
  const tarball = join(dir, `${top}.tar.gz`);
  // Fast compression: the archive only has to be a valid gzip tarball, not a small one.
  await run('tar', ['-I', 'gzip -1', '-cf', tarball, '-C', dir, top]);
  await rm(join(dir, top), { recursive: true });
  return { tarball, version, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
