/**
 * The pure middle of install: compare a prepared bundle with a host's facts, decide what to do, and write
 * the one privileged script that does it. No I/O here, so every decision is unit-testable.
 * @module
 */
import { createHash } from 'node:crypto';
import { EtcdKitError } from '../errors.js';
import { envRestartChanges } from '../render/index.js';
import { ETCD_BINARY_NAMES, type EtcdBinaryName } from './binaries.js';
import { type BundleDir, type BundleFile, type BundleFileRole, type BundleLink, type PreparedBundle, VERSION_DIR_NAME } from './bundle.js';
import type { HostFacts, UnitFacts } from './facts.js';
import { type FirewallPlan, planFirewall } from './firewall.js';
import { shellArgs, shellQuote } from './shell.js';

/** When install (re)starts etcd. */
export type RestartPolicy = 'if-changed' | 'never' | 'always';

/** What install will do on one host. */
export interface InstallPlan {
  /** Files whose content is missing or differs: uploaded and put in place. */
  upload: BundleFile[];
  /**
   * Binaries of the version directory taken from an install from before versioned paths: the regular file
   * `<binDir>/<name>` has the same bytes (and its etcd reports the bundle's version), so it is hard-linked
   * into `<binDir>/<version>/` instead of uploaded.
   */
  adopt: BundleFile[];
  /** Files with the right content but the wrong mode or owner. */
  fixMetadata: BundleFile[];
  /**
   * An install from before versioned paths whose etcd reports another version than the bundle's: its
   * binaries are kept (hard links, no copy) as version directory `<binDir>/<version>`, the one `current`
   * left behind (rollback without an upload). Absent otherwise, or when that directory exists already.
   */
  keepFlat?: {
    /** The version its etcd reports. */
    version: string;
    /** The binaries it has in `binDir`. */
    names: EtcdBinaryName[];
  };
  /** Links whose target differs or that are missing, in the order they are renamed into place: `current` first. */
  links: BundleLink[];
  /**
   * `<binDir>/<name>` of binaries the bundle does not have (`etcdutl` when going back to 3.4): a link to
   * `current/<name>` or a flat install's file, removed after the switch.
   */
  removeLinks: string[];
  /**
   * Version directories (names in `binDir`) deleted once `current` switched: every one except the version
   * `current` named before the switch and the new one. Empty when `current` does not change.
   */
  pruneVersions: string[];
  /**
   * The etcd `<binDir>/etcd` starts changes: another version, other bytes, or a flat install's etcd replaced
   * by different bytes. A running etcd must restart to run it.
   */
  etcdChanges: boolean;
  /** Directories missing or with the wrong mode or owner. */
  fixDirs: BundleDir[];
  /** The service group must be created. */
  createGroup: boolean;
  /** The service account must be created. */
  createUser: boolean;
  /** `systemctl daemon-reload` is needed (unit changed or systemd has a stale copy). */
  daemonReload: boolean;
  /** `systemctl enable` is needed. */
  enable: boolean;
  /** Firewall work. */
  firewall: FirewallPlan;
  /** What happens to the service: nothing, `start --no-block` or `restart --no-block`. */
  service: 'none' | 'start' | 'restart';
}

/**
 * Whether etcd runs: a main process, or the unit active, or starting up (etcd 3.4 stays `activating` until
 * quorum) — but not waiting to be started again after a crash (`activating/auto-restart`, no process).
 * The one home of "what is running".
 */
export function unitIsRunning(unit: Pick<UnitFacts, 'activeState' | 'subState' | 'mainPid'>): boolean {
  if (unit.mainPid > 0) return true;
  if (unit.subState === 'auto-restart') return false;
  return unit.activeState === 'active' || unit.activeState === 'activating' || unit.activeState === 'reloading';
}

/** A file whose pending change a running etcd picks up only on a restart, and the settings that changed (env file). */
export interface RestartCause {
  /** What the file is. */
  role: BundleFileRole;
  /** Path on the host. */
  path: string;
  /** The env file: the settings that changed (absent: the file on the host could not be read, so all may differ). */
  settings?: string[];
}

/**
 * Whether the etcd `<binDir>/etcd` starts changes: another version through `current`, other bytes, or a flat
 * install's etcd replaced by different bytes — not a move from flat paths that keeps the same bytes. Pure.
 */
export function etcdStartsChange(bundle: PreparedBundle, facts: HostFacts): boolean {
  const bin = binState(bundle, facts);
  const etcdFile = bundle.files.find((f) => f.role === 'etcd');
  const etcdLink = bundle.links.find((l) => l.role === 'etcd');
  if (bin.flatEtcd !== null) return bin.flatEtcd !== etcdFile?.sha256;
  return (
    bin.current !== bundle.version ||
    (etcdLink !== undefined && facts.links.get(etcdLink.path) !== etcdLink.target) ||
    (etcdFile !== undefined && facts.hashes.get(etcdFile.path) !== etcdFile.sha256)
  );
}

/**
 * What a running etcd picks up only on a restart among the pending changes: the etcd it starts
 * ({@link etcdStartsChange}), the unit, certificates, and the env file unless only bootstrap-only settings
 * changed (`envRestartChanges`). The one home of "what needs a restart"; empty when nothing does. Pure.
 */
export function restartCauses(bundle: PreparedBundle, facts: HostFacts): RestartCause[] {
  const etcd = bundle.files.find((f) => f.role === 'etcd');
  const binary: RestartCause[] = etcd && etcdStartsChange(bundle, facts) ? [{ role: 'etcd', path: etcd.path }] : [];
  return binary.concat(bundle.files.flatMap((f): RestartCause[] => {
    if (isBinary(f) || !f.restartsService || facts.hashes.get(f.path) === f.sha256) return [];
    if (f.role !== 'env') return [{ role: f.role, path: f.path }];
    const settings = envRestartChanges(facts.contents.get(f.path), f.data.toString('utf8'));
    if (settings === undefined) return [{ role: f.role, path: f.path }];
    return settings.length > 0 ? [{ role: f.role, path: f.path, settings }] : [];
  }));
}

/**
 * Refuses hosts etcd-kit cannot install on: no systemd, another CPU architecture, missing tools, or etcd's
 * ports held by a process that is not this unit's etcd. Throws `HOST_UNSUPPORTED` / `HOST_PORT_IN_USE`.
 */
export function checkHost(host: string, bundle: PreparedBundle, facts: HostFacts): void {
  const unsupported = (message: string) => new EtcdKitError('HOST_UNSUPPORTED', `${host}: ${message}`, { member: host });
  if (facts.uid !== 0) throw unsupported(`privileged commands run as uid ${facts.uid}, not root`);
  if (!facts.systemd) throw unsupported('systemd is not the init system (/run/systemd/system is missing)');
  if (facts.missingTools.length > 0) throw unsupported(`missing commands: ${facts.missingTools.join(', ')}`);
  if (bundle.arch !== facts.arch) {
    throw unsupported(`host is ${facts.arch} but the etcd binaries are built for ${bundle.arch}`);
  }
  const busy = new Set<number>();
  for (const socket of facts.listening) {
    if (bundle.listenPorts.includes(socket.port) && !facts.mainPidSockets.has(socket.inode)) busy.add(socket.port);
  }
  if (busy.size > 0) {
    const ports = [...busy].sort((a, b) => a - b);
    throw new EtcdKitError(
      'HOST_PORT_IN_USE',
      `${host}: port(s) ${ports.join(', ')} are in use by a process other than ${bundle.unitName}`,
      { member: host, details: { ports } },
    );
  }
}

/** Does the host's mode/owner/type of `path` differ from `want` (or is the path missing)? */
export function metadataDiffers(
  facts: HostFacts,
  path: string,
  want: { mode: number; owner: string; group: string },
  type: 'regular file' | 'directory',
): boolean {
  const st = facts.stats.get(path);
  return st === undefined || st.type !== type || st.mode !== want.mode || st.owner !== want.owner || st.group !== want.group;
}

function isBinary(f: BundleFile): boolean {
  return (ETCD_BINARY_NAMES as readonly string[]).includes(f.role);
}

/** What the host's `binDir` holds now: the version `current` names, and a flat install's etcd and version. */
function binState(bundle: PreparedBundle, facts: HostFacts) {
  const binDir = bundle.layout.binDir;
  const flatHash = (name: string) => facts.hashes.get(`${binDir}/${name}`) ?? null;
  const target = facts.links.get(`${binDir}/current`);
  const current = target !== undefined && VERSION_DIR_NAME.test(target) && facts.versionDirs.includes(target) ? target : undefined;
  const flatEtcd = flatHash('etcd');
  // The facts report the flat etcd's own --version when `<binDir>/etcd` is a regular file.
  const flatVersion = flatEtcd !== null && facts.etcdVersion !== undefined && VERSION_DIR_NAME.test(facts.etcdVersion) ? facts.etcdVersion : undefined;
  return { binDir, flatHash, current, flatEtcd, flatVersion };
}

/** Compares bundle and host and decides what install does. Pure. */
export function planInstall(
  bundle: PreparedBundle,
  facts: HostFacts,
  options: { restart: RestartPolicy; openFirewall: boolean },
): InstallPlan {
  const bin = binState(bundle, facts);
  const missing = bundle.files.filter((f) => facts.hashes.get(f.path) !== f.sha256);
  // Migration from flat paths: the same bytes already on the host move in by a hard link, not an upload.
  const adopt = missing.filter((f) => isBinary(f) && bin.flatVersion === bundle.version && bin.flatHash(f.role) === f.sha256);
  const upload = missing.filter((f) => !adopt.includes(f));
  const fixMetadata = bundle.files.filter(
    (f) => !missing.includes(f) && metadataDiffers(facts, f.path, f, 'regular file'),
  );
  const fixDirs = bundle.dirs.filter((d) => metadataDiffers(facts, d.path, d, 'directory'));
  const links = bundle.links.filter((l) => facts.links.get(l.path) !== l.target);
  const inBundle = new Set(bundle.links.map((l) => l.role));
  const removeLinks = ETCD_BINARY_NAMES.filter(
    (n) => !inBundle.has(n) && (facts.links.get(`${bin.binDir}/${n}`) === `current/${n}` || bin.flatHash(n) !== null),
  ).map((n) => `${bin.binDir}/${n}`);
  const keepFlat =
    bin.flatVersion !== undefined && bin.flatVersion !== bundle.version && !facts.versionDirs.includes(bin.flatVersion)
      ? { version: bin.flatVersion, names: ETCD_BINARY_NAMES.filter((n) => bin.flatHash(n) !== null) }
      : undefined;
  // Retention: the version current named before the switch (or the flat install's) and the new one stay.
  const previous = bin.flatEtcd !== null ? bin.flatVersion : bin.current;
  const switches = links.some((l) => l.role === 'current');
  const pruneVersions = switches ? facts.versionDirs.filter((v) => v !== bundle.version && v !== previous) : [];
  const etcdChanges = etcdStartsChange(bundle, facts);
  const unitChanged = upload.some((f) => f.role === 'unit');
  const restartNeeded = restartCauses(bundle, facts).length > 0;
  const running = unitIsRunning(facts.unit);
  let service: InstallPlan['service'] = 'none';
  if (options.restart === 'always') service = running ? 'restart' : 'start';
  else if (options.restart === 'if-changed') service = running ? (restartNeeded ? 'restart' : 'none') : 'start';
  const detected = planFirewall(facts.firewall, bundle.firewallPorts);
  // Told not to touch the firewall: still report which one is there.
  const firewall = options.openFirewall ? detected : { ...detected, opens: [], commands: [] };
  return {
    upload,
    adopt,
    fixMetadata,
    ...(keepFlat && keepFlat.names.length > 0 ? { keepFlat } : {}),
    links,
    removeLinks,
    pruneVersions,
    etcdChanges,
    fixDirs,
    createGroup: !facts.groupExists,
    createUser: !facts.userExists,
    // A first install needs no daemon-reload on systemd >= 246: it loads a unit file that appeared after a
    // failed lookup by itself (manager_unit_cache_should_retry_load). Saves ~0.3 s of CPU per host.
    daemonReload:
      !(facts.unit.loadState === 'not-found' && facts.systemdVersion >= 246) &&
      (unitChanged || facts.unit.needDaemonReload || facts.unit.loadState !== 'loaded'),
    enable: facts.unit.unitFileState !== 'enabled',
    firewall,
    service,
  };
}

/**
 * What `plan` changes on the host besides file contents and modes and the firewall, in words: the
 * account, directory modes and owners, the unit's enablement, a stale unit in systemd. Pure.
 */
export function describeHostChanges(bundle: PreparedBundle, plan: InstallPlan): string[] {
  const out: string[] = [];
  if (plan.createGroup) out.push(`create group ${bundle.serviceGroup}`);
  if (plan.createUser) out.push(`create user ${bundle.serviceUser}`);
  for (const d of plan.fixDirs) out.push(`directory ${d.path}: mode ${octal(d.mode)}, owner ${d.owner}:${d.group}`);
  for (const f of plan.adopt) out.push(`${f.path}: hard link of ${bundle.layout.binDir}/${f.role} (same bytes, nothing uploaded)`);
  if (plan.keepFlat) out.push(`keep the etcd ${plan.keepFlat.version} binaries as ${bundle.layout.binDir}/${plan.keepFlat.version}`);
  for (const l of plan.links) out.push(`link ${l.path} -> ${l.target}`);
  for (const p of plan.removeLinks) out.push(`remove ${p} (not in etcd ${bundle.version})`);
  for (const v of plan.pruneVersions) out.push(`remove ${bundle.layout.binDir}/${v} (older version)`);
  if (plan.daemonReload && !plan.upload.some((f) => f.role === 'unit')) out.push('systemctl daemon-reload (systemd holds an outdated copy of the unit)');
  if (plan.enable) out.push(`enable ${bundle.unitName} (start at boot)`);
  return out;
}

/** True when the plan changes nothing, so the apply round trip can be skipped. */
export function planIsEmpty(plan: InstallPlan): boolean {
  return (
    plan.upload.length === 0 &&
    plan.adopt.length === 0 &&
    plan.fixMetadata.length === 0 &&
    plan.keepFlat === undefined &&
    plan.links.length === 0 &&
    plan.removeLinks.length === 0 &&
    plan.pruneVersions.length === 0 &&
    plan.fixDirs.length === 0 &&
    !plan.createGroup &&
    !plan.createUser &&
    !plan.daemonReload &&
    !plan.enable &&
    plan.firewall.commands.length === 0 &&
    plan.service === 'none'
  );
}

/**
 * The facts the host reports once `plan` has been carried out: what a second install on the same
 * connection can start from instead of reading the host again (see {@link InstallReport.factsAfter}).
 * Pure. Not predicted: listening sockets and the new main PID (`0` after a start or restart).
 */
export function factsAfterInstall(bundle: PreparedBundle, plan: InstallPlan, facts: HostFacts): HostFacts {
  const hashes = new Map(facts.hashes);
  const stats = new Map(facts.stats);
  const contents = new Map(facts.contents);
  for (const f of bundle.files) {
    hashes.set(f.path, f.sha256);
    stats.set(f.path, { mode: f.mode, owner: f.owner, group: f.group, type: 'regular file' });
    if (contents.has(f.path) || f.role === 'env') contents.set(f.path, f.data.toString('utf8'));
  }
  for (const d of bundle.dirs) stats.set(d.path, { mode: d.mode, owner: d.owner, group: d.group, type: 'directory' });
  // binDir: every link in place, the flat files (if any) replaced by links, retention done. The etcd of the
  // version current named before is reported no more (only current's is).
  const binDir = bundle.layout.binDir;
  for (const path of [...hashes.keys()]) {
    const rel = path.startsWith(`${binDir}/`) ? path.slice(binDir.length + 1).split('/') : [];
    if (rel.length === 2 && rel[1] === 'etcd' && VERSION_DIR_NAME.test(rel[0] ?? '') && rel[0] !== bundle.version) hashes.delete(path);
  }
  const links = new Map(facts.links);
  for (const l of bundle.links) {
    links.set(l.path, l.target);
    if (hashes.has(l.path)) hashes.set(l.path, null);
  }
  for (const p of plan.removeLinks) {
    links.delete(p);
    if (hashes.has(p)) hashes.set(p, null);
  }
  const versionDirs = [...new Set([...facts.versionDirs, bundle.version, ...(plan.keepFlat ? [plan.keepFlat.version] : [])])]
    .filter((v) => !plan.pruneVersions.includes(v))
    .sort();
  const started = plan.service !== 'none';
  const unit = {
    ...facts.unit,
    loadState: started || plan.daemonReload ? 'loaded' : facts.unit.loadState,
    needDaemonReload: plan.daemonReload ? false : facts.unit.needDaemonReload,
    unitFileState: plan.enable ? 'enabled' : facts.unit.unitFileState,
    ...(started ? { activeState: 'activating', subState: 'start', mainPid: 0 } : {}),
  };
  const { kind, opens, commands } = plan.firewall;
  const withOpened = (ports: number[], mine: boolean) => (mine ? [...new Set([...ports, ...opens])] : ports);
  const { firewalld, ufw, nftables } = facts.firewall;
  const firewall = {
    firewalld: { ...firewalld, openPorts: withOpened(firewalld.openPorts, kind === 'firewalld') },
    ufw: { ...ufw, allowedPorts: withOpened(ufw.allowedPorts, kind === 'ufw') },
    // The rule's new handle is not known; a following install only needs its ports.
    nftables: nftables.map((c) => (kind === 'nftables' && commands.length > 0 ? { ...c, etcdKitRule: { ports: [...bundle.firewallPorts] } } : c)),
  };
  // `<binDir>/etcd` now starts the bundle's version, through `current` (reported only for X.Y.Z, as read).
  const { etcdVersion: _old, ...rest } = facts;
  const etcdVersion = /^\d+\.\d+\.\d+$/.test(bundle.version) ? bundle.version : undefined;
  return {
    ...rest,
    ...(etcdVersion ? { etcdVersion } : {}),
    userExists: true,
    groupExists: true,
    hashes,
    stats,
    contents,
    links,
    versionDirs,
    unit,
    firewall,
  };
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** The temp name a file is written under before it is renamed over `path`: same directory, hidden. */
export function tempNameFor(path: string): string {
  const dir = dirOf(path);
  return `${dir === '/' ? '' : dir}/.${path.slice(path.lastIndexOf('/') + 1)}.etcd-kit-new`;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** The temp paths of `files` grouped by `key` (owner, mode), in first-seen order. */
function groupTemps(files: readonly BundleFile[], temps: readonly string[], key: (f: BundleFile) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  files.forEach((f, i) => {
    const k = key(f);
    groups.set(k, [...(groups.get(k) ?? []), temps[i] ?? '']);
  });
  return groups;
}

/** Exit status of the apply script when a staged file does not hash to what was sent. */
export const STAGED_HASH_MISMATCH_EXIT = 90;

/** Exit status of the apply script when the new etcd's `--version` is not the bundle's version. */
export const ETCD_VERSION_MISMATCH_EXIT = 91;

/**
 * Lines that run the new etcd (at its temp name, already executable, in its version directory) with
 * `--version` and, unless it reports `bundle.version`, remove every temp file, the staging copies and the
 * version directory if it is left empty, and exit with {@link ETCD_VERSION_MISMATCH_EXIT}: a release whose
 * name lies about its version replaces nothing. Empty when no etcd is placed.
 */
function verifyEtcdVersion(bundle: PreparedBundle, placed: readonly BundleFile[], temps: readonly string[], stagingDir: string | undefined): string[] {
  const i = placed.findIndex((f) => f.role === 'etcd');
  if (i < 0) return [];
  const q = shellQuote;
  const line = q(`etcd Version: ${bundle.version}`);
  const versionDir = dirOf(placed[i]?.path ?? '');
  return [
    "nl='\n'",
    `v=$(${q(temps[i] ?? '')} --version 2>&1) || v=''`,
    `case "$v" in ${line}|${line}"$nl"*) ;; *)`,
    `  rm -f -- ${shellArgs(temps)}${stagingDir === undefined ? '' : `; rm -rf -- ${q(stagingDir)}`}; rmdir -- ${q(versionDir)} 2>/dev/null || true`,
    `  printf 'the new etcd reports: %s\\n' "\${v%%"$nl"*}" >&2; exit ${ETCD_VERSION_MISMATCH_EXIT} ;;`,
    'esac',
  ];
}

/**
 * Lines that point the links of `plan` where the bundle wants them, each by an atomic rename of a new
 * symlink (`ln -s 3.5.30 .current.etcd-kit-new && mv -T -f`): `current` first (the version switch), then the
 * stable names, so `<binDir>/etcd` never dangles; then stale names are removed, binDir synced, and the
 * versions retention drops are deleted.
 */
function switchLinks(bundle: PreparedBundle, plan: InstallPlan): string[] {
  const q = shellQuote;
  const lines: string[] = [];
  for (const l of plan.links) {
    const temp = tempNameFor(l.path);
    lines.push(`ln -sfn -- ${q(l.target)} ${q(temp)}`, `mv -T -f -- ${q(temp)} ${q(l.path)}`);
  }
  if (plan.removeLinks.length > 0) lines.push(`rm -f -- ${shellArgs(plan.removeLinks)}`);
  if (lines.length > 0) lines.push(`sync -- ${q(bundle.layout.binDir)} 2>/dev/null || sync`);
  if (plan.pruneVersions.length > 0) {
    lines.push(`rm -rf -- ${shellArgs(plan.pruneVersions.map((v) => `${bundle.layout.binDir}/${v}`))}`);
  }
  return lines;
}

const blake2bCache = new WeakMap<Buffer, string>();

/** Hex BLAKE2b-512 of `data`, once per buffer (members share their binaries' buffers). */
function blake2b(data: Buffer): string {
  let digest = blake2bCache.get(data);
  if (digest === undefined) {
    digest = createHash('blake2b512').update(data).digest('hex');
    blake2bCache.set(data, digest);
  }
  return digest;
}

/**
 * Lines that check each staged file (named by its SHA-256) and exit with {@link STAGED_HASH_MISMATCH_EXIT}
 * on a mismatch. With `b2sum` (coreutils >= 8.26) the check is BLAKE2b: coreutils' sha256sum has no SHA-NI
 * path and needs ~0.3 s of host CPU for etcd's ~40 MB, b2sum ~0.08 s. Older hosts fall back to sha256sum.
 */
function verifyStaged(stagingDir: string, files: readonly BundleFile[]): string[] {
  const unique = [...new Map(files.map((f) => [f.sha256, f])).values()];
  const check = (tool: string, digest: (f: BundleFile) => string) => [
    `  (cd ${shellQuote(stagingDir)} && ${tool} -c --status -) <<'ETCD_KIT_SUMS' || { echo 'a staged file does not match its checksum' >&2; exit ${STAGED_HASH_MISMATCH_EXIT}; }`,
    ...unique.map((f) => `${digest(f)}  ${f.sha256}`),
    'ETCD_KIT_SUMS',
  ];
  return [
    'if command -v b2sum >/dev/null 2>&1; then',
    ...check('b2sum', (f) => blake2b(f.data)),
    'else',
    ...check('sha256sum', (f) => f.sha256),
    'fi',
  ];
}

/**
 * The privileged `sh` script that carries out `plan`: account, directories, atomic placement of the
 * staged files (every hash re-checked first, then temp name in the target directory, mode and owner,
 * the new etcd's `--version` checked, fsync, rename, directory fsync) and of binaries adopted from a flat
 * install (hard links), a flat install's binaries kept as their version, metadata fixes, staging cleanup,
 * daemon-reload, enable, firewall, then the version switch (`current`, then the stable links, each an atomic
 * rename; binDir synced; retention), and last the `--no-block` start or restart (a blocking start of the
 * first member would hang until quorum).
 */
export function applyScript(bundle: PreparedBundle, plan: InstallPlan, stagingDir: string | undefined): string {
  const q = shellQuote;
  const unit = q(bundle.unitName);
  const lines = ['set -eu', 'umask 022', 'export LC_ALL=C'];
  if (plan.createGroup) {
    lines.push(`getent group ${q(bundle.serviceGroup)} >/dev/null || groupadd --system ${q(bundle.serviceGroup)}`);
  }
  if (plan.createUser) {
    lines.push(
      'nologin=$(command -v nologin 2>/dev/null || echo /bin/false)',
      `getent passwd ${q(bundle.serviceUser)} >/dev/null || useradd --system --gid ${q(bundle.serviceGroup)} ` +
        `--no-create-home --home-dir ${q(bundle.layout.dataDir)} --shell "$nologin" --comment 'etcd (etcd-kit)' ${q(bundle.serviceUser)}`,
    );
  }
  // install -d also corrects mode and owner of a directory that already exists.
  for (const d of plan.fixDirs) {
    lines.push(`install -d -m ${octal(d.mode)} -o ${q(d.owner)} -g ${q(d.group)} -- ${q(d.path)}`);
  }
  // Uploaded files come from staging; adopted binaries are hard links of a flat install's same bytes.
  const placed = [...plan.upload, ...plan.adopt];
  if (placed.length > 0) {
    if (plan.upload.length > 0 && stagingDir === undefined) throw new Error('files to place but no staging directory');
    const unitDir = dirOf(bundle.layout.unitPath);
    // Check every staged copy before replacing anything: a corrupt upload changes no file at all.
    if (stagingDir !== undefined && plan.upload.length > 0) lines.push(...verifyStaged(stagingDir, plan.upload));
    lines.push(`[ -d ${q(unitDir)} ] || install -d -m 0755 -- ${q(unitDir)}`);
    // Each file goes to a temp name in its target directory (moved from staging when it is the only user of
    // that content: a rename, no copy, on the same file system), gets its owner and mode, and is synced;
    // only then are the temp names renamed over the targets, each rename atomic.
    const uses = new Map<string, number>();
    for (const f of plan.upload) uses.set(f.sha256, (uses.get(f.sha256) ?? 0) + 1);
    const temps = placed.map((f) => tempNameFor(f.path));
    lines.push(`rm -f -- ${shellArgs(temps)}`);
    plan.upload.forEach((f, i) => {
      const left = (uses.get(f.sha256) ?? 1) - 1;
      uses.set(f.sha256, left);
      lines.push(`${left === 0 ? 'mv -f' : 'cp'} -- ${q(`${stagingDir}/${f.sha256}`)} ${q(temps[i] ?? '')}`);
    });
    plan.adopt.forEach((f, i) => {
      lines.push(`ln -f -- ${q(`${bundle.layout.binDir}/${f.role}`)} ${q(temps[plan.upload.length + i] ?? '')}`);
    });
    // One chown per owner and one chmod per mode: every fork costs the host a few ms of CPU.
    for (const [key, paths] of groupTemps(placed, temps, (f) => `${f.owner}:${f.group}`)) lines.push(`chown ${q(key)} -- ${shellArgs(paths)}`);
    for (const [key, paths] of groupTemps(placed, temps, (f) => octal(f.mode))) lines.push(`chmod ${key} -- ${shellArgs(paths)}`);
    // SELinux hosts: a file moved from a home directory keeps its home label; give it the target's.
    lines.push(`if command -v restorecon >/dev/null 2>&1; then restorecon -F -- ${shellArgs(temps)}; fi`);
    // The exact bytes about to become etcd report the version everything was decided for, or nothing moves.
    lines.push(...verifyEtcdVersion(bundle, placed, temps, stagingDir));
    lines.push(`sync -- ${shellArgs(temps)} 2>/dev/null || sync`);
    placed.forEach((f, i) => {
      lines.push(`mv -f -- ${q(temps[i] ?? '')} ${q(f.path)}`);
    });
    // The renames are durable once their directories are synced.
    const dirs = [...new Set(placed.map((f) => dirOf(f.path)))];
    lines.push(`sync -- ${shellArgs(dirs)} 2>/dev/null || sync`);
  }
  if (plan.keepFlat) {
    // The flat install's binaries stay as their own version (hard links: no copy), before links replace them.
    const dir = `${bundle.layout.binDir}/${plan.keepFlat.version}`;
    lines.push(`install -d -m 0755 -o root -g root -- ${q(dir)}`);
    for (const n of plan.keepFlat.names) lines.push(`ln -f -- ${q(`${bundle.layout.binDir}/${n}`)} ${q(`${dir}/${n}`)}`);
    lines.push(`sync -- ${q(dir)} 2>/dev/null || sync`);
  }
  for (const f of plan.fixMetadata) {
    lines.push(`chown -h ${q(`${f.owner}:${f.group}`)} -- ${q(f.path)}`, `chmod ${octal(f.mode)} -- ${q(f.path)}`);
  }
  if (stagingDir !== undefined) lines.push(`rm -rf -- ${q(stagingDir)}`);
  if (plan.daemonReload) lines.push('systemctl daemon-reload');
  // --no-reload: enable would otherwise reload systemd a second time (~0.5 s).
  if (plan.enable) lines.push(`systemctl enable --no-reload --quiet ${unit}`);
  lines.push(...plan.firewall.commands);
  // The version switch comes last before the restart: every file is in place and the new etcd verified, so
  // a host rebooted at any point runs one consistent version (the old one until this rename).
  lines.push(...switchLinks(bundle, plan));
  if (plan.service === 'restart') lines.push(`systemctl restart --no-block ${unit}`);
  if (plan.service === 'start') lines.push(`systemctl start --no-block ${unit}`);
  return `${lines.join('\n')}\n`;
}
