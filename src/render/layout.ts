import { assertAbsolutePath, invalidInput } from './invalid.js';

/**
 * Where etcd lives on a host. Every path is absolute. Get a complete one from {@link resolveLayout}:
 * derived paths follow `prefix` (and the TLS files follow `sslDir`) unless overridden themselves.
 * @category Rendering
 */
export interface EtcdLayout {
  /** Install root. Default: `/opt/etcd`. */
  prefix: string;
  /**
   * Directory of the binaries: `<binDir>/etcd`, `etcdctl`, `etcdutl` (what the unit's `ExecStart` runs) are
   * symlinks → `current/<name>`, `current` → the version directory `<binDir>/<version>/` holding them
   * (see `installMember`). Default: `<prefix>/bin`.
   */
  binDir: string;
  /** Directory holding the env files. Default: `<prefix>/cfg`. */
  cfgDir: string;
  /** Directory holding certificates and keys. Default: `<prefix>/ssl`. */
  sslDir: string;
  /** etcd data directory (`ETCD_DATA_DIR`), the only path the service may write. Default: `/var/lib/etcd`. */
  dataDir: string;
  /** The etcd EnvironmentFile. Default: `<cfgDir>/etcd.env`. */
  envFile: string;
  /** Env file for etcdctl (`ETCDCTL_*`). Default: `<cfgDir>/etcdctl.env`. */
  etcdctlEnvFile: string;
  /** systemd unit file. Default: `/etc/systemd/system/etcd.service`. */
  unitPath: string;
  /** CA certificate, trusted for clients and peers. Default: `<sslDir>/ca.crt`. */
  caFile: string;
  /** Client-facing server certificate (serverAuth + clientAuth). Default: `<sslDir>/server.crt`. */
  serverCertFile: string;
  /** Key of the server certificate (mode 0600). Default: `<sslDir>/server.key`. */
  serverKeyFile: string;
  /** Peer certificate. Default: `<sslDir>/peer.crt`. */
  peerCertFile: string;
  /** Key of the peer certificate (mode 0600). Default: `<sslDir>/peer.key`. */
  peerKeyFile: string;
}

const LAYOUT_KEYS = [
  'prefix',
  'binDir',
  'cfgDir',
  'sslDir',
  'dataDir',
  'envFile',
  'etcdctlEnvFile',
  'unitPath',
  'caFile',
  'serverCertFile',
  'serverKeyFile',
  'peerCertFile',
  'peerKeyFile',
] as const;

/** Drops trailing slashes so joined paths never contain `//` (the root `/` stays `/`). */
function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') || '/' : path;
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Fills in a complete {@link EtcdLayout}. Derived directories follow an overridden `prefix`
 * (and files follow an overridden `cfgDir`/`sslDir`) unless they are overridden themselves.
 * Throws `RENDER_INVALID_INPUT` (field `layout.<key>`) for relative paths, quotes, `$`, whitespace or newlines.
 *
 * @example
 * ```ts
 * resolveLayout({ prefix: '/srv/etcd' }).envFile; // '/srv/etcd/cfg/etcd.env'
 * ```
 */
export function resolveLayout(partial: Partial<EtcdLayout> = {}): EtcdLayout {
  if (partial === null || typeof partial !== 'object') throw invalidInput('layout', 'must be an object');
  for (const key of Object.keys(partial)) {
    if (!(LAYOUT_KEYS as readonly string[]).includes(key) && (partial as Record<string, unknown>)[key] !== undefined) {
      throw invalidInput(`layout.${key}`, `unknown layout key (known: ${LAYOUT_KEYS.join(', ')})`);
    }
  }
  const pick = (key: (typeof LAYOUT_KEYS)[number], fallback: () => string): string => {
    const given = partial[key];
    if (given === undefined) return fallback();
    assertAbsolutePath(given, `layout.${key}`);
    return trimSlash(given);
  };
  const prefix = pick('prefix', () => '/opt/etcd');
  const binDir = pick('binDir', () => join(prefix, 'bin'));
  const cfgDir = pick('cfgDir', () => join(prefix, 'cfg'));
  const sslDir = pick('sslDir', () => join(prefix, 'ssl'));
  const dataDir = pick('dataDir', () => '/var/lib/etcd');
  const envFile = pick('envFile', () => join(cfgDir, 'etcd.env'));
  const etcdctlEnvFile = pick('etcdctlEnvFile', () => join(cfgDir, 'etcdctl.env'));
  const unitPath = pick('unitPath', () => '/etc/systemd/system/etcd.service');
  return {
    prefix,
    binDir,
    cfgDir,
    sslDir,
    dataDir,
    envFile,
    etcdctlEnvFile,
    unitPath,
    caFile: pick('caFile', () => join(sslDir, 'ca.crt')),
    serverCertFile: pick('serverCertFile', () => join(sslDir, 'server.crt')),
    serverKeyFile: pick('serverKeyFile', () => join(sslDir, 'server.key')),
    peerCertFile: pick('peerCertFile', () => join(sslDir, 'peer.crt')),
    peerKeyFile: pick('peerKeyFile', () => join(sslDir, 'peer.key')),
  };
}
