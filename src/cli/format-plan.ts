/**
 * Plans as text for people: the operations first, one numbered line each with its reason, then per-member
 * details (versions, files). `--json` prints the same plan object.
 * @module
 */
import type { ClusterPlan, MemberVersionPlan, PlannedOperation } from '../index.js';

/** One operation as a plan line: `upgrade etcd02: 3.4.23 → 3.5.30, placing 4 files first — etcd binary changed; a follower; ...`. */
export function formatOperation(op: PlannedOperation): string {
  return `${op.kind}${op.member ? ` ${op.member}` : ''}${op.summary ? `: ${op.summary}` : ''} — ${op.reason}`;
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
  lines.push(...plan.operations.map((op, i) => `  ${i + 1}. ${formatOperation(op)}`));
  lines.push('Details:');
  if (plan.mode === 'update') {
    lines.push(`  etcd ${plan.etcdVersion}:`);
    for (const m of plan.members) lines.push(`    ${m.name}: ${formatVersionChange(m.version)}`);
  }
  for (const m of plan.members) {
    const head = `  ${m.name} (${m.host})`;
    if (m.files.length === 0 && m.firewallOpens.length === 0 && m.hostChanges.length === 0) {
      lines.push(`${head}: ${m.service === 'none' ? 'up to date' : 'no file changes'}`);
      continue;
    }
    lines.push(`${head}:`);
    for (const f of m.files) lines.push(`    ${f.action === 'create' ? '+' : '~'} ${f.path}${f.action === 'permissions' ? ' (mode/owner)' : ''}`);
    for (const c of m.hostChanges) lines.push(`    ~ ${c}`);
    if (m.firewallOpens.length > 0) lines.push(`    + open ports ${m.firewallOpens.join(', ')} in the host firewall`);
  }
  return lines.join('\n');
}
