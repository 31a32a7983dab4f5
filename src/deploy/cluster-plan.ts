/**
 * Compares what each host has with what it should have, without changing anything, and decides what a
 * deploy will do: found a new cluster, or update a running one (files, starts, rolling restarts).
 * @module
 */
import type { ClusterHealth } from '../etcd/index.js';
import { inspectMember, type MemberInspection, type SshConnection, unitIsRunning } from '../remote/index.js';
import { parseEnvFile, peerUrl } from '../render/index.js';
import { assertReplacementsSafe, clusterObservation, decideMemberStates, type MemberObservation, type MemberState } from './member-state.js';
import { assertMovesSafe, decideMoves } from './move-rules.js';
import type { PreparedDeploy, PreparedMember } from './prepare.js';
import { planOperations, restartReason } from './operations.js';
import { backupDirOf } from './pre-change-snapshot.js';
import { needsPreChangeSnapshot } from './restart-order.js';
import { forEachMember, remoteOptions } from './member-connections.js';
import type { ClusterPlan, DeployOptions, MemberPlan, PlannedFileChange } from './types.js';
import type { MemberVersions, VersionChangePlan } from './version-rules.js';

/** A member's inspection plus the decisions derived from it. */
export interface InspectedMember {
  member: PreparedMember;
  inspection: MemberInspection;
  plan: MemberPlan;
  /** Files etcd reads changed in a way that needs a restart (a state-only env change does not). */
  needsRestart: boolean;
  /** What the member is in the running cluster (`up`, `down`, `replace`, `move`, `new`); absent without a running cluster. */
  state?: MemberState;
}

/** True when the member's env file on the host says the cluster exists already. */
function hasSteadyEnv(inspection: MemberInspection): boolean {
  const env = inspection.files.find((f) => f.role === 'env');
  if (env?.hostContent === undefined) return false;
  try {
    return parseEnvFile(env.hostContent)['ETCD_INITIAL_CLUSTER_STATE'] === 'existing';
  } catch {
    return false; // hand-edited beyond what we render
  }
}

function fileChanges(inspection: MemberInspection): PlannedFileChange[] {
  return inspection.files.flatMap((f): PlannedFileChange[] => {
    if (f.status === 'missing') return [{ path: f.path, action: 'create' }];
    if (f.status === 'differs') return [{ path: f.path, action: 'update' }];
    return f.metadataOk ? [] : [{ path: f.path, action: 'permissions' }];
  });
}

/** Inspects every member over its open connection (one round trip each, concurrently). Read-only. */
export function readMembers(prepared: PreparedDeploy, connections: Map<string, SshConnection>, options: DeployOptions): Promise<MemberInspection[]> {
  return forEachMember(prepared.members, 'inspect', (m) => inspectMember(connections.get(m.spec.name)!, m.steady, remoteOptions(m, options)));
}

/** `update` when a member runs or its env file says the cluster exists already, else `bootstrap`. */
export function clusterMode(inspections: readonly MemberInspection[]): ClusterPlan['mode'] {
  return inspections.some((i) => unitIsRunning(i.unit)) || inspections.some(hasSteadyEnv) ? 'update' : 'bootstrap';
}

/** The version side of a plan: what each member runs (observed) and the change decided for it. */
export interface PlannedVersions {
  /** Per member, in spec order (see `observeVersions`). */
  observed: readonly MemberVersions[];
  /** The decision of `planVersionChange` for the same members. */
  change: VersionChangePlan;
}

/** The running cluster as the deploy's one health check before any change saw it. */
export interface PlannedLiveState {
  /** That check (spec order); absent without a running cluster. */
  health: ClusterHealth | undefined;
  /** Where a snapshot before a version change goes (`DeployOptions.backupDir`, resolved). Default: `./etcd-kit-backups`. */
  backupDir?: string;
}

/**
 * Each member's state in a running cluster (see member-state.ts), or undefined without one (bootstrap, or no
 * health check). Throws `UNSAFE_CHANGE` for a replacement or a move that is not safe now.
 */
function memberStates(prepared: PreparedDeploy, inspections: readonly MemberInspection[], live: PlannedLiveState | undefined): MemberState[] | undefined {
  if (!live?.health) return undefined;
  const health = live.health;
  const observations = prepared.members.map(
    (m, i): MemberObservation => ({
      name: m.spec.name,
      peerUrl: peerUrl(m.spec.cluster),
      answers: health.endpoints[i]?.healthy === true,
      facts: { ...inspections[i]!.facts, unit: inspections[i]!.unit },
    }),
  );
  const cluster = clusterObservation(health);
  const states = decideMoves(observations, decideMemberStates(observations, cluster), cluster);
  assertMovesSafe(observations, states, cluster);
  assertReplacementsSafe(observations, states, cluster);
  return states;
}

/** The service action of a member the cluster sees as `state`, on top of what its files ask for (`reason`: why they do). */
function serviceFor(
  state: MemberState | undefined,
  fromFiles: Pick<MemberPlan, 'service' | 'reason'>,
  firewallBlocks: boolean,
): Pick<MemberPlan, 'service' | 'reason'> {
  if (state?.kind === 'replace') return { service: 'replace', reason: state.reason };
  if (state?.kind === 'move') return { service: 'move', reason: state.reason };
  // Down, its data there: started, never "up to date"; one whose etcd runs but does not answer (hung,
  // wedged) is restarted (after a second look), as the one member being fixed, not as a step of a roll — unless its
  // host's firewall blocks etcd's ports: opening them is the fix, the process is fine.
  if (state?.kind === 'down' && state.running && firewallBlocks && fromFiles.service !== 'restart') {
    return { service: 'start', reason: `${state.reason}; its host firewall blocks etcd's ports: opened` };
  }
  if (state?.kind === 'down') return { service: fromFiles.service === 'restart' || state.running ? 'restart' : 'start', reason: state.reason };
  if (state?.kind === 'new' && fromFiles.service === 'none') return { service: 'start', reason: 'not answering' };
  return fromFiles;
}

/**
 * What the deploy will do on every member, from what the hosts have (`inspections`, spec order), the
 * version change decided for them and (for a running cluster) the health check before any change: a
 * member that does not answer is never "up to date", a member that lost its data is replaced. Pure.
 * Throws `UNSAFE_CHANGE` for a replacement that is not safe now (see `assertReplacementsSafe`).
 */
export function planCluster(
  prepared: PreparedDeploy,
  inspections: readonly MemberInspection[],
  versions: PlannedVersions,
  live?: PlannedLiveState,
): { plan: ClusterPlan; inspected: InspectedMember[] } {
  const mode = clusterMode(inspections);
  const states = mode === 'update' ? memberStates(prepared, inspections, live) : undefined;
  const quorum = live?.health?.healthy === true;
  const inspected = prepared.members.map((member, i): InspectedMember => {
    const state = states?.[i];
    const inspection = inspections[i]!;
    const running = unitIsRunning(inspection.unit);
    const observed = versions.observed[i];
    const transition = versions.change.transitions[i]!;
    // A member still running another release than the one in place (a deploy cut short between placing the
    // binary and restarting) needs the restart even though no file differs.
    const stale = observed?.running !== undefined && observed.running !== versions.change.target ? { running: observed.running, target: versions.change.target } : undefined;
    const causes = inspection.pending.restartCauses;
    const needsRestart = running && (causes.length > 0 || stale !== undefined);
    // A host with no env file yet, next to a cluster that exists: it joins instead of starting.
    // A stopped host with no data, next to a cluster that exists, joins instead of starting: the cluster does
    // not list it, or lists it without its ever having started (a learner whose join was cut short must
    // still be promoted). Without a quorum's view of the membership, the host's missing env file says so.
    const envMissing = inspection.files.find((f) => f.role === 'env')?.status === 'missing';
    const joins = mode === 'update' && !running && (state === undefined || !quorum ? envMissing : state.kind === 'new');
    const fromFiles: Pick<MemberPlan, 'service' | 'reason'> = running
      ? needsRestart
        ? { service: 'restart', reason: restartReason(causes, stale) }
        : { service: 'none' }
      : { service: joins ? 'join' : 'start' };
    // A learner of the cluster (a join cut short, or started by systemd after it) is joined to the end:
    // started if it is not, and promoted once caught up — never left a learner.
    const learner = quorum && live?.health?.members.some((e) => e.isLearner && e.peerUrls.includes(peerUrl(member.spec.cluster))) === true;
    const service =
      learner && state?.kind !== 'replace' && state?.kind !== 'move'
        ? { service: 'join' as const, reason: 'a learner of the cluster: started if need be, promoted once caught up' }
        : serviceFor(state, fromFiles, inspection.pending.firewallOpens.length > 0);
    return {
      member,
      inspection,
      needsRestart: needsRestart && service.service === 'restart',
      ...(state ? { state } : {}),
      plan: {
        name: member.spec.name,
        host: member.spec.ssh.host,
        files: fileChanges(inspection),
        ...service,
        ...(state ? { state: state.kind } : {}),
        hostChanges: inspection.pending.hostChanges,
        firewallOpens: inspection.pending.firewallOpens,
        running,
        mainPid: inspection.unit.mainPid,
        version: {
          ...(observed?.running === undefined ? {} : { running: observed.running }),
          ...(observed?.onDisk === undefined ? {} : { onDisk: observed.onDisk }),
          target: versions.change.target,
          change: transition.kind,
        },
      },
    };
  });
  const pki = {
    createCa: prepared.pki.createdCa,
    issueMembers: prepared.pki.issuedMembers,
    issueClients: prepared.pki.issuedClients,
  };
  const noChanges =
    !pki.createCa &&
    pki.issueMembers.length === 0 &&
    pki.issueClients.length === 0 &&
    inspected.every(
      (m) =>
        m.plan.files.length === 0 &&
        m.plan.service === 'none' &&
        m.plan.firewallOpens.length === 0 &&
        m.plan.hostChanges.length === 0 &&
        // A version change is always a change, whatever the files say.
        m.plan.version.change === 'none',
    );
  const firewallWarnings = inspected.flatMap(({ member, inspection }) => {
    const { firewallWarning, firewallOpens, firewallPersistent } = inspection.pending;
    const notes = firewallWarning ? [`${member.spec.name}: ${firewallWarning}`] : [];
    if (firewallOpens.length > 0 && !firewallPersistent) {
      notes.push(
        `${member.spec.name}: ports ${firewallOpens.join(', ')} are opened in the live nftables ruleset only; ` +
          'after a reboot re-run deploy (or add the rule to /etc/nftables.conf)',
      );
    }
    return notes;
  });
  const warnings = [...prepared.spec.warnings, ...prepared.pki.warnings, ...firewallWarnings];
  const members = inspected.map((m) => m.plan);
  const snapshot = mode === 'update' && !noChanges && needsPreChangeSnapshot(members) ? { snapshotBeforeChange: { dir: backupDirOf(live?.backupDir) } } : {};
  const base = { mode, members, pki, etcdVersion: versions.change.target, noChanges, warnings, ...snapshot };
  const leader = live?.health?.leader?.name || undefined;
  return { plan: { ...base, operations: planOperations({ plan: base, leader }) }, inspected };
}
