// Compares what each host has with what it should have, without changing anything, and decides what a
// deploy will do: found a new cluster, or update a running one (files, starts, rolling restarts).
import type { ClusterHealth } from '../etcd/index.js';
import { inspectMember, type MemberInspection, type SshConnection } from '../remote/index.js';
import { parseEnvFile, peerUrl } from '../render/index.js';
import { assertReplacementsSafe, clusterObservation, decideMemberStates, type MemberObservation, type MemberState } from './member-state.js';
import type { PreparedDeploy, PreparedMember } from './prepare.js';
import { forEachMember, remoteOptions } from './sessions.js';
import type { ClusterPlan, DeployOptions, MemberPlan, MemberVersionPlan, PlannedFileChange } from './types.js';
import type { MemberVersions, VersionChangePlan } from './version-rules.js';

/** A member's inspection plus the decisions derived from it. */
export interface InspectedMember {
  member: PreparedMember;
  inspection: MemberInspection;
  plan: MemberPlan;
  /** Files etcd reads changed in a way that needs a restart (a state-only env change does not). */
  needsRestart: boolean;
  /** What the member is in the running cluster (`up`, `down`, `replace`, `new`); absent without a running cluster. */
  state?: MemberState;
}

function isRunning(inspection: MemberInspection): boolean {
  return inspection.unit.mainPid > 0 || inspection.unit.activeState === 'active' || inspection.unit.activeState === 'activating';
}

// etcd reads these only when its data dir is empty (founding or joining): changing them on a running
// member needs no restart. Membership changes rewrite ETCD_INITIAL_CLUSTER on every member, for instance.
const BOOTSTRAP_ONLY_KEYS = new Set(['ETCD_INITIAL_CLUSTER', 'ETCD_INITIAL_CLUSTER_STATE', 'ETCD_INITIAL_CLUSTER_TOKEN']);

function parsedEnv(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    return parseEnvFile(text);
  } catch {
    return undefined; // hand-edited beyond what we render: treat as different everywhere
  }
}

/** True when the two env files differ in a setting a running etcd would pick up on restart. */
export function envNeedsRestart(hostText: string | undefined, desiredText: string): boolean {
  const host = parsedEnv(hostText);
  const desired = parseEnvFile(desiredText);
  if (!host) return true;
  const keys = new Set([...Object.keys(host), ...Object.keys(desired)]);
  return [...keys].some((k) => !BOOTSTRAP_ONLY_KEYS.has(k) && host[k] !== desired[k]);
}

/** True when the member's env file on the host says the cluster exists already. */
function hasSteadyEnv(inspection: MemberInspection): boolean {
  const env = inspection.files.find((f) => f.role === 'env');
  return parsedEnv(env?.hostContent)?.['ETCD_INITIAL_CLUSTER_STATE'] === 'existing';
}

function fileChanges(inspection: MemberInspection): PlannedFileChange[] {
  return inspection.files.flatMap((f): PlannedFileChange[] => {
    if (f.status === 'missing') return [{ path: f.path, action: 'create' }];
    if (f.status === 'differs') return [{ path: f.path, action: 'update' }];
    return f.metadataOk ? [] : [{ path: f.path, action: 'permissions' }];
  });
}

const BINARY_ROLES: ReadonlySet<string> = new Set(['etcd', 'etcdctl', 'etcdutl']);

/**
 * Whether the pending changes need etcd restarted: the etcd `<binDir>/etcd` starts changes (a version switch,
 * other bytes; not a move from flat paths keeping the same bytes), or any other file etcd reads changes,
 * except bootstrap-only env settings.
 */
function restartNeeded(m: PreparedMember, inspection: MemberInspection): boolean {
  if (inspection.pending.etcdChanges) return true;
  return inspection.files.some((f) => {
    if (f.status === 'same' || BINARY_ROLES.has(f.role)) return false;
    const bundleFile = m.steady.files.find((b) => b.path === f.path);
    if (!bundleFile?.restartsService) return false;
    return f.role !== 'env' || envNeedsRestart(f.hostContent, bundleFile.data.toString('utf8'));
  });
}

/** Inspects every member over its open connection (one round trip each, concurrently). Read-only. */
export function readMembers(prepared: PreparedDeploy, connections: Map<string, SshConnection>, options: DeployOptions): Promise<MemberInspection[]> {
  return forEachMember(prepared.members, 'inspect', (m) => inspectMember(connections.get(m.spec.name)!, m.steady, remoteOptions(m, options)));
}

/** `update` when a member runs or its env file says the cluster exists already, else `bootstrap`. */
export function clusterMode(inspections: readonly MemberInspection[]): ClusterPlan['mode'] {
  return inspections.some(isRunning) || inspections.some(hasSteadyEnv) ? 'update' : 'bootstrap';
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
}

/**
 * Each member's state in a running cluster (see member-state.ts), or undefined without one (bootstrap, or no
 * health check). Throws `UNSAFE_CHANGE` for a replacement that is not safe now.
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
  const states = decideMemberStates(observations, cluster);
  assertReplacementsSafe(observations, states, cluster);
  return states;
}

/** The service action of a member the cluster sees as `state`, on top of what its files ask for. */
function serviceFor(state: MemberState | undefined, fromFiles: MemberPlan['service']): Pick<MemberPlan, 'service' | 'reason'> {
  if (state?.kind === 'replace') return { service: 'replace', reason: state.reason };
  // Down, its data there: started (a crash-looping unit is started again at once), never "up to date".
  if (state?.kind === 'down') return { service: fromFiles === 'restart' ? 'restart' : 'start', reason: state.reason };
  if (state?.kind === 'new' && fromFiles === 'none') return { service: 'start', reason: 'not answering' };
  return { service: fromFiles };
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
  const inspected = prepared.members.map((member, i): InspectedMember => {
    const state = states?.[i];
    const inspection = inspections[i]!;
    const running = isRunning(inspection);
    const observed = versions.observed[i];
    const transition = versions.change.transitions[i]!;
    // A member still running another release than the one in place (a deploy cut short between placing the
    // binary and restarting) needs the restart even though no file differs.
    const staleProcess = observed?.running !== undefined && observed.running !== versions.change.target;
    const needsRestart = running && (restartNeeded(member, inspection) || staleProcess);
    // A host with no env file yet, next to a cluster that exists: it joins instead of starting.
    const joins = mode === 'update' && !running && inspection.files.find((f) => f.role === 'env')?.status === 'missing';
    const service = serviceFor(state, running ? (needsRestart ? 'restart' : 'none') : joins ? 'join' : 'start');
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
  return {
    plan: { mode, members: inspected.map((m) => m.plan), pki, etcdVersion: versions.change.target, noChanges, warnings },
    inspected,
  };
}

/** One member's version line: `3.4.23 → 3.5.30 (upgrade)`, `3.5.30 (install)`, `3.5.30 (on disk) → 3.5.33 (patch-up)`. */
export function formatVersionChange(v: MemberVersionPlan): string {
  const from = v.running ?? (v.onDisk === undefined ? undefined : `${v.onDisk} (on disk)`);
  if (from === undefined) return `${v.target} (${v.change})`;
  return v.change === 'none' ? `${from} (no change)` : `${from} → ${v.target} (${v.change})`;
}

/**
 * Renders a plan as a short, diff-like text for people.
 *
 * @example
 * ```ts
 * console.log(formatPlan(await planEtcdCluster(spec)));
 * ```
 */
export function formatPlan(plan: ClusterPlan): string {
  const lines: string[] = [];
  for (const w of plan.warnings) lines.push(`! warning: ${w}`);
  if (plan.noChanges) {
    lines.push(`No changes: every member is up to date and running etcd ${plan.etcdVersion}.`);
    return lines.join('\n');
  }
  lines.push(plan.mode === 'bootstrap' ? `Bootstrap a new cluster on etcd ${plan.etcdVersion}:` : 'Update the running cluster:');
  // Members that are not well first, one line each with its reason.
  for (const m of plan.members) if (m.reason !== undefined) lines.push(`  ${m.service} ${m.name}: ${m.reason}`);
  if (plan.mode === 'update') {
    lines.push(`  etcd ${plan.etcdVersion}:`);
    for (const m of plan.members) lines.push(`    ${m.name}: ${formatVersionChange(m.version)}`);
  }
  if (plan.snapshotBeforeChange) lines.push(`  + snapshot: a checked snapshot before the first restart, into ${plan.snapshotBeforeChange.dir}`);
  if (plan.pki.createCa) lines.push('  + pki: create CA and all certificates');
  else {
    for (const m of plan.pki.issueMembers) lines.push(`  ~ pki: issue server/peer certificates for ${m}`);
    for (const c of plan.pki.issueClients) lines.push(`  + pki: issue client certificate ${c}`);
  }
  for (const m of plan.members) {
    const head = `  ${m.name} (${m.host})`;
    if (m.files.length === 0 && m.service === 'none' && m.firewallOpens.length === 0 && m.hostChanges.length === 0) {
      lines.push(`${head}: up to date`);
      continue;
    }
    lines.push(`${head}:`);
    for (const f of m.files) lines.push(`    ${f.action === 'create' ? '+' : '~'} ${f.path}${f.action === 'permissions' ? ' (mode/owner)' : ''}`);
    for (const c of m.hostChanges) lines.push(`    ~ ${c}`);
    if (m.firewallOpens.length > 0) lines.push(`    + open ports ${m.firewallOpens.join(', ')} in the host firewall`);
    if (m.service === 'start') lines.push('    > start etcd');
    if (m.service === 'join') lines.push('    > join the running cluster (added as a learner, promoted once caught up)');
    if (m.service === 'restart') lines.push('    > restart etcd (rolling, one member at a time)');
    if (m.service === 'replace') {
      lines.push('    > replace: stop etcd, member remove, data dir cleared (a non-empty one kept aside), added as a learner, started, promoted');
    }
  }
  return lines.join('\n');
}
