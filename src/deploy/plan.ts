// Compares what each host has with what it should have, without changing anything, and decides what a
// deploy will do: found a new cluster, or update a running one (files, starts, rolling restarts).
import { inspectMember, type MemberInspection, type SshConnection } from '../remote/index.js';
import type { PreparedDeploy, PreparedMember } from './prepare.js';
import { forEachMember, remoteOptions } from './sessions.js';
import type { ClusterPlan, DeployOptions, MemberPlan, PlannedFileChange } from './types.js';

/** A member's inspection plus the decisions derived from it. */
export interface InspectedMember {
  member: PreparedMember;
  inspection: MemberInspection;
  plan: MemberPlan;
  /** Files etcd reads changed in a way that needs a restart (a state-only env change does not). */
  needsRestart: boolean;
}

function envSha(bundle: PreparedMember['steady']): string {
  return bundle.files.find((f) => f.role === 'env')!.sha256;
}

function isRunning(inspection: MemberInspection): boolean {
  return inspection.unit.mainPid > 0 || inspection.unit.activeState === 'active' || inspection.unit.activeState === 'activating';
}

/** True when the member's env file on the host is already in the steady (`existing`) state. */
function hasSteadyEnv(m: PreparedMember, inspection: MemberInspection): boolean {
  return inspection.files.find((f) => f.role === 'env')?.actualSha256 === envSha(m.steady);
}

function fileChanges(inspection: MemberInspection): PlannedFileChange[] {
  return inspection.files.flatMap((f): PlannedFileChange[] => {
    if (f.status === 'missing') return [{ path: f.path, action: 'create' }];
    if (f.status === 'differs') return [{ path: f.path, action: 'update' }];
    return f.metadataOk ? [] : [{ path: f.path, action: 'permissions' }];
  });
}

/** Whether the pending changes need etcd restarted: any etcd-read file, except an env file whose only difference is the bootstrap state. */
function restartNeeded(m: PreparedMember, inspection: MemberInspection): boolean {
  const bootstrapEnv = envSha(m.bootstrap);
  return inspection.files.some((f) => {
    if (f.status === 'same') return false;
    const bundleFile = m.steady.files.find((b) => b.path === f.path);
    if (!bundleFile?.restartsService) return false;
    return !(f.role === 'env' && f.actualSha256 === bootstrapEnv);
  });
}

/** Inspects every member over its open connection (one round trip each, concurrently). */
export async function inspectMembers(
  prepared: PreparedDeploy,
  connections: Map<string, SshConnection>,
  options: DeployOptions,
): Promise<{ plan: ClusterPlan; inspected: InspectedMember[] }> {
  const inspections = await forEachMember(prepared.members, 'inspect', (m) =>
    inspectMember(connections.get(m.spec.name)!, m.steady, remoteOptions(m, options)),
  );
  const anyRunning = inspections.some(isRunning);
  const anySteady = prepared.members.some((m, i) => hasSteadyEnv(m, inspections[i]!));
  const mode = anyRunning || anySteady ? 'update' : 'bootstrap';

  const inspected = prepared.members.map((member, i): InspectedMember => {
    const inspection = inspections[i]!;
    const running = isRunning(inspection);
    const needsRestart = running && restartNeeded(member, inspection);
    return {
      member,
      inspection,
      needsRestart,
      plan: {
        name: member.spec.name,
        host: member.spec.ssh.host,
        files: fileChanges(inspection),
        service: running ? (needsRestart ? 'restart' : 'none') : 'start',
        running,
        mainPid: inspection.unit.mainPid,
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
    inspected.every((m) => m.plan.files.length === 0 && m.plan.service === 'none');
  return { plan: { mode, members: inspected.map((m) => m.plan), pki, noChanges, warnings: prepared.spec.warnings }, inspected };
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
    lines.push('No changes: every member is up to date and running.');
    return lines.join('\n');
  }
  lines.push(plan.mode === 'bootstrap' ? 'Bootstrap a new cluster:' : 'Update the running cluster:');
  if (plan.pki.createCa) lines.push('  + pki: create CA and all certificates');
  else {
    for (const m of plan.pki.issueMembers) lines.push(`  ~ pki: issue server/peer certificates for ${m}`);
    for (const c of plan.pki.issueClients) lines.push(`  + pki: issue client certificate ${c}`);
  }
  for (const m of plan.members) {
    const head = `  ${m.name} (${m.host})`;
    if (m.files.length === 0 && m.service === 'none') {
      lines.push(`${head}: up to date`);
      continue;
    }
    lines.push(`${head}:`);
    for (const f of m.files) lines.push(`    ${f.action === 'create' ? '+' : '~'} ${f.path}${f.action === 'permissions' ? ' (mode/owner)' : ''}`);
    if (m.service === 'start') lines.push('    > start etcd');
    if (m.service === 'restart') lines.push('    > restart etcd (rolling, one member at a time)');
  }
  return lines.join('\n');
}
