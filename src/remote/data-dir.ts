/**
 * clearMemberData: empties a member's data dir for a fresh start (a replaced member joins again with an
 * empty one). Nothing is deleted: a non-empty data dir is moved aside whole to `<dataDir>.broken-<stamp>`
 * and an empty one (same owner and mode) put in its place — or, for a host a member moved away from
 * (`recreate: false`, `tag: 'moved'`), nothing. The caller stops etcd first.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { utcStamp } from '../utc-stamp.js';
import type { EtcdLayout, } from '../render/index.js';
import { assertManagedDir, resolveLayoutOption } from './bundle.js';
import { type RemoteHost, withConnection } from './host-session.js';
import { shellQuote } from './shell.js';
import type { RemoteCallOptions } from './types.js';

/** Options of {@link clearMemberData}. */
export interface ClearMemberDataOptions extends RemoteCallOptions {
  /** Layout the member was installed with. Default: `resolveLayout()`. */
  layout?: Partial<EtcdLayout>;
  /** Suffix of the moved-aside copy, `<dataDir>.<tag>-<stamp>`. Default: the UTC time, `20261201T103000Z`. */
  stamp?: string;
  /** Word in the moved-aside copy's name, `<dataDir>.<tag>-<stamp>`: letters only. Default: `broken`. */
  tag?: string;
  /**
   * Put an empty data dir (same owner and mode) in place of the moved one, for a member that starts again
   * on this host. `false` for a host the member left (it moved away): nothing is left in its place. Default: `true`.
   */
  recreate?: boolean;
}

/** What {@link clearMemberData} did. */
export interface ClearMemberDataReport {
  /** Host as given in the target. */
  host: string;
  /** Where the old contents went; undefined when the data dir was empty or missing (nothing to keep). */
  movedAside: string | undefined;
}


/** The privileged script of {@link clearMemberData}. Pure, for tests. */
export function clearDataScript(dataDir: string, stamp: string, options: { tag?: string; recreate?: boolean } = {}): string {
  const tag = options.tag ?? 'broken';
  const recreate = options.recreate ?? true;
  const d = shellQuote(dataDir);
  const aside = shellQuote(`${dataDir}.${tag}-${stamp}`);
  return [
    'set -eu',
    `if [ -d ${d} ] && [ -n "$(ls -A ${d})" ]; then`,
    `  own=$(stat -c %u:%g ${d}); mode=$(stat -c %a ${d})`,
    `  [ ! -e ${aside} ] || { echo "${dataDir}.${tag}-${stamp} exists already" >&2; exit 1; }`,
    `  mv -- ${d} ${aside}`,
    ...(recreate ? [`  mkdir -m "$mode" -- ${d}`, `  chown "$own" -- ${d}`] : []),
    `  echo "@aside "${aside}`,
    ...(recreate ? [] : [`elif [ -d ${d} ]; then`, `  rmdir -- ${d}`]),
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
  if (options.tag !== undefined && !/^[A-Za-z]+$/.test(options.tag)) throw new EtcdKitError('INVALID_ARGUMENT', 'tag: letters only', { field: 'tag' });
  const script = clearDataScript(layout.dataDir, stamp, {
    ...(options.tag !== undefined ? { tag: options.tag } : {}),
    ...(options.recreate !== undefined ? { recreate: options.recreate } : {}),
  });
  return withConnection(target, options, async (conn) => {
    const result = await conn.run(script, {
      label: 'clear data dir',
      privileged: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const line = result.stdout.split('\n').find((l) => l.startsWith('@aside '));
    return { host: conn.host, movedAside: line?.slice('@aside '.length) };
  });
}
