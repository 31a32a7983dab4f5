/**
 * uninstallMember: remove what installMember put on a host.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { EtcdLayout, } from '../render/index.js';
import { ETCD_BINARY_NAMES } from './binaries.js';
import { assertManagedDir, resolveLayoutOption } from './bundle.js';
import { HASH_CACHE_FILE } from './facts.js';
import { firewallCloseScript } from './firewall.js';
import { type RemoteHost, withConnection } from './host-session.js';
import { shellArgs, shellQuote } from './shell.js';
import type { RemoteCallOptions } from './types.js';

/** Options of {@link uninstallMember}. */
export interface UninstallMemberOptions extends RemoteCallOptions {
  /** Layout the member was installed with. Default: `resolveLayout()`. */
  layout?: Partial<EtcdLayout>;
  /**
   * Also delete the data dir (this member's copy of the keyspace) and the service account etcd-kit created.
   * The account is kept otherwise, so a data dir left behind keeps a valid owner. Default: `false`.
   */
  removeData?: boolean;
  /**
   * Delete the nftables rules install added (recognised by their `comment "etcd-kit"`), so etcd's ports
   * close again. firewalld and ufw openings are left as they are (nothing marks them as etcd-kit's).
   * Default: `true`.
   */
  closeFirewall?: boolean;
}

/** What {@link uninstallMember} removed. */
export interface UninstallReport {
  /** Host as given in the target. */
  host: string;
  /** etcd was running (and was stopped). */
  wasRunning: boolean;
  /** Files deleted. */
  removedFiles: string[];
  /** Directories deleted (only empty ones, plus the data dir with `removeData`). */
  removedDirs: string[];
  /** Name of the service account deleted, if any. */
  removedUser: string | undefined;
  /** nftables chains etcd-kit's rule was deleted from (`inet filter input`). */
  closedFirewall: string[];
  /** Wall time of the call in ms. */
  durationMs: number;
}

const HASH_CACHE_DIR = HASH_CACHE_FILE.slice(0, HASH_CACHE_FILE.lastIndexOf('/'));

/** `VERSION_DIR_NAME` as a POSIX extended regular expression, for `grep -E` on the host. */
export const VERSION_DIR_ERE = '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$';

/** GECOS comment installMember gives the account it creates; uninstall deletes only such an account. */
export const SERVICE_ACCOUNT_COMMENT = 'etcd (etcd-kit)';

/** The privileged script of {@link uninstallMember}. Pure, for tests. */
export function uninstallScript(layout: EtcdLayout, removeData: boolean, closeFirewall = true): string {
  const q = shellQuote;
  const unitName = layout.unitPath.slice(layout.unitPath.lastIndexOf('/') + 1);
  const files = [
    ...ETCD_BINARY_NAMES.map((n) => `${layout.binDir}/${n}`),
    layout.caFile,
    layout.serverCertFile,
    layout.serverKeyFile,
    layout.peerCertFile,
    layout.peerKeyFile,
    layout.envFile,
    layout.etcdctlEnvFile,
    layout.unitPath,
  ];
  const dirs = [layout.sslDir, layout.cfgDir, layout.binDir, layout.prefix];
  const lines = [
    'set -eu',
    'export LC_ALL=C',
    `unit=${q(unitName)}`,
    `user=$(sed -n 's/^User=//p' ${q(layout.unitPath)} 2>/dev/null | head -n 1)`,
    '[ -n "$user" ] || user=etcd',
    'if [ -d /run/systemd/system ]; then',
    '  echo "@state $(systemctl show "$unit" -p ActiveState | sed "s/^ActiveState=//")"',
    '  systemctl disable --quiet "$unit" 2>/dev/null || true',
    '  systemctl stop "$unit" 2>/dev/null || true',
    'fi',
    `for f in ${shellArgs(files)}; do`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
    '  for p in "$f" "${f%/*}/.${f##*/}.etcd-kit-new"; do',
    '    if [ -e "$p" ] || [ -L "$p" ]; then rm -f -- "$p"; echo "@file $p"; fi',
    '  done',
    'done',
    // Versioned binaries: `current` (and a temp link an interrupted switch left), then every directory in
    // binDir whose name is an etcd version; nothing else there.
    `bindir=${q(layout.binDir)}`,
    'for p in "$bindir/current" "$bindir/.current.etcd-kit-new"; do',
    '  if [ -L "$p" ]; then rm -f -- "$p"; echo "@file $p"; fi',
    'done',
    'if [ -d "$bindir" ]; then',
    '  for d in "$bindir"/*/; do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
    '    d=${d%/}; [ -d "$d" ] && [ ! -L "$d" ] || continue',
    `    if printf '%s\\n' "\${d##*/}" | grep -Eq ${q(VERSION_DIR_ERE)}; then rm -rf -- "$d"; echo "@dir $d"; fi`,
    '  done',
    'fi',
    'if [ -d /run/systemd/system ]; then systemctl daemon-reload; systemctl reset-failed "$unit" 2>/dev/null || true; fi',
  ];
  if (closeFirewall) lines.push(...firewallCloseScript());
  if (removeData) {
    lines.push(`if [ -d ${q(layout.dataDir)} ]; then rm -rf -- ${q(layout.dataDir)}; echo "@dir "${q(layout.dataDir)}; fi`);
  }
  lines.push(`if [ -d ${q(HASH_CACHE_DIR)} ]; then rm -rf -- ${q(HASH_CACHE_DIR)}; echo "@dir "${q(HASH_CACHE_DIR)}; fi`);
  lines.push(`for d in ${shellArgs([...new Set(dirs)])}; do`, '  if [ -d "$d" ] && rmdir -- "$d" 2>/dev/null; then echo "@dir $d"; fi', 'done');
  if (removeData) {
    lines.push(
      'if [ "$user" != root ] && getent passwd "$user" >/dev/null; then',
      `  if [ "$(getent passwd "$user" | cut -d: -f5)" = ${q(SERVICE_ACCOUNT_COMMENT)} ]; then userdel "$user" && echo "@user $user"; fi`,
      'fi',
      `getent group "$user" >/dev/null 2>&1 && groupdel "$user" 2>/dev/null || true`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Stops and disables etcd, deletes the files install put in place (binaries: the `current` and stable links in
 * `binDir`, a flat install's regular files, and every directory in `binDir` named like an etcd version;
 * certificates, keys, env files, unit), its hash cache, the directories it created once empty, and its nftables rules (`closeFirewall`).
 * The data dir and the service account stay unless `removeData` is set. firewalld and ufw openings stay.
 * Idempotent.
 *
 * @example
 * ```ts
 * const report = await uninstallMember(target, { removeData: true });
 * ```
 */
export async function uninstallMember(target: RemoteHost, options: UninstallMemberOptions = {}): Promise<UninstallReport> {
  const started = performance.now();
  const layout = resolveLayoutOption(options.layout);
  const removeData = options.removeData ?? false;
  if (removeData) assertManagedDir('layout.dataDir', layout.dataDir);
  return withConnection(target, options, async (conn) => {
    conn.requirePrivilege();
    options.onProgress?.({ host: conn.host, step: 'uninstall' });
    const result = await conn.run(uninstallScript(layout, removeData, options.closeFirewall ?? true), {
      label: 'uninstall',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const tagged = (tag: string) =>
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith(`@${tag} `))
        .map((l) => l.slice(tag.length + 2));
    const state = tagged('state')[0] ?? '';
    options.onProgress?.({ host: conn.host, step: 'done' });
    return {
      host: conn.host,
      wasRunning: state === 'active' || state === 'activating',
      removedFiles: tagged('file'),
      removedDirs: tagged('dir'),
      removedUser: tagged('user')[0],
      closedFirewall: tagged('firewall'),
      durationMs: Math.round(performance.now() - started),
    };
  });
}
