// What etcd picks up from its env file on a restart: every setting except the ones it reads only when its
// data dir is empty (founding or joining). The one home of that rule: remote's install ('if-changed') and
// deploy's plan both ask here.
import { parseEnvFile } from './env-file.js';

/**
 * Env settings etcd reads only with an empty data dir: changing them on a running member needs no
 * restart (a membership change rewrites `ETCD_INITIAL_CLUSTER` on every member, for instance).
 */
export const BOOTSTRAP_ONLY_ENV_KEYS: ReadonlySet<string> = new Set(['ETCD_INITIAL_CLUSTER', 'ETCD_INITIAL_CLUSTER_STATE', 'ETCD_INITIAL_CLUSTER_TOKEN']);

function parsed(text: string): Record<string, string> | undefined {
  try {
    return parseEnvFile(text);
  } catch {
    return undefined; // hand-edited beyond what we render
  }
}

/**
 * The settings that differ between the env file on a host (`hostText`, undefined when missing) and the
 * one rendered (`desiredText`) and that a running etcd would pick up on a restart, sorted. `undefined` when
 * the host's file is missing or not an env file we can read: then everything may differ.
 *
 * @example
 * ```ts
 * envRestartChanges(old, next); // ['ETCD_SNAPSHOT_COUNT']
 * ```
 */
export function envRestartChanges(hostText: string | undefined, desiredText: string): string[] | undefined {
  const host = hostText === undefined ? undefined : parsed(hostText);
  if (!host) return undefined;
  const desired = parseEnvFile(desiredText);
  const keys = new Set([...Object.keys(host), ...Object.keys(desired)]);
  return [...keys].filter((k) => !BOOTSTRAP_ONLY_ENV_KEYS.has(k) && host[k] !== desired[k]).sort();
}

/** True when the two env files differ in a setting a running etcd would pick up on restart (see {@link envRestartChanges}). */
export function envNeedsRestart(hostText: string | undefined, desiredText: string): boolean {
  const changes = envRestartChanges(hostText, desiredText);
  return changes === undefined || changes.length > 0;
}
