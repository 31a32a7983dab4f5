// Growing a running cluster: one new member at a time, added as a learner (it cannot cost quorum while it
// catches up), started with an initial cluster that is exactly the current membership plus itself (etcd
// refuses any other list), promoted once in sync, then given the steady env file like every member.
import { EtcdKitError } from '../errors.js';
import type { EtcdCluster, EtcdMember } from '../etcd/index.js';
import { type HostFacts, installMember, type PreparedBundle, type SshConnection } from '../remote/index.js';
import { type ClusterMember, clientUrl, DEFAULT_PEER_PORT, peerUrl, renderEtcdEnv } from '../render/index.js';
import type { PreparedDeploy, PreparedMember } from './prepare.js';
import { sha256Hex } from './hash.js';
import { remoteOptions } from './sessions.js';
import { explainStartFailure } from './start-failure.js';
import type { DeployOptions, MemberDeployReport } from './types.js';
import { waitForEndpoints } from './wait.js';

/** Context a join needs from the deploy. */
export interface JoinContext {
  prepared: PreparedDeploy;
  connection: SshConnection;
  cluster: EtcdCluster;
  options: DeployOptions;
  healthTimeoutMs: number;
  report: MemberDeployReport;
  /** The host's facts from the plan's inspection (the first install skips reading them again). */
  facts: HostFacts | undefined;
}

function asClusterMember(m: EtcdMember, prepared: PreparedDeploy): ClusterMember {
  const url = m.peerUrls[0];
  const known = prepared.members.find((p) => peerUrl(p.spec.cluster) === url);
  if (known) return known.spec.cluster;
  if (!url) throw new EtcdKitError('ETCD_MEMBERSHIP', `member ${m.id} has no peer URL`);
  const parsed = new URL(url);
  return {
    name: m.name || `member-${m.id}`,
    address: parsed.hostname.replace(/^\[|\]$/g, ''),
    peerPort: Number(parsed.port || DEFAULT_PEER_PORT),
  };
}

/** The env file a joining member starts with: current membership + itself, state `existing`. */
function joinEnv(member: PreparedMember, membership: EtcdMember[], prepared: PreparedDeploy): string {
  const members = membership.map((m) => asClusterMember(m, prepared));
  if (!members.some((m) => m.name === member.spec.name)) members.push(member.spec.cluster);
  return renderEtcdEnv({
    member: member.spec.name,
    members,
    token: prepared.token,
    state: 'existing',
    layout: prepared.spec.layout,
    settings: prepared.spec.settingsInput,
    etcdVersion: prepared.etcdVersion,
  });
}

/** Adds `member` to the running cluster and waits until it is a healthy voting member. */
export async function joinMember(member: PreparedMember, ctx: JoinContext): Promise<void> {
  const { cluster, prepared, options } = ctx;
  const url = peerUrl(member.spec.cluster);
  let membership = await cluster.listMembers();
  // Already in the list (an earlier run added it, or it was in the initial cluster but never started):
  // do not add it twice, just start it.
  let entry = membership.find((m) => m.peerUrls.includes(url));
  if (!entry) {
    options.onProgress?.({ step: 'start', member: member.spec.name, message: 'adding as a learner' });
    const added = await cluster.addMember({ peerUrls: [url], isLearner: true, retryTimeoutMs: ctx.healthTimeoutMs });
    entry = added.member;
    membership = added.members;
  }

  const env = Buffer.from(joinEnv(member, membership, prepared));
  const sha256 = sha256Hex(env);
  const bundle: PreparedBundle = {
    ...member.steady,
    files: member.steady.files.map((f) => (f.role === 'env' ? { ...f, data: env, sha256 } : f)),
  };
  const installed = await installMember(ctx.connection, bundle, {
    ...remoteOptions(member, options),
    restart: 'if-changed',
    ...(ctx.facts ? { facts: ctx.facts } : {}),
  });
  ctx.report.changedFiles.push(...installed.changedFiles);
  ctx.report.bytesSent += installed.bytesSent;
  ctx.report.firewallOpened.push(...installed.firewall.opened);
  ctx.report.started = true;

  options.onProgress?.({ step: 'wait-healthy', member: member.spec.name, message: 'catching up' });
  try {
    await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: options.signal, endpoints: [clientUrl(member.spec.cluster)] });
  } catch (err) {
    // The new member never served: its journal says why (a bad setting, a data dir it cannot use, ...).
    throw await explainStartFailure(ctx.connection, member, err, options.signal);
  }
  if (entry.isLearner) {
    options.onProgress?.({ step: 'start', member: member.spec.name, message: 'promoting to a voting member' });
    await cluster.promoteMember(entry.id, { retryTimeoutMs: ctx.healthTimeoutMs });
  }
  // From now on it holds the same steady env file as every member (initial cluster = the spec), which
  // differs only in bootstrap-only settings: no restart.
  const steady = await installMember(ctx.connection, member.steady, {
    ...remoteOptions(member, options),
    restart: 'never',
    facts: installed.factsAfter,
  });
  ctx.report.changedFiles.push(...steady.changedFiles.filter((f) => !ctx.report.changedFiles.includes(f)));
  ctx.report.bytesSent += steady.bytesSent;
}
