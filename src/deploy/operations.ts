/**
 * A plan as people and scripts read it: the ordered list of operations a deploy carries out, each with
 * its reason, in the order `deployEtcdCluster` does them (PKI, snapshot, files that need no restart,
 * replacements, moves, starts, joins, then the rolling restarts: followers first, leadership handed over, the old
 * leader last). Pure: derived from the per-member plan and the leader the plan's health check saw.
 * @module
 */
import type { RestartCause } from '../remote/index.js';
import { planRestartOrder } from './restart-order.js';
import type { ClusterPlan, MemberPlan, MemberVersionPlan, PlannedOperation } from './types.js';

/** One member's version change, `{ kind: 'upgrade', words: '3.4.23 → 3.5.30' }`; undefined when the version stays. */
function versionStep(v: MemberVersionPlan): { kind: PlannedOperation['kind']; words: string } | undefined {
  if (v.change === 'none' || v.change === 'install') return undefined;
  const from = v.running ?? v.onDisk;
  return from === undefined ? undefined : { kind: v.change, words: `${from} → ${v.target}` };
}

const ROLE_WORDS: Partial<Record<RestartCause['role'], string>> = {
  etcd: 'etcd binary',
  caCert: 'CA certificate',
  serverCert: 'server certificate',
  serverKey: 'server key',
  peerCert: 'peer certificate',
  peerKey: 'peer key',
  unit: 'systemd unit',
};

/**
 * Why a running member restarts, in words: the files whose change etcd reads only at start (an env file:
 * its changed settings), or a process still running another release than the one in place.
 */
export function restartReason(causes: readonly RestartCause[], staleProcess: { running: string; target: string } | undefined): string {
  const parts: string[] = [];
  const env = causes.find((c) => c.role === 'env');
  if (env) parts.push(env.settings ? `settings changed: ${env.settings.join(', ')}` : 'env file changed');
  const certs = causes.filter((c) => ['serverCert', 'serverKey', 'peerCert', 'peerKey'].includes(c.role));
  if (certs.length > 0) parts.push('certificates renewed');
  for (const c of causes) {
    if (c.role === 'env' || certs.includes(c)) continue;
    const words = ROLE_WORDS[c.role] ?? c.path;
    parts.push(`${words} changed`);
  }
  if (staleProcess && !causes.some((c) => c.role === 'etcd')) parts.push(`still runs ${staleProcess.running} while ${staleProcess.target} is in place`);
  return parts.join('; ') || 'restart requested';
}

/** The member's host gets something besides a service action: files, firewall ports, host changes. */
export function hasFileWork(m: Pick<MemberPlan, 'files' | 'firewallOpens' | 'hostChanges'>): boolean {
  return m.files.length > 0 || m.firewallOpens.length > 0 || m.hostChanges.length > 0;
}

function fileWork(m: MemberPlan): string {
  const parts: string[] = [];
  if (m.files.length > 0) parts.push(`${m.files.length} file${m.files.length === 1 ? '' : 's'}`);
  if (m.firewallOpens.length > 0) parts.push(`open ports ${m.firewallOpens.join(', ')}`);
  parts.push(...m.hostChanges);
  return parts.join(', ');
}

/** What the plan needs besides its members: the leader its health check saw (rolling restarts do it last). */
export interface OperationsInput {
  /** The plan so far (every field but `operations`). */
  plan: Omit<ClusterPlan, 'operations'>;
  /** The leader's member name, when a running cluster has one. */
  leader: string | undefined;
}

/**
 * The ordered operations of a plan (see the module comment). Empty when the plan changes nothing.
 *
 * @example
 * ```ts
 * for (const op of plan.operations) console.log(`${op.kind} ${op.member ?? ''}: ${op.reason}`);
 * ```
 */
export function planOperations({ plan, leader }: OperationsInput): PlannedOperation[] {
  if (plan.noChanges) return [];
  const ops: PlannedOperation[] = [];
  if (plan.pki.createCa) ops.push({ kind: 'create-pki', summary: 'create a CA and every certificate', reason: 'the PKI dir holds no CA yet' });
  else {
    if (plan.pki.issueMembers.length > 0) {
      ops.push({ kind: 'issue-certificates', summary: `issue server/peer certificates for ${plan.pki.issueMembers.join(', ')}`, reason: 'missing, ending soon, or not matching the spec' });
    }
    if (plan.pki.issueClients.length > 0) {
      ops.push({ kind: 'issue-certificates', summary: `issue client certificates ${plan.pki.issueClients.join(', ')}`, reason: 'missing or ending soon' });
    }
  }
  if (plan.mode === 'bootstrap') {
    for (const m of plan.members) {
      ops.push({ kind: 'install', member: m.name, summary: `install etcd ${m.version.target} on ${m.host}`, reason: m.files.length > 0 ? fileWork(m) : 'host changes only' });
    }
    ops.push({ kind: 'start', summary: `start ${plan.members.map((m) => m.name).join(', ')} at once`, reason: 'a new cluster elects its first leader only with a quorum up' });
    ops.push({ kind: 'finalize', summary: 'ETCD_INITIAL_CLUSTER_STATE=existing on every member', reason: 'a member that loses its data rejoins instead of founding a second cluster' });
    return ops;
  }
  if (plan.snapshotBeforeChange) {
    ops.push({ kind: 'snapshot', summary: `checked snapshot into ${plan.snapshotBeforeChange.dir}`, reason: 'an etcd version changes: the data is kept on the controller first' });
  }
  for (const m of plan.members) {
    if (!['restart', 'replace', 'join', 'move'].includes(m.service) && hasFileWork(m)) {
      ops.push({ kind: 'update-files', member: m.name, summary: fileWork(m), reason: m.service === 'none' ? 'no restart needed: etcd reads none of these changes while running' : `before its ${m.service}` });
    }
  }
  for (const m of plan.members.filter((p) => p.service === 'replace')) {
    ops.push({ kind: 'replace', member: m.name, summary: 'stop, member remove, data dir set aside, add as a learner, start, promote', reason: m.reason ?? 'its data is lost' });
  }
  for (const m of plan.members.filter((p) => p.service === 'move')) {
    ops.push({
      kind: 'move',
      member: m.name,
      summary: `${m.reason ?? `to ${m.host}`}: the old host cleaned when reachable (etcd stopped and disabled, files removed, data dir moved aside), member remove, then join on ${m.host} (learner, promoted once caught up)`,
      reason: 'the spec puts it on another host than the cluster lists',
    });
  }
  // A member that runs but does not answer is restarted right away, like a stopped one is started: it is
  // the one being fixed, not a step of the roll.
  const revive = (m: MemberPlan) => m.service === 'restart' && m.state === 'down';
  for (const m of plan.members.filter((p) => p.service === 'start' || revive(p))) {
    ops.push({ kind: m.service === 'start' ? 'start' : 'restart', member: m.name, summary: hasFileWork(m) ? `placing ${fileWork(m)} first` : '', reason: m.reason ?? 'stopped' });
  }
  for (const m of plan.members.filter((p) => p.service === 'join')) {
    ops.push({ kind: 'join', member: m.name, summary: `join on ${m.host}: add as a learner, start, promote once caught up`, reason: 'in the spec, not in the cluster' });
  }
  const rolling = plan.members.filter((p) => p.service === 'restart' && !revive(p));
  const order = planRestartOrder({ restart: rolling.map((m) => m.name), leader });
  const done: string[] = [];
  for (const name of order) {
    const m = rolling.find((p) => p.name === name)!;
    if (name === leader && order.length > 1) {
      const to = done[0] ?? plan.members.find((p) => p.name !== name)?.name;
      ops.push({ kind: 'move-leader', member: name, summary: `hand leadership from ${name} to ${to}`, reason: `${name} leads: it restarts last, after a restarted member took over` });
    }
    const step = versionStep(m.version);
    ops.push({
      kind: step?.kind ?? 'restart',
      member: name,
      summary: [step?.words, hasFileWork(m) ? `placing ${fileWork(m)} first` : undefined].filter(Boolean).join(', '),
      reason: `${m.reason ?? 'restart requested'}; ${name === leader ? 'the leader, last' : 'a follower'}; healthy and caught up before the next`,
    });
    done.push(name);
  }
  return ops;
}
