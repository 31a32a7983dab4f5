/**
 * Test/demo/bench helper: the real etcd releases cached by `scripts/etcd-releases.sh` — every supported minor
 * (Debian's 3.4.23 and 3.5 packages, Go-module builds of 3.5, 3.6 and 3.7), each as a release tarball in the
 * official layout (`etcd-vX.Y.Z-linux-amd64/{etcd,etcdctl,etcdutl?,README.md}`) and unpacked beside it.
 * Reads the script's `releases.json` synchronously; nothing is built or downloaded here.
 *
 * @example
 * ```ts
 * const release = etcdRelease('3.6'); // newest cached 3.6 patch
 * const binaries = await prepareBinaries({ tarball: release.tarball });
 * execFileSync(release.etcdctl, ['version']);
 * for (const r of etcdReleases()) console.log(r.version, r.source); // oldest first
 * ```
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_RELEASES_DIR = '/var/cache/etcd-kit-releases';
const RUN_SCRIPT = 'run: bash scripts/etcd-releases.sh';

/** The cache directory as the environment names it now (the script reads the same variable). */
function releasesDirFromEnv(): string {
  return process.env['ETCD_KIT_RELEASES_DIR'] || DEFAULT_RELEASES_DIR;
}

/** Directory of the release cache: $ETCD_KIT_RELEASES_DIR or /var/cache/etcd-kit-releases. */
export const ETCD_RELEASES_DIR: string = releasesDirFromEnv();

/** One cached etcd release. */
export interface EtcdRelease {
  /** `'3.6.14'`. */
  version: string;
  /** Where the binaries came from: `'go modules' | 'debian bookworm' | 'debian trixie' | 'debian sid'`. */
  source: string;
  /** Absolute path of `etcd-vX.Y.Z-linux-amd64.tar.gz`. */
  tarball: string;
  /** Absolute path of the unpacked top dir `etcd-vX.Y.Z-linux-amd64/`. */
  binDir: string;
  /** Absolute path of the `etcd` binary. */
  etcd: string;
  /** Absolute path of the `etcdctl` binary. */
  etcdctl: string;
  /** Absolute path of the `etcdutl` binary; undefined for releases without one (Debian's 3.4). */
  etcdutl: string | undefined;
}

/** An entry of `releases.json` as the script writes it. */
interface ManifestEntry {
  version: string;
  source: string;
  tarball: string;
  binDir: string;
  sha256: string;
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;
const SELECTOR = /^(\d+)\.(\d+)(?:\.(\d+))?$/;

/** Numeric order of 'X.Y.Z' versions. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function isManifestEntry(value: unknown): value is ManifestEntry {
  const e = value as Partial<Record<keyof ManifestEntry, unknown>> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.version === 'string' &&
    VERSION.test(e.version) &&
    typeof e.source === 'string' &&
    typeof e.tarball === 'string' &&
    typeof e.binDir === 'string' &&
    typeof e.sha256 === 'string'
  );
}

function toRelease(entry: ManifestEntry): EtcdRelease {
  const etcd = join(entry.binDir, 'etcd');
  if (!existsSync(entry.tarball) || !existsSync(etcd)) {
    throw new Error(`etcd ${entry.version} is listed in the release cache but ${entry.tarball} or ${etcd} is missing — ${RUN_SCRIPT}`);
  }
  const etcdutl = join(entry.binDir, 'etcdutl');
  return {
    version: entry.version,
    source: entry.source,
    tarball: entry.tarball,
    binDir: entry.binDir,
    etcd,
    etcdctl: join(entry.binDir, 'etcdctl'),
    etcdutl: existsSync(etcdutl) ? etcdutl : undefined,
  };
}

/**
 * Every cached release, oldest first. Throws an Error saying "run: bash scripts/etcd-releases.sh" when the
 * cache or manifest is missing.
 *
 * @param dir - the cache directory; tests pass a temp dir. Default: $ETCD_KIT_RELEASES_DIR (read at call
 *   time) or /var/cache/etcd-kit-releases.
 */
export function etcdReleases(dir: string = releasesDirFromEnv()): EtcdRelease[] {
  const manifest = join(dir, 'releases.json');
  let text: string;
  try {
    text = readFileSync(manifest, 'utf8');
  } catch {
    throw new Error(`no etcd release cache: ${manifest} is missing — ${RUN_SCRIPT}`);
  }
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch {
    throw new Error(`${manifest} is not valid JSON — ${RUN_SCRIPT}`);
  }
  if (!Array.isArray(entries) || !entries.every(isManifestEntry) || entries.length === 0) {
    throw new Error(`${manifest} lists no etcd releases in the expected shape — ${RUN_SCRIPT}`);
  }
  return entries.map(toRelease).sort((a, b) => compareVersions(a.version, b.version));
}

/**
 * One cached release: `'X.Y.Z'` = that release exactly; `'X.Y'` = the newest cached patch of that minor.
 * Throws naming the cached versions when none matches.
 *
 * @param dir - as for {@link etcdReleases}.
 * @example
 * ```ts
 * etcdRelease('3.5').version;    // '3.5.33' (newest cached 3.5)
 * etcdRelease('3.4.23').etcdutl; // undefined: Debian's 3.4 has no etcdutl
 * ```
 */
export function etcdRelease(selector: string, dir: string = releasesDirFromEnv()): EtcdRelease {
  const parts = SELECTOR.exec(selector.trim());
  if (!parts) throw new Error(`etcd release selector '${selector}' is neither 'X.Y' nor 'X.Y.Z'`);
  const releases = etcdReleases(dir);
  const [, major, minor, patch] = parts;
  const matching = releases.filter((r) => {
    const [rMajor, rMinor, rPatch] = r.version.split('.');
    return rMajor === String(Number(major)) && rMinor === String(Number(minor)) && (patch === undefined || rPatch === String(Number(patch)));
  });
  const newest = matching.at(-1);
  if (!newest) {
    throw new Error(`no cached etcd release matches '${selector}'; cached: ${releases.map((r) => r.version).join(', ')} (${join(dir, 'releases.json')})`);
  }
  return newest;
}
