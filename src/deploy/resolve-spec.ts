/**
 * Turns a user's cluster spec into a fully resolved ClusterSpec: schema check (zod), cross-field rules,
 * files that must exist on the controller, and every default applied in one place. The values are the
 * layers' own (remote: SSH, render: ports and layout, pki: key algorithm and clients, ./options.ts: the
 * rest), never restated here. Touches no host.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { EtcdKitError, isEtcdKitError } from '../errors.js';
import type { KeyAlgorithm } from '../pki/index.js';
import { PKI_DEFAULTS } from '../pki/index.js';
import {
  type ClusterMember,
  DEFAULT_CLIENT_PORT,
  DEFAULT_PEER_PORT,
  type EtcdLayout,
  type EtcdSettings,
  type ResolvedEtcdSettings,
  resolveLayout,
  resolveSettings,
  validateClusterMembers,
} from '../render/index.js';
import {
  DEFAULT_KNOWN_HOSTS_PATH,
  DEFAULT_SSH_IDENTITY_FILES,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  expandHome,
  resolveSshAgent,
  type SshTarget,
} from '../remote/index.js';
import { DEFAULT_PKI_DIR, DEFAULT_RENEW_BEFORE_DAYS } from './options.js';
import { clusterSpecSchema } from './spec-schema.js';
import type { ClusterSpecInput, EtcdSourceInput } from './spec-types.js';

/**
 * Where the etcd binaries come from, as in the spec but with paths made absolute and the checksum lower-case.
 * @category Deploy and day 2
 */
export type EtcdSource = EtcdSourceInput;

/**
 * One member of a resolved spec.
 * @category Deploy and day 2
 */
export interface ResolvedMember {
  /** etcd member name (`ETCD_NAME`). */
  name: string;
  /** Address etcd advertises and listens on (defaults to `host`). */
  address: string;
  /** Names and IPs its server and peer certificates cover (address, host, extra SANs; de-duplicated). */
  certHosts: string[];
  /** How to reach it over SSH. */
  ssh: SshTarget;
  /** The member as the renderers see it. */
  cluster: ClusterMember;
}

/**
 * A validated cluster spec with every default filled in. Produced by {@link resolveClusterSpec}.
 * @category Deploy and day 2
 */
export interface ClusterSpec {
  /** Brand telling a resolved spec apart from user input. */
  kind: 'etcd-kit/cluster-spec';
  /** Cluster name, used as the initial cluster token when given. */
  name: string | undefined;
  /** Members, in spec order. */
  members: ResolvedMember[];
  /** Source of the etcd binaries. */
  etcd: EtcdSource;
  /** The local PKI. */
  pki: {
    /** PKI directory on the controller (absolute). */
    dir: string;
    /** Algorithm of new keys. */
    keyAlgorithm: KeyAlgorithm;
    /** Client certificates to issue. */
    clients: string[];
    /** Leaf certificates ending within this many days are re-issued. */
    renewBeforeDays: number;
  };
  /** Paths on the hosts. */
  layout: EtcdLayout;
  /** etcd tunables with defaults applied. */
  settings: ResolvedEtcdSettings;
  /** The settings exactly as given (what the renderers are fed). */
  settingsInput: EtcdSettings;
  /** Non-fatal findings (even member count, single member). */
  warnings: string[];
}

/**
 * Options of {@link resolveClusterSpec}.
 * @category Deploy and day 2
 */
export interface ResolveSpecOptions {
  /** Directory relative paths in the spec are resolved against. Default: `process.cwd()`. */
  baseDir?: string;
  /** Environment used for defaults (`SSH_AUTH_SOCK`, `HOME`). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

function specError(field: string, message: string, cause?: unknown): EtcdKitError {
  return new EtcdKitError('INVALID_SPEC', `${field}: ${message}`, { field, cause });
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(spec)';
}

function firstIssue(error: z.ZodError): EtcdKitError {
  const issue = error.issues[0]!;
  // zod reports an unknown key on the parent object: name the key itself, which is what the user typed.
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return specError(fieldPath([...issue.path, key]), 'unknown field');
  }
  return specError(fieldPath(issue.path), issue.message);
}

function mustExist(path: string, field: string, kind: 'file' | 'dir'): void {
  if (!existsSync(path)) throw specError(field, `${kind === 'file' ? 'file' : 'directory'} not found: ${path}`);
  const isDir = statSync(path).isDirectory();
  if (kind === 'file' && isDir) throw specError(field, `is a directory, expected a file: ${path}`);
  if (kind === 'dir' && !isDir) throw specError(field, `is not a directory: ${path}`);
}

function uniqueHosts(hosts: string[]): string[] {
  return [...new Set(hosts)];
}

/** The spec as the schema returns it: shapes checked, nothing resolved. */
type ParsedSpec = z.output<typeof clusterSpecSchema>;

/** A spec path made absolute: `~/` is the user's home, a relative path is against the spec's base directory. */
type AbsPath = (path: string) => string;

/** The schema check: the input as a {@link ParsedSpec}, or the first issue as an `INVALID_SPEC` error. */
function parseSpec(input: unknown): ParsedSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw specError('(spec)', 'must be an object');
  }
  const parsed = clusterSpecSchema.safeParse(input);
  if (!parsed.success) throw firstIssue(parsed.error);
  return parsed.data;
}

/**
 * Refuses duplicates across members: names, and hosts (two members on one machine would fight over ports
 * and dirs). Returns the warnings about the member count.
 */
function checkMemberList(members: ParsedSpec['members']): string[] {
  const seenNames = new Map<string, number>();
  const seenHosts = new Map<string, number>();
  members.forEach((m, i) => {
    const dupName = seenNames.get(m.name);
    if (dupName !== undefined) throw specError(`members[${i}].name`, `duplicate member name '${m.name}' (also members[${dupName}])`);
    seenNames.set(m.name, i);
    const addr = (m.address ?? m.host).toLowerCase();
    const dupHost = seenHosts.get(addr);
    if (dupHost !== undefined) throw specError(`members[${i}].${m.address ? 'address' : 'host'}`, `duplicate address '${addr}' (also members[${dupHost}])`);
    seenHosts.set(addr, i);
  });
  if (members.length === 1) return ['a single member has no fault tolerance: losing it loses the cluster'];
  if (members.length % 2 === 0) return [`${members.length} members tolerate no more failures than ${members.length - 1}: prefer an odd count`];
  return [];
}

/** Settings: ranges and cross-field rules belong to the renderer; they are reported as spec errors. */
function resolveSpecSettings(settingsInput: EtcdSettings): ResolvedEtcdSettings {
  try {
    return resolveSettings(settingsInput);
  } catch (err) {
    if (isEtcdKitError(err)) throw specError(err.field ?? 'settings', err.message.replace(/^[^:]*: /, ''), err);
    throw err;
  }
}

function resolveSpecLayout(layout: ParsedSpec['layout']): EtcdLayout {
  try {
    return resolveLayout({ ...(layout?.prefix ? { prefix: layout.prefix } : {}), ...(layout?.dataDir ? { dataDir: layout.dataDir } : {}) });
  } catch (err) {
    if (isEtcdKitError(err)) throw specError(`layout.${err.field?.replace(/^layout\./, '') ?? ''}`, err.message, err);
    throw err;
  }
}

/**
 * SSH: the remote layer's defaults (as OpenSSH would pick them), key files checked before anything
 * connects. The shared settings are checked at once; the result gives member `i` its {@link SshTarget}.
 */
function sshTargets(spec: ParsedSpec, env: NodeJS.ProcessEnv, abs: AbsPath): (m: ParsedSpec['members'][number], i: number) => SshTarget {
  const ssh = spec.ssh ?? {};
  /** The agent a member uses (resolveSshAgent's rules), `hasKey` when it has a key file. */
  const agentFor = (hasKey: boolean): string | undefined => {
    try {
      return resolveSshAgent(ssh.agent, hasKey, env);
    } catch (err) {
      if (isEtcdKitError(err) && ssh.agent === true) throw specError('ssh.agent', 'true, but SSH_AUTH_SOCK is not set', err);
      if (isEtcdKitError(err)) throw specError('ssh.agent', err.message.replace(/^agent /, ''), err);
      throw err;
    }
  };
  agentFor(true); // refuses `agent: true` without SSH_AUTH_SOCK before any file is looked at
  const sharedKeyPath = ssh.privateKeyPath ? abs(ssh.privateKeyPath) : undefined;
  if (sharedKeyPath) mustExist(sharedKeyPath, 'ssh.privateKeyPath', 'file');
  const knownHostsPath = abs(ssh.knownHostsPath ?? DEFAULT_KNOWN_HOSTS_PATH);
  if (ssh.knownHostsPath) mustExist(knownHostsPath, 'ssh.knownHostsPath', 'file');
  const pinned = ssh.hostKeyFingerprints ?? {};
  for (const key of Object.keys(pinned)) {
    if (!spec.members.some((m) => m.host === key || m.name === key)) {
      throw specError(`ssh.hostKeyFingerprints.${key}`, 'names no member (use a member name or host)');
    }
  }

  return (m, i) => {
    const keyPath = m.ssh?.privateKeyPath ? abs(m.ssh.privateKeyPath) : sharedKeyPath;
    if (m.ssh?.privateKeyPath) mustExist(keyPath!, `members[${i}].ssh.privateKeyPath`, 'file');
    const fingerprint = m.ssh?.hostKeyFingerprint ?? pinned[m.name] ?? pinned[m.host];
    const useAgent = agentFor(keyPath !== undefined);
    const fallbackKey = keyPath ?? (useAgent ? undefined : DEFAULT_SSH_IDENTITY_FILES.map(abs).find((p) => existsSync(p)));
    if (!fallbackKey && !useAgent) {
      throw specError(`members[${i}].ssh.privateKeyPath`, 'no SSH credentials: set ssh.privateKeyPath or ssh.agent (no ~/.ssh/id_* key and no SSH_AUTH_SOCK found)');
    }
    const user = m.ssh?.user ?? ssh.user ?? DEFAULT_SSH_USER;
    const acceptUnknownHostKeys = ssh.acceptUnknownHostKeys ?? false;
    return {
      host: m.host,
      port: m.ssh?.port ?? ssh.port ?? DEFAULT_SSH_PORT,
      user,
      knownHostsPath,
      acceptUnknownHostKeys,
      // The deprecated spellings too, the same values: code that reads a resolved spec's targets keeps working.
      username: user,
      acceptUnknownHostKey: acceptUnknownHostKeys,
      ...(fallbackKey ? { privateKeyPath: fallbackKey } : {}),
      ...(useAgent ? { agent: useAgent } : {}),
      ...(ssh.passphrase !== undefined ? { passphrase: ssh.passphrase } : {}),
      ...(fingerprint ? { hostKeyFingerprint: fingerprint } : {}),
      ...(ssh.readyTimeoutMs ? { readyTimeoutMs: ssh.readyTimeoutMs } : {}),
    };
  };
}

/** The members with their addresses, certificate hosts, ports and SSH targets; the renderer's membership rules checked. */
function resolveMembers(spec: ParsedSpec, env: NodeJS.ProcessEnv, abs: AbsPath): ResolvedMember[] {
  const clientPort = spec.ports?.client ?? DEFAULT_CLIENT_PORT;
  const peerPort = spec.ports?.peer ?? DEFAULT_PEER_PORT;
  if (clientPort === peerPort) throw specError('ports.peer', `must differ from ports.client (${clientPort})`);
  const sshTarget = sshTargets(spec, env, abs);
  const members: ResolvedMember[] = spec.members.map((m, i) => {
    const address = m.address ?? m.host;
    return {
      name: m.name,
      address,
      certHosts: uniqueHosts([address, m.host, ...(m.extraSans ?? [])]),
      ssh: sshTarget(m, i),
      cluster: { name: m.name, address, clientPort, peerPort },
    };
  });
  try {
    validateClusterMembers(members.map((m) => m.cluster), 'members');
  } catch (err) {
    if (isEtcdKitError(err)) throw specError(err.field ?? 'members', err.message.replace(/^[^:]*: /, ''), err);
    throw err;
  }
  return members;
}

/** The source of the binaries, its paths absolute (and checked) and a checksum lower-case. */
function resolveSource(source: ParsedSpec['etcd'], abs: AbsPath): EtcdSource {
  if (source.tarball !== undefined) {
    const tarball = abs(source.tarball);
    mustExist(tarball, 'etcd.tarball', 'file');
    return { tarball };
  }
  if (source.binDir !== undefined) {
    const binDir = abs(source.binDir);
    mustExist(binDir, 'etcd.binDir', 'dir');
    for (const bin of ['etcd', 'etcdctl']) {
      if (!existsSync(`${binDir}/${bin}`)) throw specError('etcd.binDir', `has no '${bin}' binary: ${binDir}`);
    }
    return { binDir };
  }
  return { url: source.url!, sha256: source.sha256!.toLowerCase() };
}

/** The local PKI: its directory (absolute), key algorithm, clients and renewal window, the PKI layer's defaults applied. */
function resolvePki(pki: ParsedSpec['pki'], abs: AbsPath): ClusterSpec['pki'] {
  const dir = abs(pki?.dir ?? DEFAULT_PKI_DIR);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw specError('pki.dir', `is not a directory: ${dir}`);
  const clients = pki?.clients ?? [...PKI_DEFAULTS.clients];
  if (clients.length === 0) throw specError('pki.clients', 'must name at least one client (etcd-kit checks health with it)');
  const dupClient = clients.find((c, i) => clients.indexOf(c) !== i);
  if (dupClient) throw specError('pki.clients', `duplicate client '${dupClient}'`);
  return {
    dir,
    keyAlgorithm: (pki?.keyAlgorithm ?? PKI_DEFAULTS.keyAlgorithm) as KeyAlgorithm,
    clients,
    renewBeforeDays: pki?.renewBeforeDays ?? DEFAULT_RENEW_BEFORE_DAYS,
  };
}

/**
 * Validates a cluster spec and fills in every default. Every error is an `INVALID_SPEC`
 * {@link EtcdKitError} whose `field` names the offending path (`members[1].host`). Nothing touches a host.
 *
 * @example
 * ```ts
 * const spec = resolveClusterSpec({
 *   members: [{ name: 'etcd01', host: '10.0.0.11' }, { name: 'etcd02', host: '10.0.0.12' }, { name: 'etcd03', host: '10.0.0.13' }],
 *   etcd: { tarball: './etcd-v3.6.14-linux-amd64.tar.gz' },
 * });
 * spec.members[0].address; // '10.0.0.11'
 * ```
 * @category Deploy and day 2
 */
export function resolveClusterSpec(input: ClusterSpecInput | unknown, options: ResolveSpecOptions = {}): ClusterSpec {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? process.cwd();
  const abs: AbsPath = (p) => resolve(baseDir, expandHome(p, env));

  // In this order: the first error a user sees does not depend on how the checks are grouped.
  const spec = parseSpec(input);
  const warnings = checkMemberList(spec.members);
  const settingsInput = (spec.settings ?? {}) as EtcdSettings;
  const settings = resolveSpecSettings(settingsInput);
  const layout = resolveSpecLayout(spec.layout);
  const members = resolveMembers(spec, env, abs);
  const etcd = resolveSource(spec.etcd, abs);
  const pki = resolvePki(spec.pki, abs);
  return { kind: 'etcd-kit/cluster-spec', name: spec.name, members, etcd, pki, layout, settings, settingsInput, warnings };
}
