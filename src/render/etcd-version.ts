/**
 * etcd release versions as values: parsed once from `X.Y.Z` text, compared numerically. What each minor
 * understands lives in the version table beside this module; this one only knows the shape of a version.
 * @module
 */
import { invalidInput } from './invalid.js';

/** A parsed etcd release version (`3.6.14`). */
export interface EtcdVersion {
  /** Major version (3 for every etcd release etcd-kit knows). */
  major: number;
  /** Minor version: 4 in `3.4.23`. */
  minor: number;
  /** Patch version: 23 in `3.4.23`. */
  patch: number;
  /** The version as text, `X.Y.Z`. */
  text: string;
  /** `X.Y`, e.g. `3.6`. */
  minorText: string;
}

const VERSION = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/;

/**
 * Parses `X.Y.Z` (no `v` prefix, no pre-release suffix). Throws `RENDER_INVALID_INPUT` naming `field`
 * for anything else: a version is never guessed.
 *
 * @example
 * ```ts
 * parseEtcdVersion('3.6.14').minor; // 6
 * ```
 */
export function parseEtcdVersion(value: unknown, field = 'etcdVersion'): EtcdVersion {
  const match = typeof value === 'string' ? VERSION.exec(value) : null;
  if (!match) throw invalidInput(field, `must be an etcd release version X.Y.Z (e.g. '3.6.14'), got ${JSON.stringify(value)}`);
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return { major, minor, patch, text: `${major}.${minor}.${patch}`, minorText: `${major}.${minor}` };
}

/** Orders two versions: negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareEtcdVersions(a: EtcdVersion, b: EtcdVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}
