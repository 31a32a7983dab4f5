/**
 * deployEtcdCluster and planEtcdCluster: validate → binaries + PKI → connect → inspect → (bootstrap |
 * update with rolling restarts) → health. Policy lives here; src/remote only carries it out.
 * @module
 */
import { caIdentity, type EtcdCluster } from '../etcd/index.js';
import { withPkiLock } from '../pki/index.js';
import { type SshConnection, startMember } from '../remote/index.js';
import { clientUrl, peerUrl } from '../render/index.js';
import { assertCaMatches } from './ca-rules.js';
import { adminTls, assertNotRotating, persistClusterPki } from './cluster-pki.js';
import { type DeployRun, installAndRecord } from './deploy-run.js';
import { joinMember } from './join.js';
import { restartAndWait } from './member-restart.js';
import { moveMembers, probeOldHosts } from './move.js';
import { replaceMembers } from './replace.js';
import { explainStartFailure } from './start-failure.js';
import { observeCas } from './observe-ca.js';
import { hasFileWork } from './operations.js';
import { observeVersions } from './observe-versions.js';
import { clusterMode, type InspectedMember, planCluster, readMembers } from './cluster-plan.js';
import { clientCertPaths, loadInput, openCluster, type PreparedDeploy, type PreparedMember, resolveSpec } from './prepare.js';
import { closeAll, forEachMember, memberError, remoteOptions } from './member-connections.js';
import type { ClusterPlan, DeployOptions, DeployResult, PlanOptions } from './types.js';
import type { ClusterSpecInput } from './spec-types.js';
import { confirmTargetVersion, prepareConnected } from './target-version.js';
import type { ClusterSpec } from './resolve-spec.js';
import { planVersionChange } from './version-rules.js';
import { takePreChangeSnapshot } from './pre-change-snapshot.js';
import { rollingRestart } from './rolling-restart.js';
import { DEFAULT_HEALTH_TIMEOUT_MS } from './options.js';
import { waitForEndpoints } from './wait-endpoints.js';

/** How long a running member that did not answer the plan's health check gets to answer before it is restarted, in ms. */
const SECOND_LOOK_MS = 5000;

function conn(ctx: DeployRun, m: PreparedMember): SshConnection {
  return ctx.connections.get(m.spec.name)!;
}

/**
 * Members the running cluster has that the spec does not name: reported, never removed (removing a member
 * is a decision etcd-kit leaves to the operator: `removeEtcdMember`). Best effort: no quorum, no report.
 */
async function unmanagedMembers(cluster: EtcdCluster, prepared: PreparedDeploy): Promise<{ id: string; warning: string }[]> {
  const wanted = new Set(prepared.members.map((m) => peerUrl(m.spec.cluster)));
  const members = await cluster.listMembers({ timeoutMs: 2000 }).catch(() => []);
  return members
    .filter((m) => !m.peerUrls.some((u) => wanted.has(u)))
    .map((m) => ({
      id: m.id,
      warning: `member ${m.name || m.id} (${m.peerUrls.join(', ')}) is in the cluster but not in the spec: left alone (remove it with: etcd-kit member remove ${m.name || '<name>'} -f <spec>)`,
    }));
}

/**
 * Founds the cluster: every member installed and started at once (etcd 3.4 is ready only at quorum). One
 * install per host, starting from the facts the plan read: one upload, one apply that starts etcd.
 */
async function bootstrap(ctx: DeployRun, cluster: EtcdCluster): Promise<void> {
  await forEachMember(ctx.prepared.members, 'upload', async (m) => {
    await installAndRecord(ctx, m, m.bootstrap, 'if-changed');
  });
  ctx.options.onProgress?.({ step: 'wait-healthy', message: 'waiting for the new cluster to elect a leader' });
  await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: ctx.options.signal });
  await finalize(ctx);
}

/**
 * Once the cluster exists, `ETCD_INITIAL_CLUSTER_STATE=existing` on every member: a member that loses
 * its data dir then rejoins instead of founding a second cluster (kubespray #13261). etcd reads the
 * state only when its data dir is empty, so no restart is needed.
 */
async function finalize(ctx: DeployRun): Promise<void> {
  ctx.options.onProgress?.({ step: 'finalize', message: 'ETCD_INITIAL_CLUSTER_STATE=existing on every member' });
  await forEachMember(ctx.prepared.members, 'finalize', async (m) => {
    // Only the env file differs from what was just installed, and the facts the install left say so:
    // no host read, just that file sent and renamed into place.
    await installAndRecord(ctx, m, m.steady, 'never');
  });
}

/**
 * Changes a running cluster: stage the files of members that do not restart, start stopped members, then
 * restart one member at a time (its files placed at its own turn, the leader last: rolling-restart.ts).
 */
async function update(ctx: DeployRun, cluster: EtcdCluster, inspected: InspectedMember[]): Promise<void> {
  const hasWork = (i: InspectedMember) => hasFileWork(i.plan);
  // A member that does not answer while its etcd runs (hung, wedged) is restarted at once, as the one being
  // fixed; every other restart is a step of the roll, with the cluster healthy before each.
  const revived = inspected.filter((i) => i.plan.service === 'restart' && i.state?.kind === 'down');
  const rolling = inspected.filter((i) => i.plan.service === 'restart' && !revived.includes(i));
  // Files to place, or only the host to fix (a firewall switched on after the deploy, the unit disabled).
  // A member of the roll gets its files at its own turn (rollingRestart), never earlier.
  const staged = inspected.filter((i) => !rolling.includes(i) && hasWork(i));
  await forEachMember(
    staged.map((i) => i.member),
    'upload',
    async (m) => {
      await installAndRecord(ctx, m, m.steady, 'never');
    },
  );

  // A member whose data is gone is replaced first, one at a time, the others healthy before and after.
  await replaceMembers(ctx, cluster, inspected);
  // A member the spec puts on another host: the old one cleaned (when reachable) and removed, the new one joins.
  await moveMembers(ctx, cluster, inspected);
  const joining = inspected.filter((i) => i.plan.service === 'join').map((i) => i.member);
  const present = ctx.prepared.members.filter((m) => !joining.includes(m)).map((m) => clientUrl(m.spec.cluster));
  const fixing = [...inspected.filter((i) => i.plan.service === 'start'), ...revived].map((i) => i.member);
  await forEachMember(fixing, 'start', async (m) => {
    const service = { layout: ctx.prepared.spec.layout, ...remoteOptions(m, ctx.options) };
    const report = ctx.reports.get(m.spec.name)!;
    if (revived.some((i) => i.member === m)) {
      // A second look first: a member busy for a moment (an election right after a membership change) is
      // not hung, and a restart would only take it away longer.
      const answers = await waitForEndpoints(cluster, { timeoutMs: SECOND_LOOK_MS, signal: ctx.options.signal, endpoints: [clientUrl(m.spec.cluster)] }).then(
        () => true,
        () => false,
      );
      if (answers) return;
      ctx.options.onProgress?.({ step: 'restart', member: m.spec.name, message: 'not answering while its etcd runs: restarting it' });
      await restartAndWait(conn(ctx, m), m, ctx.prepared.spec.layout, ctx.options, ctx.healthTimeoutMs);
      report.restarted = true;
    } else {
      ctx.options.onProgress?.({ step: 'start', member: m.spec.name });
      await startMember(conn(ctx, m), service);
      report.started = true;
    }
  });

  const toRestart = rolling.map((i) => i.member);
  if (fixing.length > 0 || toRestart.length > 0 || joining.length > 0) {
    ctx.options.onProgress?.({ step: 'wait-healthy', message: 'cluster must be healthy before any membership change or restart' });
    try {
      await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: ctx.options.signal, endpoints: present });
    } catch (err) {
      // A member just started or restarted that never came up: its journal says why.
      const m = fixing[0];
      if (fixing.length !== 1 || m === undefined) throw err;
      throw memberError(m, 'start', await explainStartFailure(conn(ctx, m), m, err, ctx.options.signal));
    }
  }
  // One at a time: each join changes the membership the next one must start with.
  for (const m of joining) {
    try {
      await joinMember(ctx, cluster, m);
    } catch (err) {
      throw memberError(m, 'start', err);
    }
  }
  if (toRestart.length === 0) return;
  // Rolling: never more than one member down, followers first, the leader last (see rolling-restart.ts).
  const stageAtTurn = new Set(rolling.filter(hasWork).map((i) => i.member));
  await rollingRestart(
    {
      cluster,
      members: ctx.prepared.members,
      options: ctx.options,
      healthTimeoutMs: ctx.healthTimeoutMs,
      health: await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: ctx.options.signal }),
      stage: async (m) => {
        if (stageAtTurn.has(m)) await installAndRecord(ctx, m, m.steady, 'never');
      },
      restart: async (m) => {
        await restartAndWait(conn(ctx, m), m, ctx.prepared.spec.layout, ctx.options, ctx.healthTimeoutMs);
        ctx.reports.get(m.spec.name)!.restarted = true;
      },
      // Failed to restart, or restarted but never healthy (systemd's Restart= loop): its journal says why.
      fail: async (m, err) => memberError(m, 'restart', await explainStartFailure(conn(ctx, m), m, err, ctx.options.signal)),
    },
    toRestart,
  );
}

function kubeApiserverFlags(prepared: PreparedDeploy): string[] {
  const certs = clientCertPaths(prepared.spec)['kube-apiserver'];
  return [
    `--etcd-servers=${prepared.endpoints.join(',')}`,
    ...(certs ? [`--etcd-cafile=${certs.caFile}`, `--etcd-certfile=${certs.certFile}`, `--etcd-keyfile=${certs.keyFile}`] : []),
  ];
}

/**
 * Turns a list of hosts into a healthy, secure etcd cluster — or brings an existing one in line with the
 * spec. Idempotent: a re-run with nothing changed uploads nothing and restarts nothing.
 *
 * Steps: validate the spec (before any host is touched) → take the PKI dir's lock
 * (`<pki.dir>/.etcd-kit.lock`, see {@link etcd-kit/pki!acquirePkiLock | acquirePkiLock}: another operation running from the dir is
 * `PKI_LOCKED`, before any host is touched; released however the deploy ends; {@link planEtcdCluster} takes none) →
 * fetch/verify binaries, know their etcd version, create or reuse the PKI → one SSH connection per member →
 * inspect, read what every member runs and apply etcd's version-change rules (a
 * refused change is `VERSION_CHANGE_REFUSED`, raised before any host changes) → found the cluster (all members started at once, then
 * `initial-cluster-state=existing` written everywhere) or update it (files staged, stopped members
 * started, a member whose data is gone replaced and one the spec puts on another host moved — its old host
 * cleaned when reachable, `member remove`, a join on the new host — changed members restarted one at a
 * time, each waiting for health) → final health check.
 *
 * @example
 * ```ts
 * import { deployEtcdCluster } from 'etcd-kit';
 *
 * const result = await deployEtcdCluster({
 *   members: [
 *     { name: 'etcd01', host: '192.168.35.128' },
 *     { name: 'etcd02', host: '192.168.35.195' },
 *     { name: 'etcd03', host: '192.168.35.138' },
 *   ],
 *   ssh: { user: 'root', privateKeyPath: '~/.ssh/id_ed25519' },
 *   etcd: { tarball: './etcd-v3.6.14-linux-amd64.tar.gz' },
 *   pki: { dir: './pki' },
 * });
 * console.log(result.changed ? 'deployed' : 'no changes', result.kubeApiserverFlags.join(' '));
 * ```
 * @category Deploy and day 2
 */
export async function deployEtcdCluster(spec: ClusterSpecInput | ClusterSpec, options: DeployOptions = {}): Promise<DeployResult> {
  const started = performance.now();
  const resolved = resolveSpec(spec, options);
  // A dry run changes nothing, so it takes no lock (a plan may run beside a deploy). A deploy takes it
  // before the binaries and the first SSH connection: one refused by it has touched no host.
  if (options.dryRun ?? false) return runDeploy(resolved, options, started);
  return withPkiLock(resolved.pki.dir, 'deploy', () => runDeploy(resolved, options, started));
}

/**
 * {@link deployEtcdCluster} after the spec is validated, without taking the PKI dir's lock: the caller holds
 * it (`removeEtcdMember` ends with a deploy under its own lock), or it is a dry run. Internal.
 */
export async function runDeploy(spec: ClusterSpec, options: DeployOptions, started = performance.now()): Promise<DeployResult> {
  const dryRun = options.dryRun ?? false;
  // Mid-rotation nothing here is right (leaves, trust): refused before the first connection (the PKI step repeats it).
  await assertNotRotating(spec.pki.dir);
  const input = await loadInput(spec, options);
  // Everything is rendered for the release installed: a tarball names it, a binDir's etcd is run once on
  // the first host (see target-version.ts). Unknown minors and bad releases stop here. Rendered in memory
  // only: the PKI dir is written once every check passed (see persistClusterPki below).
  const { prepared, connections } = await prepareConnected(input, options);
  let cluster: EtcdCluster | undefined;
  try {
    const inspections = await readMembers(prepared, connections, options);
    confirmTargetVersion(prepared.members, inspections, prepared.etcdVersion);
    const mode = clusterMode(inspections);
    // One read-only pass over the running cluster: the CAs members serve, their versions (whose health check is
    // the final one when nothing changes) and the member list, all at once.
    if (mode === 'update') cluster = openCluster(prepared);
    const [servedCas, observed, notInSpec] = await Promise.all([
      mode === 'update' ? observeCas(prepared.members, inspections, prepared.pki.pki.ca.certPem, options.signal) : [],
      observeVersions(prepared.members, inspections, cluster, prepared.etcdVersion, options.signal),
      cluster ? unmanagedMembers(cluster, prepared) : Promise.resolve([]),
    ]);
    // Running members must trust the PKI dir's CA, else shipping it is an outage: CA_MISMATCH, nothing changed.
    assertCaMatches({ mode, pkiDir: prepared.spec.pki.dir, pkiCa: caIdentity(prepared.pki.pki.ca.certPem), createdCa: prepared.pki.createdCa, members: servedCas });
    // etcd's rules for changing versions, before any host changes (a plan refuses the same way).
    const change = planVersionChange({ members: observed.members, cluster: observed.cluster, target: prepared.etcdVersion });
    const { plan, inspected } = planCluster(prepared, inspections, { observed: observed.members, change }, { health: observed.health, ...(options.backupDir ? { backupDir: options.backupDir } : {}) });
    const base = {
      plan,
      etcdVersion: prepared.etcdVersion,
      endpoints: prepared.endpoints,
      clientCerts: clientCertPaths(prepared.spec),
      kubeApiserverFlags: kubeApiserverFlags(prepared),
      token: prepared.token,
    };
    // The old member of a move is in the spec (by name, on its new host): not "left alone".
    const moving = new Set(inspected.flatMap((i) => (i.state?.kind === 'move' ? [i.state.memberId] : [])));
    plan.warnings.push(...notInSpec.filter((u) => !moving.has(u.id)).map((u) => u.warning));
    // A move's old host: reached (read-only) now, so the plan says whether its clean-up is skipped and a wrong host key stops here.
    plan.warnings.push(...(await probeOldHosts(inspected, options)));
    if (dryRun) {
      return { ...base, changed: !plan.noChanges, members: [], health: undefined, durationMs: performance.now() - started };
    }
    // Every refusal is behind us: now a new or renewed PKI goes to disk, before any host gets its files.
    await persistClusterPki(prepared.spec.pki.dir, prepared.pki);

    const ctx: DeployRun = {
      prepared,
      connections,
      options,
      healthTimeoutMs: options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
      reports: new Map(
        prepared.members.map((m) => [m.spec.name, { name: m.spec.name, host: m.spec.ssh.host, changedFiles: [], bytesSent: 0, started: false, restarted: false, firewallOpened: [] }]),
      ),
      facts: new Map(inspected.map((i) => [i.member.spec.name, i.inspection.facts])),
      warnings: plan.warnings,
    };
    cluster ??= openCluster(prepared);
    // A checked snapshot on the controller before any version change, before any host changes.
    const snapshot = plan.snapshotBeforeChange
      ? await takePreChangeSnapshot({
          dir: plan.snapshotBeforeChange.dir,
          token: prepared.token,
          version: [...new Set(plan.members.flatMap((m) => (m.version.running ? [m.version.running] : [])))].join('+') || 'unknown',
          endpoints: prepared.endpoints,
          tls: adminTls(prepared.pki.pki),
          signal: options.signal,
        })
      : undefined;
    if (snapshot) options.onProgress?.({ step: 'snapshot', message: `checked snapshot before the version change: ${snapshot.path}` });
    if (plan.mode === 'bootstrap') await bootstrap(ctx, cluster);
    else if (!plan.noChanges) await update(ctx, cluster, inspected);

    ctx.options.onProgress?.({ step: 'wait-healthy' });
    // Nothing changed since the versions were read: that check, if every member answered it, is the final one.
    const before = observed.health;
    const unchanged = plan.noChanges && before?.healthy === true && before.endpoints.every((e) => e.healthy);
    const health = unchanged ? before : await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: options.signal });
    const members = prepared.members.map((m, i) => {
      const report = ctx.reports.get(m.spec.name)!;
      const version = health.endpoints[i]?.status?.version;
      return version === undefined ? report : { ...report, version };
    });
    for (const m of members) {
      const what = m.moved ? `moved from ${m.moved.from}` : m.restarted ? 'restarted' : m.started ? 'started' : m.changedFiles.length > 0 ? 'files updated' : 'up to date';
      options.onProgress?.({ step: 'done', member: m.name, message: `${what}, healthy${m.version ? `, etcd ${m.version}` : ''}` });
    }
    options.onProgress?.({ step: 'done', message: plan.noChanges ? 'no changes' : 'deployed' });
    const changed = !plan.noChanges || members.some((m) => m.changedFiles.length > 0 || m.started || m.restarted);
    return { ...base, changed, members, health, durationMs: performance.now() - started, ...(snapshot ? { snapshot } : {}) };
  } finally {
    cluster?.close();
    await closeAll(connections);
  }
}

/**
 * Computes what {@link deployEtcdCluster} would do, changing nothing (read-only SSH, PKI only in memory),
 * and refuses what it would refuse (`VERSION_CHANGE_REFUSED`, ...). One exception to "read-only": an
 * `etcd.binDir` whose version is not known yet has its etcd uploaded to the first host's staging directory,
 * run with `--version` and deleted again (once per binary; the answer is remembered on the controller).
 *
 * @example
 * ```ts
 * import { planEtcdCluster } from 'etcd-kit';
 * const plan = await planEtcdCluster(spec);
 * if (!plan.noChanges) for (const op of plan.operations) console.log(op.kind, op.member ?? '', '—', op.reason);
 * ```
 * @category Deploy and day 2
 */
export async function planEtcdCluster(spec: ClusterSpecInput | ClusterSpec, options: PlanOptions = {}): Promise<ClusterPlan> {
  return (await deployEtcdCluster(spec, { ...options, dryRun: true })).plan;
}
