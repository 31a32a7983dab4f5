/**
 * clearMemberData: empties a member's data dir for a fresh start (a replaced member joins again with an
 * empty one). Nothing is deleted: a non-empty data dir is moved aside whole to `<dataDir>.broken-<stamp>`
 * and an empty one (same owner and mode) put in its place. The caller stops etcd first.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { EtcdLayout, } from '../render/index.js';
import { assertManagedDir, resolveLayoutOption } from './bundle.js';
import { type RemoteHost, withConnection } from './session.js';
import { shellQuote } from './shell.js';
import type { RemoteCallOptions } from './types.js';

/** Options of {@link clearMemberData}. */
export interface ClearMemberDataOptions extends RemoteCallOptions {
  /** Layout the member was installed with. Default: `resolveLayout()`. */
  layout?: Partial<EtcdLayout>;
  /** Suffix of the moved-aside copy, `<dataDir>.broken-<stamp>`. Default: the UTC time, `20261201T103000Z`. */
  stamp?: string;
}

/** What {@link clearMemberData} did. */
export interface ClearMemberDataReport {
  /** Host as given in the target. */
  host: string;
  /** Where the old contents went; undefined when the data dir was empty or missing (nothing to keep). */
  movedAside: string | undefined;
}

/** `2026-12-01T10:30:00.123Z` → `20261201T103000Z`. */
function utcStamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The privileged script of {@link clearMemberData}. Pure, for tests. */
export function clearDataScript(dataDir: string, stamp: string): string {
  const d = shellQuote(dataDir);
  const aside = shellQuote(`${dataDir}.broken-${stamp}`);
  return [
    'set -eu',
    `if [ -d ${d} ] && [ -n "$(ls -A ${d})" ]; then`,
    `  own=$(stat -c %u:%g ${d}); mode=$(stat -c %a ${d})`,
    `  [ ! -e ${aside} ] || { echo "${dataDir}.broken-${stamp} exists already" >&2; exit 1; }`,
    `  mv -- ${d} ${aside}`,
    `  mkdir -m "$mode" -- ${d}`,
    `  chown "$own" -- ${d}`,
    `  echo "@aside "${aside}`,
    'fi',
    '',
  ].join('\n');
}

/**
 * Leaves the member's data dir empty (owner and mode kept), its old contents moved aside to
 * `<dataDir>.broken-<UTC stamp>` when there were any. Run it with etcd stopped.
 *
 * @example
 * ```ts
 * const { movedAside } = await clearMemberData(conn);
 * ```
 */
export async function clearMemberData(target: RemoteHost, options: ClearMemberDataOptions = {}): Promise<ClearMemberDataReport> {
  const layout = resolveLayoutOption(options.layout);
  assertManagedDir('layout.dataDir', layout.dataDir);
  const stamp = options.stamp ?? utcStamp();
  if (!/^[0-9A-Za-z-]+$/.test(stamp)) throw new EtcdKitError('INVALID_ARGUMENT', 'stamp: letters, digits and dashes only', { field: 'stamp' });
  return withConnection(target, options, async (conn) => {
    const result = await conn.run(clearDataScript(layout.dataDir, stamp), {
      label: 'clear data dir',
      privileged: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const line = result.stdout.split('\n').find((l) => l.startsWith('@aside '));
    return { host: conn.host, movedAside: line?.slice('@aside '.length) };
  });
}
