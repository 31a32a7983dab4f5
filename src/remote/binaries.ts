/**
 * etcd binaries on the controller: read once (from a release tarball or a directory), hashed once, and
 * shared by every member's bundle.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { readTar } from './tar.js';

/** Names of the binaries etcd-kit installs; `etcd` is required, the others are installed when present. */
export const ETCD_BINARY_NAMES = ['etcd', 'etcdctl', 'etcdutl'] as const;

/**
 * One of {@link ETCD_BINARY_NAMES}.
 * @category Remote hosts
 */
export type EtcdBinaryName = (typeof ETCD_BINARY_NAMES)[number];

/**
 * A binary read into memory with its SHA-256.
 * @category Remote hosts
 */
export interface PreparedBinary {
  /** File name on the host (inside `layout.binDir`). */
  name: EtcdBinaryName;
  /** Contents. */
  data: Buffer;
  /** Hex SHA-256 of `data`. */
  sha256: string;
}

/**
 * etcd binaries ready to install: read and hashed once, reusable for every member.
 * @category Remote hosts
 */
export interface PreparedBinaries {
  /** Brand telling prepared binaries apart from a `{ tarball }` or `{ dir }` source. */
  kind: 'prepared-binaries';
  /** Version from the tarball's top directory (`etcd-v3.4.23-linux-amd64` → `3.4.23`), when known. */
  version: string | undefined;
  /** CPU architecture of the binaries, as `uname -m` prints it (`x86_64`, `aarch64`, ...). */
  arch: string;
  /** The binaries found; always includes `etcd`. */
  files: PreparedBinary[];
}

/**
 * Where the binaries come from.
 * @category Remote hosts
 */
export type BinarySource =
  | {
      /** Path of an official release tarball, `etcd-vX.Y.Z-linux-<arch>.tar.gz`. */
      tarball: string;
    }
  | {
      /** Directory holding `etcd` (and optionally `etcdctl`, `etcdutl`). */
      dir: string;
    }
  | PreparedBinaries;

/** ELF `e_machine` values → `uname -m` names. */
const ELF_MACHINES = new Map<number, string>([
  [0x03, 'i686'],
  [0x28, 'armv7l'],
  [0x3e, 'x86_64'],
  [0xb7, 'aarch64'],
  [0x15, 'ppc64le'],
  [0x16, 's390x'],
  [0xf3, 'riscv64'],
]);

/** The `uname -m` name of an ELF executable's machine, or `undefined` if it is not a Linux ELF file. */
export function elfArch(data: Buffer): string | undefined {
  if (data.length < 20 || data.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const littleEndian = data[5] === 1;
  const machine = littleEndian ? data.readUInt16LE(18) : data.readUInt16BE(18);
  return ELF_MACHINES.get(machine);
}

const TARBALL_DIR = /^etcd-v(\d+\.\d+\.\d+[0-9A-Za-z.+-]*?)-linux-[a-z0-9]+$/;

/**
 * Reads and hashes the etcd binaries. A tarball is an official release archive
 * (`etcd-vX.Y.Z-linux-<arch>.tar.gz` holding `etcd-vX.Y.Z-linux-<arch>/{etcd,etcdctl,...}`); a directory
 * holds the binaries directly. Prepared binaries are returned as they are.
 * Throws `BUNDLE_INVALID` (field `binaries`) for a missing `etcd`, non-ELF files or mixed architectures.
 *
 * @example
 * ```ts
 * const binaries = await prepareBinaries({ tarball: 'etcd-v3.4.23-linux-amd64.tar.gz' });
 * ```
 * @category Remote hosts
 */
export async function prepareBinaries(source: BinarySource): Promise<PreparedBinaries> {
  if (source !== null && typeof source === 'object' && 'kind' in source && source.kind === 'prepared-binaries') {
    return source;
  }
  const found = new Map<EtcdBinaryName, Buffer>();
  let version: string | undefined;
  if (source !== null && typeof source === 'object' && 'tarball' in source && typeof source.tarball === 'string') {
    let archive: Buffer;
    try {
      archive = await readFile(source.tarball);
    } catch (err) {
      throw invalidBundle('binaries.tarball', `cannot read ${source.tarball}`, err);
    }
    let entries: ReturnType<typeof readTar>;
    try {
      entries = readTar(archive);
    } catch (err) {
      throw invalidBundle('binaries.tarball', `${source.tarball} is not a readable tar.gz archive`, err);
    }
    for (const entry of entries) {
      const parts = entry.path.split('/');
      // The binaries sit at the top level or in the release's single top directory, never deeper.
      if (parts.length > 2) continue;
      const name = parts[parts.length - 1] as EtcdBinaryName;
      if (!(ETCD_BINARY_NAMES as readonly string[]).includes(name)) continue;
      found.set(name, entry.data);
      const top = parts.length === 2 ? TARBALL_DIR.exec(parts[0] ?? '') : null;
      if (top) version = top[1];
    }
    if (!found.has('etcd')) {
      throw invalidBundle('binaries.tarball', `${basename(source.tarball)} holds no etcd binary (expected etcd-vX.Y.Z-linux-<arch>/etcd)`);
    }
  } else if (source !== null && typeof source === 'object' && 'dir' in source && typeof source.dir === 'string') {
    for (const name of ETCD_BINARY_NAMES) {
      try {
        found.set(name, await readFile(join(source.dir, name)));
      } catch (err) {
        if (name === 'etcd' || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw invalidBundle('binaries.dir', `cannot read ${join(source.dir, name)}`, err);
        }
      }
    }
  } else {
    throw invalidBundle('binaries', 'must be { tarball: path }, { dir: path } or prepared binaries');
  }

  let arch: string | undefined;
  const files: PreparedBinary[] = [];
  for (const [name, data] of found) {
    const fileArch = elfArch(data);
    if (fileArch === undefined) throw invalidBundle('binaries', `${name} is not a Linux ELF executable`);
    if (arch !== undefined && fileArch !== arch) {
      throw invalidBundle('binaries', `${name} is built for ${fileArch} but etcd for ${arch}`);
    }
    arch = fileArch;
    files.push({ name, data, sha256: createHash('sha256').update(data).digest('hex') });
  }
  files.sort((a, b) => ETCD_BINARY_NAMES.indexOf(a.name) - ETCD_BINARY_NAMES.indexOf(b.name));
  return { kind: 'prepared-binaries', version, arch: arch ?? 'unknown', files };
}

function invalidBundle(field: string, message: string, cause?: unknown): EtcdKitError {
  return new EtcdKitError('BUNDLE_INVALID', `bundle ${field}: ${message}`, {
    field,
    ...(cause === undefined ? {} : { cause }),
  });
}
