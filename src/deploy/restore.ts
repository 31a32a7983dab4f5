/**
 * Disaster recovery: a cluster rebuilt from one snapshot (`restoreEtcdCluster`), or from the data of the
 * one member that survived the loss of the quorum (`recoverEtcdCluster`). Both follow etcd's recovery
 * guide on every member at once: the files installed as a deploy does (fresh hosts get everything), etcd
 * stopped everywhere, the same snapshot restored into a new data dir on each member (with the spec's
 * names and peer URLs and a new cluster token: new cluster and member IDs, so no member of the old cluster
 * can talk to the new one), the old data dir moved aside (never deleted), every member started at once,
 * healthy. Every refusal comes before any host changes.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { utcStamp } from '../utc-stamp.js';
import {
  caIdentity,
  type ClusterHealth,
  type EtcdCluster,
  readClusterIdentity,
  readSnapshotFile,
  saveSnapshot,
  type SnapshotFile,
} from '../etcd/index.js';
import { withPkiLock } from '../pki/index.js';
import {
  clearStartOnce,
  installMember,
  type MemberInspection,
  readMemberDb,
  restoreMemberData,
  type SshConnection,
  startMember,
  startMemberOnceWith,
  stopMember,
  unitIsRunning,
  uploadSnapshot,
} from '../remote/index.js';
import { clientUrl, peerUrl, restoreStartEnv, snapshotRestoreCommand } from '../render/index.js';
import { assertCaMatches } from './ca-rules.js';
import { adminTls, assertNotRotating, persistClusterPki } from './cluster-pki.js';
import { observeCas } from './observe-ca.js';
import { backupDirOf, snapshotFileName } from './pre-change-snapshot.js';
import { readMembers } from './cluster-plan.js';
import { loadInput, openCluster, type PreparedDeploy, type PreparedMember, resolveSpec } from './prepare.js';
import { closeAll, forEachMember, remoteOptions } from './member-connections.js';
import type { ClusterSpecInput } from './spec-types.js';
import { confirmTargetVersion, prepareConnected } from './target-version.js';
import type { DeployOptions } from './types.js';
import type { ClusterSpec } from './resolve-spec.js';
import { DEFAULT_HEALTH_TIMEOUT_MS } from './options.js';
import { waitForEndpoints } from './wait-endpoints.js';


/**
 * Options of {@link restoreEtcdCluster}.
 * @category Deploy and day 2
 */
export interface RestoreOptions extends Pick<DeployOptions, 'onProgress' | 'signal' | 'downloadCacheDir'> {
  /** The snapshot file on the controller (`saveSnapshot`, `etcdctl snapshot save`). Required. */
  snapshot: string;
  /**
   * Restore over a cluster that is running and healthy: a rollback of every key to the snapshot. Without
   * it such a cluster is refused (`UNSAFE_CHANGE`). Default: false.
   */
  replaceRunning?: boolean;
  /**
   * Raise the revision by this much after the restore, so watch clients (kube-apiserver) never see it go
   * back: more than the writes since the snapshot (e.g. 1 000 000000). Needs `markCompacted` and etcd
   * 3.5.10+. Default: 0.
   */
  bumpRevision?: number;
  /** Mark the restored revision compacted, so watchers resynchronize (required with `bumpRevision`). Default: false. */
  markCompacted?: boolean;
  /** Longest wait in ms for the restored cluster to be healthy. Default: 120000. */
  healthTimeoutMs?: number;
}

/**
 * Options of {@link recoverEtcdCluster}.
 * @category Deploy and day 2
 */
export interface RecoverOptions extends Pick<RestoreOptions, 'onProgress' | 'signal' | 'downloadCacheDir' | 'healthTimeoutMs'> {
  /** The member (spec name) whose data survived: every member is rebuilt from it. Required. */
  from: string;
  /**
   * Directory on the controller where the data taken from `from` is kept (a snapshot file, or its db file),
   * mode 0600. Default: `./etcd-kit-backups`.
   */
  backupDir?: string;
}

/**
 * One member after a restore.
 * @category Deploy and day 2
 */
export interface RestoredMember {
  /** Member name. */
  name: string;
  /** SSH host. */
  host: string;
  /** Its new member ID (hex). */
  memberId: string;
  /** Where its old data dir went (`<dataDir>.before-restore-<stamp>`); absent when there was none. */
  movedAside?: string;
}

/**
 * What {@link restoreEtcdCluster} and {@link recoverEtcdCluster} did.
 * @category Deploy and day 2
 */
export interface RestoreResult {
  /** The new cluster's ID (hex). */
  clusterId: string;
  /** The key space's revision right after the restore (the snapshot's, plus any bump), decimal. */
  revision: string;
  /** Per member, spec order. */
  members: RestoredMember[];
  /** The health picture once every member answered. */
  health: ClusterHealth;
  /** The data restored: the snapshot file (for a recovery: what was taken from the surviving member). */
  snapshot: {
    /** File on the controller. */
    path: string;
    /** Hex SHA-256 of the file. */
    sha256: string;
    /** Size in bytes. */
    bytes: number;
  };
  /** Client URLs of the members. */
  endpoints: string[];
  /** Wall time in ms. */
  durationMs: number;
}

/** The spec resolved and rendered, one SSH connection per member, and what each host has (read-only). */
interface Opened {
  prepared: PreparedDeploy;
  connections: Map<string, SshConnection>;
  inspections: MemberInspection[];
}

async function open(spec: ClusterSpec, options: DeployOptions): Promise<Opened> {
  await assertNotRotating(spec.pki.dir);
  const { prepared, connections } = await prepareConnected(await loadInput(spec, options), options);
  try {
    const inspections = await readMembers(prepared, connections, options);
    confirmTargetVersion(prepared.members, inspections, prepared.etcdVersion);
    return { prepared, connections, inspections };
  } catch (err) {
    await closeAll(connections);
    throw err;
  }
}

/**
 * Validates the spec, takes the PKI dir's lock (before any host is touched: another operation running from
 * the dir is PKI_LOCKED), opens the hosts and the cluster, runs `fn`; closes and releases however it ends.
 */
async function withOpened<T>(
  spec: ClusterSpecInput | ClusterSpec,
  options: DeployOptions,
  operation: string,
  fn: (o: Opened, cluster: EtcdCluster) => Promise<T>,
): Promise<T> {
  const resolved = resolveSpec(spec, options);
  return withPkiLock(resolved.pki.dir, operation, async () => {
    const o = await open(resolved, options);
    const cluster = openCluster(o.prepared);
    try {
      return await fn(o, cluster);
    } finally {
      cluster.close();
      await closeAll(o.connections);
    }
  });
}

function invalid(field: string, message: string): EtcdKitError {
  return new EtcdKitError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

/** The restore command of every member checked once up front: a bump the release cannot do stops here. */
function checkRestoreFlags(prepared: PreparedDeploy, flags: Pick<RestoreOptions, 'bumpRevision' | 'markCompacted'>): void {
  const m = prepared.members[0]!;
  restoreCommandFor(prepared, m, { snapshotPath: '/s', dataDir: '/d' }, 'check', flags, false);
}

function restoreCommandFor(
  prepared: PreparedDeploy,
  m: PreparedMember,
  paths: { snapshotPath: string; dataDir: string },
  token: string,
  flags: Pick<RestoreOptions, 'bumpRevision' | 'markCompacted'>,
  skipHashCheck: boolean,
) {
  return snapshotRestoreCommand({
    etcdVersion: prepared.etcdVersion,
    binDir: m.steady.layout.binDir,
    ...paths,
    name: m.spec.name,
    initialCluster: prepared.members.map((o) => ({ name: o.spec.name, peerUrl: peerUrl(o.spec.cluster) })),
    token,
    peerUrl: peerUrl(m.spec.cluster),
    ...(flags.bumpRevision !== undefined ? { bumpRevision: flags.bumpRevision } : {}),
    ...(flags.markCompacted !== undefined ? { markCompacted: flags.markCompacted } : {}),
    skipHashCheck,
  });
}


/** Members whose etcd answered the health check, and those that did not (by name). */
function answering(prepared: PreparedDeploy, health: ClusterHealth | undefined): { up: string[]; down: string[] } {
  const up = prepared.members.filter((_, i) => health?.endpoints[i]?.healthy === true).map((m) => m.spec.name);
  return { up, down: prepared.members.map((m) => m.spec.name).filter((n) => !up.includes(n)) };
}

/** The running cluster as it is before anything changes (no check when no member runs). */
async function observe(o: Opened, cluster: EtcdCluster, signal: AbortSignal | undefined): Promise<ClusterHealth | undefined> {
  if (!o.inspections.some((i) => unitIsRunning(i.unit))) return undefined;
  const [health, served] = await Promise.all([
    cluster.checkHealth({ timeoutMs: 3000 }).catch(() => undefined),
    observeCas(o.prepared.members, o.inspections, o.prepared.pki.pki.ca.certPem, signal),
  ]);
  // Members that run must trust the PKI dir's CA: this is not some other cluster's PKI dir.
  assertCaMatches({ mode: 'update', pkiDir: o.prepared.spec.pki.dir, pkiCa: caIdentity(o.prepared.pki.pki.ca.certPem), createdCa: o.prepared.pki.createdCa, members: served });
  return health;
}

/** Everything a restore does once the data to restore is on the controller and every refusal is behind. */
async function restoreAll(
  o: Opened,
  cluster: EtcdCluster,
  before: ClusterHealth | undefined,
  snapshot: SnapshotFile,
  flags: Pick<RestoreOptions, 'bumpRevision' | 'markCompacted' | 'healthTimeoutMs'>,
  options: DeployOptions,
  started: number,
): Promise<RestoreResult> {
  const { prepared, connections } = o;
  const conn = (m: PreparedMember) => connections.get(m.spec.name)!;
  const service = (m: PreparedMember) => ({ layout: prepared.spec.layout, ...remoteOptions(m, options) });
  await persistClusterPki(prepared.spec.pki.dir, prepared.pki);
  const stamp = utcStamp();
  const token = `${prepared.token}-restored-${stamp}`;
  // Files first (a fresh host gets everything; a running member is not restarted) and the snapshot
  // uploaded, all hosts at once; only then is etcd stopped, before any data changes.
  const uploaded = await forEachMember(prepared.members, 'upload', async (m, i) => {
    await installMember(conn(m), m.steady, { ...remoteOptions(m, options), restart: 'never', facts: o.inspections[i]!.facts });
    return uploadSnapshot(conn(m), snapshot, { ...remoteOptions(m, options), label: `${m.steady.layout.dataDir} (snapshot)` });
  });
  // Followers first, then the leader: a leader stopping while its followers run hands leadership over, and
  // one whose followers stop at the same time waits for that hand-over to time out (7 s on etcd 3.6).
  const leader = prepared.members.find((m) => m.spec.name === before?.leader?.name);
  options.onProgress?.({ step: 'restore', message: `stopping etcd on every member${leader ? `, ${leader.spec.name} (the leader) last` : ''}` });
  const stop = (ms: PreparedMember[]) =>
    forEachMember(ms, 'restore', async (m) => {
      await stopMember(conn(m), service(m));
    });
  await stop(prepared.members.filter((m) => m !== leader));
  if (leader) await stop([leader]);
  const reports = await forEachMember(prepared.members, 'restore', async (m, i) => {
    options.onProgress?.({ step: 'restore', member: m.spec.name, message: `restoring ${snapshot.bytes} bytes into a new data dir` });
    const report = await restoreMemberData(conn(m), {
      ...remoteOptions(m, options),
      bundle: m.steady,
      snapshot,
      stamp,
      uploaded: uploaded[i]!,
      command: (paths) => restoreCommandFor(prepared, m, paths, token, flags, !snapshot.hasIntegrityTrailer),
    });
    if (report.movedAside) options.onProgress?.({ step: 'restore', member: m.spec.name, message: `old data dir moved aside to ${report.movedAside}` });
    return report;
  });
  // All at once: a restored member waits for a quorum of the others before it serves. This first start
  // skips the initial corruption check (identical data everywhere; see restoreStartEnv); later ones run it.
  await forEachMember(prepared.members, 'start', async (m) => {
    const env = m.steady.files.find((f) => f.role === 'env');
    const once = env ? restoreStartEnv(env.data.toString('utf8')) : undefined;
    await (once ? startMemberOnceWith(conn(m), { ...service(m), env: once }) : startMember(conn(m), service(m)));
  });
  options.onProgress?.({ step: 'wait-healthy', message: 'waiting for the restored cluster to elect a leader' });
  let health: ClusterHealth;
  try {
    health = await waitForEndpoints(cluster, { timeoutMs: flags.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS, signal: options.signal });
  } finally {
    // Whether or not it came up, the next start reads only the env file (best effort after a failure).
    await forEachMember(prepared.members, 'start', (m) => clearStartOnce(conn(m), service(m))).catch(() => undefined);
  }
  const identity = await readClusterIdentity({ endpoints: prepared.endpoints, tls: adminTls(prepared.pki.pki) });
  options.onProgress?.({ step: 'done', message: `restored: cluster ${identity.clusterId}, revision ${identity.revision}` });
  return {
    clusterId: identity.clusterId,
    revision: identity.revision,
    members: prepared.members.map((m, i) => ({
      name: m.spec.name,
      host: m.spec.ssh.host,
      memberId: health.endpoints[i]?.status?.memberId ?? '',
      ...(reports[i]!.movedAside ? { movedAside: reports[i]!.movedAside } : {}),
    })),
    health,
    snapshot: { path: snapshot.path, sha256: snapshot.sha256, bytes: snapshot.bytes },
    endpoints: prepared.endpoints,
    durationMs: performance.now() - started,
  };
}

/**
 * Restores the cluster of `spec` from a snapshot file: onto the same hosts (running or not, after a
 * `resetEtcdCluster` too) or onto other hosts (the cluster moves). Checks the file's SHA-256 trailer before
 * any host is touched (`SNAPSHOT_INVALID`); refuses a running, healthy cluster unless `replaceRunning`
 * (`UNSAFE_CHANGE`: that is a rollback of the data), a bump the installed etcd cannot do
 * (`RENDER_INVALID_INPUT`, field `bumpRevision`), and a PKI dir that is not the running cluster's
 * (`CA_MISMATCH`). Each member's old data dir is kept as `<dataDir>.before-restore-<UTC stamp>`. Holds the
 * PKI dir's lock throughout, taken before any host is touched (`PKI_LOCKED` while another operation runs
 * from the dir, see {@link etcd-kit/pki!acquirePkiLock | acquirePkiLock}).
 *
 * @example
 * ```ts
 * import { restoreEtcdCluster } from 'etcd-kit';
 * const r = await restoreEtcdCluster(spec, { snapshot: 'backups/etcd-20261201T030000Z.db', replaceRunning: true,
 *   bumpRevision: 1_000_000_000, markCompacted: true });
 * console.log(`cluster ${r.clusterId} at revision ${r.revision}`);
 * ```
 * @category Deploy and day 2
 */
export async function restoreEtcdCluster(spec: ClusterSpecInput | ClusterSpec, options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  if (options === null || typeof options !== 'object') throw invalid('options', 'an object with `snapshot` is required');
  if (options.replaceRunning !== undefined && typeof options.replaceRunning !== 'boolean') throw invalid('replaceRunning', 'must be a boolean');
  options.onProgress?.({ step: 'validate', message: `checking ${options.snapshot}` });
  const snapshot = await readSnapshotFile(options.snapshot);
  return withOpened(spec, options, 'restore', async (o, cluster) => {
    checkRestoreFlags(o.prepared, options);
    const before = await observe(o, cluster, options.signal);
    if (before?.healthy && !options.replaceRunning) {
      const { up } = answering(o.prepared, before);
      throw new EtcdKitError(
        'UNSAFE_CHANGE',
        `the cluster is running and healthy (${up.join(', ')} answer): restoring ${options.snapshot} would replace every key with the snapshot's — a rollback of the data. ` +
          'Nothing was changed. Pass replaceRunning: true (--replace-running) to do that.',
        { details: { rule: 'running-cluster', answering: up } },
      );
    }
    return restoreAll(o, cluster, before, snapshot, options, options, started);
  });
}

/**
 * Rebuilds a cluster that lost its quorum for good (a majority of hosts dead or wiped) from the data of
 * the member `from` that survived: its snapshot when its etcd still answers one, else its database file
 * (restored with the hash check skipped, as etcd documents for a copied db). The data taken is kept on
 * the controller (`backupDir`) first; then every member is rebuilt as {@link restoreEtcdCluster} does.
 * Refuses while the cluster has a quorum (`UNSAFE_CHANGE`, naming the members that are down: replacing
 * them is the way, `deployEtcdCluster` does it) and a `from` without data. Holds the PKI dir's lock as
 * {@link restoreEtcdCluster} does.
 *
 * @example
 * ```ts
 * import { recoverEtcdCluster } from 'etcd-kit';
 * const r = await recoverEtcdCluster(spec, { from: 'etcd01' });
 * ```
 * @category Deploy and day 2
 */
export async function recoverEtcdCluster(spec: ClusterSpecInput | ClusterSpec, options: RecoverOptions): Promise<RestoreResult> {
  const started = performance.now();
  if (options === null || typeof options !== 'object' || typeof options.from !== 'string' || options.from === '') throw invalid('from', 'the name of the member whose data survived is required');
  return withOpened(spec, options, 'recover', async (o, cluster) => {
    const index = o.prepared.members.findIndex((m) => m.spec.name === options.from);
    if (index < 0) throw invalid('from', `${options.from} is not a member of the spec (members: ${o.prepared.members.map((m) => m.spec.name).join(', ')})`);
    const source = o.prepared.members[index]!;
    if (!o.inspections[index]!.facts.memberData) {
      throw new EtcdKitError('UNSAFE_CHANGE', `${source.spec.name} has no data to recover from (${source.steady.layout.dataDir}/member is missing). Nothing was changed.`, {
        member: source.spec.name,
        details: { rule: 'no-data' },
      });
    }
    const before = await observe(o, cluster, options.signal);
    if (before?.healthy) {
      const { up, down } = answering(o.prepared, before);
      throw new EtcdKitError(
        'UNSAFE_CHANGE',
        `the cluster has a quorum (${up.join(', ')} answer${down.length > 0 ? `; ${down.join(', ')} ${down.length === 1 ? 'does' : 'do'} not` : ''}): ` +
          'recover is for a lost quorum. Nothing was changed. Replace the failed members instead: deployEtcdCluster does it.',
        { details: { rule: 'quorum', answering: up, down } },
      );
    }
    const snapshot = await takeSurvivorData(o, source, index, before, options);
    return restoreAll(o, cluster, before, snapshot, options, options, started);
  });
}

/** The survivor's data on the controller: its snapshot if its etcd serves one, else its db file (etcd stopped first). */
async function takeSurvivorData(o: Opened, source: PreparedMember, index: number, before: ClusterHealth | undefined, options: RecoverOptions): Promise<SnapshotFile> {
  const dir = backupDirOf(options.backupDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const base = snapshotFileName(o.prepared.token, `recover-from-${source.spec.name}`, new Date());
  const conn = o.connections.get(source.spec.name)!;
  if (before?.endpoints[index]?.status !== undefined) {
    const path = join(dir, base);
    try {
      options.onProgress?.({ step: 'snapshot', member: source.spec.name, message: `snapshot from ${source.spec.name} into ${path}` });
      await saveSnapshot({ endpoints: [clientUrl(source.spec.cluster)], tls: adminTls(o.prepared.pki.pki), path, timeoutMs: 60_000, ...(options.signal ? { signal: options.signal } : {}) });
      return await readSnapshotFile(path);
    } catch (err) {
      if (err instanceof EtcdKitError && err.code === 'ABORTED') throw err;
      options.onProgress?.({ step: 'snapshot', member: source.spec.name, message: `no snapshot (${(err as Error).message}): copying its db file instead` });
    }
  }
  options.onProgress?.({ step: 'snapshot', member: source.spec.name, message: 'stopping etcd and copying its db file' });
  await stopMember(conn, { layout: o.prepared.spec.layout, ...remoteOptions(source, options) });
  const db = await readMemberDb(conn, { ...remoteOptions(source, options), bundle: source.steady });
  const path = resolve(dir, base.replace(/\.db$/, '.member-db'));
  await writeFile(path, db.data, { mode: 0o600 });
  return readSnapshotFile(path, { skipHashCheck: true });
}
