import { DEFAULT_ETCD_VERSION, resolveEtcdVersion } from './etcd-versions.js';
import { assertSafeValue, invalidInput } from './invalid.js';
import { type EtcdLayout, resolveLayout } from './layout.js';

/**
 * Options of {@link renderSystemdUnit}.
 * @category Rendering
 */
export interface RenderSystemdUnitOptions {
  /** Paths on the host (`envFile`, `binDir`, `dataDir`). Default: {@link resolveLayout}`()`. */
  layout?: Partial<EtcdLayout>;
  /** System user etcd runs as; it must own the data dir and be able to read the TLS keys. Default: `'etcd'`. */
  user?: string;
  /** Group etcd runs as. Default: the same as `user`. */
  group?: string;
  /** Unit `Description=`. Default: `'etcd key-value store'`. */
  description?: string;
  /**
   * etcd release the unit runs, `X.Y.Z`; `Documentation=` links that minor's docs (`https://etcd.io/docs/v3.6/`).
   * Default: {@link DEFAULT_ETCD_VERSION} (`'3.6.14'`).
   */
  etcdVersion?: string;
}

const POSIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** systemd expands `%x` specifiers in most settings; `%%` is a literal percent sign. */
function unitValue(value: string): string {
  return value.replace(/%/g, '%%');
}

/**
 * Renders the systemd unit for etcd. The unit passes no flags: `ExecStart` is the bare binary and every setting
 * comes from `EnvironmentFile=` ({@link renderEtcdEnv}, rendered for the same `etcdVersion`), so there is one
 * source of truth. Deterministic output. The only version-dependent line is `Documentation=`.
 *
 * Choices:
 * - `Type=notify` with `TimeoutStartSec=0`: etcd reports ready only once the cluster has quorum, so the
 *   first member of a new cluster legitimately waits for its peers; a start timeout would kill it mid-bootstrap
 *   and turn a slow rollout into a restart loop. Callers start members with `systemctl start --no-block` (or
 *   all at once) and judge success by `endpoint health`, not by systemctl's exit.
 * - `Restart=on-failure`, `RestartSec=5`, `LimitNOFILE=65536` (one fd per client connection and watcher).
 * - Sandboxing etcd tolerates: the whole file system is read-only except `dataDir` (which must exist before
 *   start), no capabilities, no privilege gain, only Unix/IPv4/IPv6 sockets, `UMask=0077`.
 *
 * @example
 * ```ts
 * const unit = renderSystemdUnit({ layout: { prefix: '/opt/etcd' }, etcdVersion: '3.5.33' }); // Documentation=https://etcd.io/docs/v3.5/
 * ```
 * @category Rendering
 */
export function renderSystemdUnit(opts: RenderSystemdUnitOptions = {}): string {
  if (opts === null || typeof opts !== 'object') throw invalidInput('options', 'must be an object');
  const layout = resolveLayout(opts.layout ?? {});
  const v = resolveEtcdVersion(opts.etcdVersion ?? DEFAULT_ETCD_VERSION, 'etcdVersion');
  const user = opts.user ?? 'etcd';
  if (typeof user !== 'string' || !POSIX_USER.test(user)) throw invalidInput('user', `must be a system user name ([a-z_][a-z0-9_-]{0,31}), got ${JSON.stringify(user)}`);
  // Running etcd as root is exactly what the hardening is meant to prevent.
  if (user === 'root') throw invalidInput('user', 'etcd must not run as root');
  const group = opts.group ?? user;
  if (typeof group !== 'string' || !POSIX_USER.test(group)) throw invalidInput('group', `must be a group name ([a-z_][a-z0-9_-]{0,31}), got ${JSON.stringify(group)}`);
  const description = opts.description ?? 'etcd key-value store';
  if (typeof description !== 'string' || description.trim() === '') throw invalidInput('description', 'must be a non-empty string');
  assertSafeValue(description, 'description');

  const lines = [
    '# Rendered by etcd-kit. Settings live in the EnvironmentFile; re-render instead of editing.',
    '[Unit]',
    `Description=${unitValue(description)}`,
    `Documentation=${v.table.docsUrl}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=notify',
    `User=${user}`,
    `Group=${group}`,
    `EnvironmentFile=${unitValue(layout.envFile)}`,
    `ExecStart=${unitValue(`${layout.binDir}/etcd`)}`,
    'Restart=on-failure',
    'RestartSec=5',
    'TimeoutStartSec=0',
    'LimitNOFILE=65536',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${unitValue(layout.dataDir)}`,
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    'CapabilityBoundingSet=',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}
