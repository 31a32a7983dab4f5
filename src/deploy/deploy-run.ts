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
}

/** Install options for member `m`: the caller's progress and signal, starting from the facts known so far. */
function installOptions(run: DeployRun, m: MemberRef, restart: 'if-changed' | 'never') {
  const facts = run.facts.get(m.spec.name);
  return { ...remoteOptions(m, run.options), restart, ...(facts ? { facts } : {}) };
}

/** Adds an install of member `m` to its report, and keeps the facts the run carries for its host current. */
function record(run: DeployRun, m: MemberRef, install: InstallReport): void {
  run.facts.set(m.spec.name, install.factsAfter);
  const report = run.reports.get(m.spec.name)!;
  report.changedFiles.push(...install.changedFiles.filter((f) => !report.changedFiles.includes(f)));
  report.bytesSent += install.bytesSent;
  report.started ||= install.started;
  report.restarted ||= install.restarted;
  report.firewallOpened.push(...install.firewall.opened.filter((p) => !report.firewallOpened.includes(p)));
}

/** Installs `bundle` on member `m`'s host ({@link installOptions}) and {@link record}s it. */
export async function installAndRecord(run: DeployRun, m: MemberRef, bundle: PreparedBundle, restart: 'if-changed' | 'never'): Promise<InstallReport> {
  const install = await installMember(run.connections.get(m.spec.name)!, bundle, installOptions(run, m, restart));
  record(run, m, install);
  return install;
}
