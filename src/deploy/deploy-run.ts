/**
 * What one deploy run carries between its steps (the prepared deploy, a connection per member, the reports
 * and the host facts known so far), and the one way a step installs a member's bundle: starting from the
 * facts the run knows for that host, and recording the install in the member's report and in those facts.
 * @module
 */
import { type HostFacts, type InstallReport, installMember, type PreparedBundle, type SshConnection } from '../remote/index.js';
import type { PreparedDeploy } from './prepare.js';
import { type MemberRef, remoteOptions } from './member-connections.js';
import type { DeployOptions, MemberDeployReport } from './types.js';

/** Everything a deploy run carries between its steps (a bootstrap, an update, a replacement, a move, a join). */
export interface DeployRun {
  prepared: PreparedDeploy;
  /** One SSH connection per member, by member name. */
  connections: Map<string, SshConnection>;
  options: DeployOptions;
  healthTimeoutMs: number;
  /** The report of every member, by name. */
  reports: Map<string, MemberDeployReport>;
  /** Host facts known so far, by member: each install leaves its `factsAfter`; a step that changes a host otherwise drops its entry. */
  facts: Map<string, HostFacts>;
  /** Warnings of the run (the plan's, and e.g. an old host of a move that was not cleaned up). */
  warnings: string[];
}

/** Where an install starts from and what it keeps: the SSH connections and the host facts a run knows. */
export type InstallState = Pick<DeployRun, 'connections' | 'facts' | 'options'>;

/**
 * Installs `bundle` on member `m`'s host starting from the facts the run knows for it (no second host read)
 * and keeps the run's facts current with the install's `factsAfter`.
 */
export async function installWithFacts(run: InstallState, m: MemberRef, bundle: PreparedBundle, restart: 'if-changed' | 'never'): Promise<InstallReport> {
  const facts = run.facts.get(m.spec.name);
  const install = await installMember(run.connections.get(m.spec.name)!, bundle, { ...remoteOptions(m, run.options), restart, ...(facts ? { facts } : {}) });
  run.facts.set(m.spec.name, install.factsAfter);
  return install;
}

/** Adds an install of member `m` to its report. */
function record(run: DeployRun, m: MemberRef, install: InstallReport): void {
  const report = run.reports.get(m.spec.name)!;
  report.changedFiles.push(...install.changedFiles.filter((f) => !report.changedFiles.includes(f)));
  report.bytesSent += install.bytesSent;
  report.started ||= install.started;
  report.restarted ||= install.restarted;
  report.firewallOpened.push(...install.firewall.opened.filter((p) => !report.firewallOpened.includes(p)));
}

/** Installs `bundle` on member `m`'s host ({@link installWithFacts}) and {@link record}s it in its report. */
export async function installAndRecord(run: DeployRun, m: MemberRef, bundle: PreparedBundle, restart: 'if-changed' | 'never'): Promise<InstallReport> {
  const install = await installWithFacts(run, m, bundle, restart);
  record(run, m, install);
  return install;
}
