/**
 * A member bundle: everything one host receives (binaries, its own certificates and keys, env file, unit),
 * checked and hashed on the controller before anything is sent.
 * @module
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { EtcdKitError } from '../errors.js';
import { signedBy, splitPemCertificates } from '../pki/index.js';
import { DEFAULT_CLIENT_PORT, DEFAULT_PEER_PORT, type EtcdLayout, parseEnvFile, resolveLayout } from '../render/index.js';
import { type BinarySource, type EtcdBinaryName, type PreparedBinaries, prepareBinaries } from './binaries.js';

/**
 * The text files of one member. PEM strings, never the CA's private key.
 * @category Remote hosts
 */
export interface MemberFiles {
  /** CA certificate (PEM) trusted for clients and peers; during a CA rotation several (old + new, one file). */
  caCert: string;
  /** The member's server certificate (PEM). */
  serverCert: string;
  /** Private key of the server certificate (PEM). */
  serverKey: string;
  /** The member's peer certificate (PEM). */
  peerCert: string;
  /** Private key of the peer certificate (PEM). */
  peerKey: string;
  /** Rendered etcd EnvironmentFile (`renderEtcdEnv`). */
  env: string;
  /** Rendered systemd unit (`renderSystemdUnit`); its `User=` is the account etcd-kit creates. */
  unit: string;
  /** Rendered etcdctl env file (`renderEtcdctlEnv`), installed when given. */
  etcdctlEnv?: string;
}

/**
 * What {@link installMember} puts on one host.
 * @category Remote hosts
 */
export interface MemberBundle {
  /** The etcd binaries: a release tarball, a directory, or {@link PreparedBinaries} shared by all members. */
  binaries: BinarySource;
  /** Certificates, keys, env file and unit of this member. */
  files: MemberFiles;
  /** Paths on the host; must be the layout the env file and unit were rendered with. Default: `resolveLayout()`. */
  layout?: Partial<EtcdLayout>;
}

/** What a file is; decides its mode and owner and whether changing it restarts etcd. */
export type BundleFileRole =
  | 'etcd'
  | 'etcdctl'
  | 'etcdutl'
  | 'caCert'
  | 'serverCert'
  | 'serverKey'
  | 'peerCert'
  | 'peerKey'
  | 'env'
  | 'etcdctlEnv'
  | 'unit';

/** One file of a prepared bundle, with where and how it is installed. */
export interface BundleFile {
  /** What the file is. */
  role: BundleFileRole;
  /** Absolute path on the host. */
  path: string;
  /** Contents. */
  data: Buffer;
  /** Hex SHA-256 of `data`. */
  sha256: string;
  /** Permission bits. */
  mode: number;
  /** Owning user on the host. */
  owner: string;
  /** Owning group on the host. */
  group: string;
  /** Whether a change to this file needs an etcd restart (etcdctl and its env file do not). */
  restartsService: boolean;
}

/**
 * A symlink in `binDir` that install keeps pointing where it should: `current` → the version directory
 * (`3.5.30`), and each binary's stable name → `current/<name>` (`etcd` → `current/etcd`), so the unit's
 * `ExecStart=<binDir>/etcd` and scripts calling `<binDir>/etcdctl` run whatever `current` names.
 */
export interface BundleLink {
  /** `current`, or the binary the stable name stands for. */
  role: 'current' | EtcdBinaryName;
  /** Absolute path of the link (`/opt/etcd/bin/current`, `/opt/etcd/bin/etcd`). */
  path: string;
  /** Its target, relative to `binDir` (`3.5.30`, `current/etcd`). */
  target: string;
}

/**
 * Names of the version directories in `binDir` etcd-kit installs into and may delete again (retention,
 * uninstall): an etcd release version (`3.5.30`, or with a pre-release / build suffix, `3.6.0-rc.1`).
 * Nothing else in `binDir` is ever removed.
 */
export const VERSION_DIR_NAME = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** A directory install creates, with its mode and owner. */
export interface BundleDir {
  /** Absolute path. */
  path: string;
  /** Permission bits. */
  mode: number;
  /** Owning user. */
  owner: string;
  /** Owning group. */
  group: string;
}

/**
 * A checked, hashed bundle: what {@link installMember} compares with the host.
 * @category Remote hosts
 */
export interface PreparedBundle {
  /** Brand telling a prepared bundle apart from a {@link MemberBundle}. */
  kind: 'prepared-bundle';
  /** Resolved paths. */
  layout: EtcdLayout;
  /** The system account etcd runs as (from the unit's `User=`). */
  serviceUser: string;
  /** Its group (from `Group=`, default the user). */
  serviceGroup: string;
  /** systemd unit name, e.g. `etcd.service`. */
  unitName: string;
  /** `uname -m` architecture the binaries need. */
  arch: string;
  /**
   * The etcd release of the binaries (from the tarball's name, or set on {@link PreparedBinaries.version}).
   * Always known: the binaries are installed into `<binDir>/<version>/`.
   */
  version: string;
  /** TCP ports etcd listens on (client, peer, metrics): must be free or already etcd's. */
  listenPorts: number[];
  /** Client and peer ports a host firewall must let in. */
  firewallPorts: number[];
  /** Directories install creates (with their parents) and keeps at these modes and owners. */
  dirs: BundleDir[];
  /**
   * Files to install. The binaries go to `<binDir>/<version>/<name>` (e.g. `/opt/etcd/bin/3.5.30/etcd`),
   * reached through {@link PreparedBundle.links}.
   */
  files: BundleFile[];
  /**
   * The links in `binDir`: `current` → `<version>` first, then `etcd`, `etcdctl`, `etcdutl` (those the
   * binaries include) → `current/<name>`. Switching versions is one atomic rename of `current`.
   */
  links: BundleLink[];
}

function invalid(field: string, message: string, cause?: unknown): EtcdKitError {
  return new EtcdKitError('BUNDLE_INVALID', `bundle ${field}: ${message}`, {
    field,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Directories etcd-kit must never take over (chown/chmod), even when a layout points at them. */
const SHARED_SYSTEM_DIRS = new Set([
  '/usr/bin',
  '/usr/sbin',
  '/usr/lib',
  '/usr/local',
  '/usr/local/bin',
  '/usr/local/sbin',
  '/usr/share',
  '/var/lib',
  '/var/log',
  '/var/tmp',
  '/etc/ssl',
  '/etc/pki',
  '/etc/default',
  '/etc/sysconfig',
  '/etc/systemd',
  '/etc/ssh',
  '/etc/sudoers.d',
]);

/** A remote call's `layout` option resolved; a bad one is `INVALID_ARGUMENT` naming its field. */
export function resolveLayoutOption(layout: Partial<EtcdLayout> | undefined): EtcdLayout {
  try {
    return resolveLayout(layout ?? {});
  } catch (err) {
    throw new EtcdKitError('INVALID_ARGUMENT', err instanceof Error ? err.message : 'invalid layout', {
      field: err instanceof EtcdKitError && err.field ? err.field : 'layout',
      cause: err,
    });
  }
}

/**
 * Throws `BUNDLE_INVALID` for a directory etcd-kit must not own: top-level directories (`/opt`, `/etc`) and
 * shared system directories (`/usr/local/bin`, `/etc/ssl`, ...).
 */
export function assertManagedDir(field: string, path: string): void {
  if (SHARED_SYSTEM_DIRS.has(path) || path.split('/').length < 3) {
    throw invalid(field, `${path} is a shared system directory; etcd-kit would change its owner, mode or contents`);
  }
}

const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function parseCert(pem: unknown, field: string): X509Certificate {
  if (typeof pem !== 'string' || pem.trim() === '') throw invalid(field, 'must be a PEM certificate');
  if (PRIVATE_KEY_BLOCK.test(pem)) throw invalid(field, 'contains a private key; only the certificate belongs here');
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw invalid(field, 'is not a readable PEM certificate', err);
  }
}

/** Every certificate of a PEM bundle, each a CA. */
function parseCaBundle(pem: unknown, field: string): X509Certificate[] {
  const blocks = typeof pem === 'string' ? splitPemCertificates(pem) : [];
  const cas = (blocks.length > 0 ? blocks : [pem]).map((block) => parseCert(block, field));
  if (typeof pem === 'string' && PRIVATE_KEY_BLOCK.test(pem)) throw invalid(field, 'contains a private key; only the certificate belongs here');
  for (const ca of cas) if (!ca.ca) throw invalid(field, 'is not a CA certificate (basicConstraints CA:FALSE)');
  return cas;
}

function parseKey(pem: unknown, field: string): KeyObject {
  if (typeof pem !== 'string' || !PRIVATE_KEY_BLOCK.test(pem)) throw invalid(field, 'must be a PEM private key');
  if (/ENCRYPTED/.test(pem)) throw invalid(field, 'is encrypted; etcd needs an unencrypted key');
  try {
    return createPrivateKey(pem);
  } catch (err) {
    // The parser's message never contains the key, but keep ours generic anyway.
    throw invalid(field, 'is not a readable PEM private key', err);
  }
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

function checkTextFile(text: unknown, field: string): string {
  if (typeof text !== 'string' || text.trim() === '') throw invalid(field, 'must be non-empty text');
  if (PRIVATE_KEY_BLOCK.test(text)) throw invalid(field, 'contains a private key');
  return text;
}

function unitSetting(unit: string, key: string): string | undefined {
  const match = new RegExp(`^\\s*${key}=(.*)$`, 'm').exec(unit);
  return match?.[1]?.trim();
}

function portsOf(urls: string | undefined, field: string, requireTls: boolean): number[] {
  if (urls === undefined || urls.trim() === '') return [];
  return urls.split(',').map((raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch (err) {
      throw invalid(field, `has a malformed URL '${raw}'`, err);
    }
    if (requireTls && url.protocol !== 'https:') {
      throw invalid(field, `listens in plaintext (${url.protocol}//); etcd-kit installs only TLS listeners`);
    }
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return port;
  });
}

/** The binaries' version, which names the directory they are installed into: required, an etcd release version. */
function binariesVersion(binaries: PreparedBinaries): string {
  const version = binaries.version;
  if (version === undefined) {
    throw invalid(
      'binaries.version',
      'the etcd version of the binaries is unknown (a directory names none), and they are installed into <binDir>/<version>/; ' +
        'use a release tarball (etcd-vX.Y.Z-linux-<arch>.tar.gz), or set it: { ...binaries, version: await probeEtcdVersion(host, binaries) }',
    );
  }
  if (typeof version !== 'string' || !VERSION_DIR_NAME.test(version)) {
    throw invalid('binaries.version', `must be an etcd release version X.Y.Z, got ${JSON.stringify(version)}`);
  }
  return version;
}

/**
 * The certificates and keys: one CA, or several during a CA rotation (old + new), each a CA; every key
 * matching its certificate and never a CA's; the leaves issued by one of the CAs.
 */
function checkPkiFiles(files: MemberFiles): void {
  const cas = parseCaBundle(files.caCert, 'files.caCert');
  const caPublics = cas.map((ca) => spki(ca.publicKey));
  const pairs = [
    ['serverCert', 'serverKey'],
    ['peerCert', 'peerKey'],
  ] as const;
  for (const [certField, keyField] of pairs) {
    const cert = parseCert(files[certField], `files.${certField}`);
    const key = parseKey(files[keyField], `files.${keyField}`);
    const keyPublic = spki(createPublicKey(key));
    if (caPublics.some((p) => keyPublic.equals(p))) {
      throw invalid(`files.${keyField}`, 'is the CA private key; the CA key never leaves the controller');
    }
    if (!keyPublic.equals(spki(cert.publicKey))) {
      throw invalid(`files.${keyField}`, `does not match files.${certField}`);
    }
    if (!cas.some((ca) => signedBy(cert, ca))) {
      throw invalid(`files.${certField}`, `is not issued by ${cas.length === 1 ? 'files.caCert' : 'any CA in files.caCert'}`);
    }
  }
}

/** What the unit and the env file say about the service (both checked): who runs it and which ports it listens on. */
interface ServiceFacts {
  /** The unit's `User=`. */
  serviceUser: string;
  /** The unit's `Group=`, default the user. */
  serviceGroup: string;
  /** Every port etcd listens on (client, peer, metrics). */
  listenPorts: number[];
  /** The client and peer ports. */
  firewallPorts: number[];
}

/**
 * The unit and the env files: non-empty text without keys; the unit runs etcd as a dedicated user; the env
 * file's paths are the layout's and its listeners TLS.
 */
function checkServiceFiles(files: MemberFiles, layout: EtcdLayout): ServiceFacts {
  const env = checkTextFile(files.env, 'files.env');
  const unit = checkTextFile(files.unit, 'files.unit');
  if (files.etcdctlEnv !== undefined) checkTextFile(files.etcdctlEnv, 'files.etcdctlEnv');

  const serviceUser = unitSetting(unit, 'User');
  if (serviceUser === undefined || serviceUser === '' || serviceUser === 'root' || serviceUser === '0') {
    throw invalid('files.unit', 'must run etcd as a dedicated system user (User=etcd), never root');
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(serviceUser)) throw invalid('files.unit', `has an unusable User=${serviceUser}`);
  const serviceGroup = unitSetting(unit, 'Group') || serviceUser;
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(serviceGroup)) throw invalid('files.unit', `has an unusable Group=${serviceGroup}`);

  const vars = parseEnvFile(env);
  const expectPath = (name: string, path: string) => {
    const value = vars[name];
    if (value !== undefined && value !== path) {
      throw invalid('files.env', `${name}=${value} but the layout puts it at ${path}; render with the same layout`);
    }
  };
  expectPath('ETCD_DATA_DIR', layout.dataDir);
  expectPath('ETCD_CERT_FILE', layout.serverCertFile);
  expectPath('ETCD_KEY_FILE', layout.serverKeyFile);
  expectPath('ETCD_PEER_CERT_FILE', layout.peerCertFile);
  expectPath('ETCD_PEER_KEY_FILE', layout.peerKeyFile);
  expectPath('ETCD_TRUSTED_CA_FILE', layout.caFile);
  expectPath('ETCD_PEER_TRUSTED_CA_FILE', layout.caFile);
  // An env file that sets no listener gets etcd's ports (the renderer's defaults).
  const clientPorts = vars.ETCD_LISTEN_CLIENT_URLS === undefined ? [DEFAULT_CLIENT_PORT] : portsOf(vars.ETCD_LISTEN_CLIENT_URLS, 'files.env', true);
  const peerPorts = vars.ETCD_LISTEN_PEER_URLS === undefined ? [DEFAULT_PEER_PORT] : portsOf(vars.ETCD_LISTEN_PEER_URLS, 'files.env', true);
  const metricsPorts = portsOf(vars.ETCD_LISTEN_METRICS_URLS, 'files.env', false);
  const firewallPorts = [...new Set([...clientPorts, ...peerPorts])].sort((a, b) => a - b);
  const listenPorts = [...new Set([...firewallPorts, ...metricsPorts])].sort((a, b) => a - b);
  return { serviceUser, serviceGroup, listenPorts, firewallPorts };
}

/**
 * Where everything goes on the host, with modes and owners: the files (binaries in `<binDir>/<version>/`),
 * the links in `binDir`, the directories, and the unit's name. Refuses two files on one path, a file
 * outside the managed directories, and a shared system directory.
 */
function layoutBundle(
  layout: EtcdLayout,
  binaries: PreparedBinaries,
  version: string,
  files: MemberFiles,
  service: ServiceFacts,
): Pick<PreparedBundle, 'dirs' | 'files' | 'links' | 'unitName'> {
  const { serviceUser: user, serviceGroup: group } = service;
  const text = (role: BundleFileRole, path: string, content: string, mode: number, owner: string, grp: string, restarts: boolean): BundleFile => {
    const data = Buffer.from(content, 'utf8');
    return { role, path, data, sha256: sha256(data), mode, owner, group: grp, restartsService: restarts };
  };
  const versionDir = `${layout.binDir}/${version}`;
  const out: BundleFile[] = binaries.files.map((b) => ({
    role: b.name,
    path: `${versionDir}/${b.name}`,
    data: b.data,
    sha256: b.sha256,
    mode: 0o755,
    owner: 'root',
    group: 'root',
    restartsService: b.name === 'etcd',
  }));
  out.push(
    text('caCert', layout.caFile, files.caCert, 0o644, user, group, true),
    text('serverCert', layout.serverCertFile, files.serverCert, 0o644, user, group, true),
    text('serverKey', layout.serverKeyFile, files.serverKey, 0o600, user, group, true),
    text('peerCert', layout.peerCertFile, files.peerCert, 0o644, user, group, true),
    text('peerKey', layout.peerKeyFile, files.peerKey, 0o600, user, group, true),
    text('env', layout.envFile, files.env, 0o640, 'root', group, true),
  );
  if (files.etcdctlEnv !== undefined) out.push(text('etcdctlEnv', layout.etcdctlEnvFile, files.etcdctlEnv, 0o640, 'root', group, false));
  out.push(text('unit', layout.unitPath, files.unit, 0o644, 'root', 'root', true));

  const links: BundleLink[] = [
    { role: 'current', path: `${layout.binDir}/current`, target: version },
    ...binaries.files.map((b): BundleLink => ({ role: b.name, path: `${layout.binDir}/${b.name}`, target: `current/${b.name}` })),
  ];
  const paths = new Set<string>();
  for (const p of [...out.map((f) => f.path), ...links.map((l) => l.path), versionDir]) {
    if (paths.has(p)) throw invalid('layout', `two files map to ${p}`);
    paths.add(p);
  }
  const unitName = layout.unitPath.slice(layout.unitPath.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9:_.@-]+\.service$/.test(unitName)) throw invalid('layout.unitPath', 'must end in <name>.service');

  const dirs: BundleDir[] = [];
  const addDir = (field: string, path: string, mode: number, owner: string, grp: string) => {
    assertManagedDir(`layout.${field}`, path);
    // A directory shared between roles (e.g. cfgDir === sslDir) keeps the settings of its first role.
    if (!dirs.some((d) => d.path === path)) dirs.push({ path, mode, owner, group: grp });
  };
  addDir('binDir', layout.binDir, 0o755, 'root', 'root');
  dirs.push({ path: versionDir, mode: 0o755, owner: 'root', group: 'root' });
  addDir('cfgDir', layout.cfgDir, 0o750, 'root', group);
  addDir('sslDir', layout.sslDir, 0o700, user, group);
  addDir('dataDir', layout.dataDir, 0o700, user, group);
  for (const f of out) {
    if (f.role === 'unit') continue;
    const dir = f.path.slice(0, f.path.lastIndexOf('/')) || '/';
    if (!dirs.some((d) => d.path === dir)) {
      throw invalid('layout', `${f.path} is outside binDir, cfgDir and sslDir; put it in one of them`);
    }
  }
  return { dirs, files: out, links, unitName };
}

/**
 * Checks and hashes a member bundle on the controller. Refuses (`BUNDLE_INVALID`, naming the field)
 * anything that would deploy a broken or unsafe member: a CA private key anywhere, a key that does not
 * match its certificate, a certificate not issued by the CA, a plaintext listener, a unit running as root,
 * an env file whose paths differ from the layout. The binaries' version must be known (field
 * `binaries.version`: a release tarball names it; for a directory, set it from {@link probeEtcdVersion}):
 * they are installed into `<binDir>/<version>/`, and without a version there is no directory to switch to.
 *
 * @example
 * ```ts
 * const binaries = await prepareBinaries({ tarball: 'etcd-v3.6.14-linux-amd64.tar.gz' });
 * const bundle = await prepareMemberBundle({ binaries, files: { caCert, serverCert, serverKey, peerCert, peerKey, env, unit } });
 * ```
 */
export async function prepareMemberBundle(bundle: MemberBundle | PreparedBundle): Promise<PreparedBundle> {
  if (bundle === null || typeof bundle !== 'object') throw invalid('bundle', 'must be an object');
  if ('kind' in bundle && bundle.kind === 'prepared-bundle') return bundle;
  const { files } = bundle as MemberBundle;
  if (files === null || typeof files !== 'object') throw invalid('files', 'must be an object');
  let layout: EtcdLayout;
  try {
    layout = resolveLayout((bundle as MemberBundle).layout ?? {});
  } catch (err) {
    const field = err instanceof EtcdKitError && err.field ? err.field : 'layout';
    throw invalid(field, err instanceof Error ? err.message : 'invalid layout', err);
  }
  const binaries: PreparedBinaries = await prepareBinaries((bundle as MemberBundle).binaries);
  const version = binariesVersion(binaries);
  checkPkiFiles(files);
  const service = checkServiceFiles(files, layout);
  const placed = layoutBundle(layout, binaries, version, files, service);
  return {
    kind: 'prepared-bundle',
    layout,
    serviceUser: service.serviceUser,
    serviceGroup: service.serviceGroup,
    unitName: placed.unitName,
    arch: binaries.arch,
    version,
    listenPorts: service.listenPorts,
    firewallPorts: service.firewallPorts,
    dirs: placed.dirs,
    files: placed.files,
    links: placed.links,
  };
}
