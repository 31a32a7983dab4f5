/**
 * Growing a running cluster: one new member at a time, added as a learner (it cannot cost quorum while it
 * catches up), started with an initial cluster that is exactly the current membership plus itself (etcd
 * refuses any other list), promoted once in sync, then given the steady env file like every member.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { EtcdCluster, EtcdMember } from '../etcd/index.js';
import { type ClusterMember, clientUrl, DEFAULT_PEER_PORT, peerUrl } from '../render/index.js';
import { type DeployRun, installAndRecord } from './deploy-run.js';
import { memberBundle, type PreparedDeploy, type PreparedMember, renderMemberEnv } from './prepare.js';
import { explainStartFailure } from './start-failure.js';
import { waitForEndpoints } from './wait-endpoints.js';

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
  return renderMemberEnv(prepared, member.spec.name, members, 'existing');
}

/**
 * Adds `member` to the running cluster and waits until it is a healthy voting member. Its installs start
 * from the facts `run` carries for its host and leave them (and its report) current.
 */
export async function joinMember(run: DeployRun, cluster: EtcdCluster, member: PreparedMember): Promise<void> {
  const { prepared, options } = run;
  const url = peerUrl(member.spec.cluster);
  let membership = await cluster.listMembers();
  // Already in the list (an earlier run added it, or it was in the initial cluster but never started):
  // do not add it twice, just start it.
  let entry = membership.find((m) => m.peerUrls.includes(url));
  if (!entry) {
    options.onProgress?.({ step: 'start', member: member.spec.name, message: 'adding as a learner' });
    const added = await cluster.addMember({ peerUrls: [url], isLearner: true, retryTimeoutMs: run.healthTimeoutMs });
    entry = added.member;
    membership = added.members;
  }

  const joining = await memberBundle(prepared, member.spec, joinEnv(member, membership, prepared));
  await installAndRecord(run, member, joining, 'if-changed');
  // It runs now, whether this install started it or found it running.
  run.reports.get(member.spec.name)!.started = true;

  options.onProgress?.({ step: 'wait-healthy', member: member.spec.name, message: 'catching up' });
  try {
    await waitForEndpoints(cluster, { timeoutMs: run.healthTimeoutMs, signal: options.signal, endpoints: [clientUrl(member.spec.cluster)] });
  } catch (err) {
    // The new member never served: its journal says why (a bad setting, a data dir it cannot use, ...).
    throw await explainStartFailure(run.connections.get(member.spec.name)!, member, err, options.signal);
  }
  if (entry.isLearner) {
    options.onProgress?.({ step: 'start', member: member.spec.name, message: 'promoting to a voting member' });
    await cluster.promoteMember(entry.id, { retryTimeoutMs: run.healthTimeoutMs });
  }
  // From now on it holds the same steady env file as every member (initial cluster = the spec), which
  // differs only in bootstrap-only settings: no restart.
  await installAndRecord(run, member, member.steady, 'never');
}
