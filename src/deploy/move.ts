/**
 * Moving a member to another host (decided in move-rules.ts), the order etcd's runtime-reconfiguration
 * guide gives for replacing a member: the others healthy first; the old host cleaned when it can be reached
 * (etcd stopped and disabled, etcd-kit's files removed as removeEtcdMember removes them, the data dir moved
 * aside, never deleted); `member remove` of the old member through the healthy others; the new host joins
 * exactly as join.ts joins any new host (a learner, started with state=existing, promoted once caught up);
 * the whole cluster healthy again before anything else happens.
 *
 * The old host is often gone (powered off, dead): a move must not need it. Its clean-up is skipped, with a
 * warning, when it cannot be reached over SSH (connect timeout, refused, no route) or when known_hosts has
 * no key for it. Skipping the latter is safe: nothing is sent to a host whose key is not known (nothing
 * runs there), and the move's safety never depends on the old etcd being stopped — the removal is
 * committed by a quorum of the others alone (`assertMovesSafe`), and a removed member that comes back is
 * refused by its peers (it cannot rejoin with its old id). A host key that does NOT match known_hosts
 * (`SSH_HOST_KEY_MISMATCH`), failed authentication or a failed clean-up stop the move instead, before the
 * cluster changes: a different key at a member's old address is an alarm to look at, not a powered-off host.
 * "The spec's SSH settings" include `acceptUnknownHostKeys`: a spec that accepts unknown keys for its members
 * accepts one for the old host too, and that host is cleaned.
 * The plan already connects to the old host once (read-only: the key checked, nothing run), so it says
 * whether the clean-up will be skipped, and refuses a mismatching key or failed login before any host changes.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { EtcdCluster } from '../etcd/index.js';
import { clearMemberData, connect, type SshConnection, uninstallMember } from '../remote/index.js';
import { clientUrl } from '../render/index.js';
import type { DeployRun } from './deploy-run.js';
import { cleanupTarget } from './host-cleanup.js';
import { joinMember } from './join.js';
import type { MemberState } from './member-state.js';
import type { InspectedMember } from './cluster-plan.js';
import type { PreparedMember } from './prepare.js';
import { memberError } from './member-connections.js';
import type { DeployOptions, MemberMoveReport } from './types.js';
import { waitForEndpoints } from './wait-endpoints.js';

/** Connect timeout for the old host: a powered-off host must not hold the move up for long. */
export const OLD_HOST_CONNECT_TIMEOUT_MS = 5000;

/** SSH failures that mean "the old host cannot be reached (safely)": its clean-up is skipped, the move goes on. */
const SKIP_CLEANUP: ReadonlySet<string> = new Set(['SSH_UNREACHABLE', 'SSH_TIMEOUT', 'SSH_HOST_KEY_UNKNOWN']);

type MoveState = Extract<MemberState, { kind: 'move' }>;

type Cleanup = { oldHost: 'cleaned'; movedAside: string | undefined } | { oldHost: 'unreachable'; why: string };

/**
 * Connects to the host `m` moved away from: the spec's SSH settings for `m`, its host key checked against
 * known_hosts, a short connect timeout. `unreachable` (and why) when its clean-up is to be skipped; any
 * other failure is thrown (see the top of this file).
 */
async function connectOldHost(m: PreparedMember, state: MoveState, signal: AbortSignal | undefined): Promise<SshConnection | { why: string }> {
  try {
    return await connect(cleanupTarget(m.spec.ssh, state.from, undefined, OLD_HOST_CONNECT_TIMEOUT_MS), signal ? { signal } : {});
  } catch (err) {
    if (err instanceof EtcdKitError && SKIP_CLEANUP.has(err.code)) return { why: `${err.code}: ${err.message}` };
    throw cleanupFailed(state, err);
  }
}

/**
 * The plan's look at the old host of every move (read-only: connect, host key checked, close): a warning
 * for each old host whose clean-up will be skipped; throws, naming the member (step `move`), for an old
 * host that answers with a key that does not match known_hosts or does not let us in — before any host
 * changes.
 */
export async function probeOldHosts(inspected: readonly InspectedMember[], options: DeployOptions): Promise<string[]> {
  const warnings: string[] = [];
  for (const { member: m, state } of inspected) {
    if (state?.kind !== 'move') continue;
    options.onProgress?.({ step: 'connect', member: m.spec.name, message: `old host ${state.from} (it moves away from there)` });
    let probe: SshConnection | { why: string };
    try {
      probe = await connectOldHost(m, state, options.signal);
    } catch (err) {
      throw memberError(m, 'move', err);
    }
    if ('why' in probe) {
      warnings.push(
        `${m.spec.name}: its old host ${state.from} cannot be reached over SSH (${probe.why}): the move goes on without cleaning that host (the others remove the old member)`,
      );
    } else {
      await probe.close().catch(() => {});
    }
  }
  return warnings;
}

/** Cleans the host `m` moved away from, with the spec's SSH settings for `m` and a short connect timeout. */
async function cleanOldHost(ctx: DeployRun, m: PreparedMember, state: MoveState): Promise<Cleanup> {
  const { signal } = ctx.options;
  const layout = ctx.prepared.spec.layout;
  const conn = await connectOldHost(m, state, signal);
  if ('why' in conn) return { oldHost: 'unreachable', why: conn.why };
  try {
    // What removeEtcdMember does to a removed member's host, the data dir kept (it is moved aside below).
    await uninstallMember(conn, { layout, removeData: false, ...(signal ? { signal } : {}) });
    const cleared = await clearMemberData(conn, { layout, tag: 'moved', recreate: false, ...(signal ? { signal } : {}) });
    return { oldHost: 'cleaned', movedAside: cleared.movedAside };
  } catch (err) {
    throw cleanupFailed(state, err);
  } finally {
    await conn.close().catch(() => {});
  }
}

function cleanupFailed(state: MoveState, err: unknown): EtcdKitError {
  const code = err instanceof EtcdKitError ? err.code : 'DEPLOY_FAILED';
  if (code === 'ABORTED') return err as EtcdKitError;
  const message = err instanceof Error ? err.message : String(err);
  return new EtcdKitError(code, `the old host ${state.from} could not be cleaned up (the cluster is unchanged: member ${state.memberId} is still in it): ${message}`, {
    cause: err,
    details: { oldHost: state.from, oldMemberId: state.memberId },
  });
}

function skippedWarning(m: PreparedMember, state: MoveState, why: string, layout: DeployRun['prepared']['spec']['layout']): string {
  return (
    `${m.spec.name}: moved from ${state.from} without cleaning that host (${why}); if it comes back, its etcd (still installed, ` +
    `data dir ${layout.dataDir} kept) is refused by the cluster as removed member ${state.memberId}: stop and disable etcd there ` +
    `(systemctl disable --now etcd) and move the data dir aside`
  );
}

/**
 * Moves, one at a time, the members the plan marked `move` (the plan refused already what is not safe: see
 * `assertMovesSafe`). Each member's report says `moved` and `started`; a failure names the member and step
 * `move`. Re-running after a failure converges: once the old member is removed, the next plan sees a plain
 * join; once joined, nothing.
 */
export async function moveMembers(ctx: DeployRun, cluster: EtcdCluster, inspected: readonly InspectedMember[]): Promise<void> {
  const { prepared, options } = ctx;
  const withSignal = options.signal ? { signal: options.signal } : {};
  for (const { member: m, state } of inspected) {
    if (state?.kind !== 'move') continue;
    const name = m.spec.name;
    try {
      const others = prepared.members.filter((o) => o !== m).map((o) => clientUrl(o.spec.cluster));
      options.onProgress?.({ step: 'move', member: name, message: `${state.reason}: every other member must be healthy first` });
      await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: options.signal, endpoints: others });

      options.onProgress?.({ step: 'move', member: name, message: `cleaning the old host ${state.from} (etcd stopped and disabled, files removed, data dir moved aside)` });
      const cleanup = await cleanOldHost(ctx, m, state);
      if (cleanup.oldHost === 'unreachable') {
        const warning = skippedWarning(m, state, cleanup.why, prepared.spec.layout);
        ctx.warnings.push(warning);
        options.onProgress?.({ step: 'move', member: name, message: `warning: ${warning}` });
      } else {
        options.onProgress?.({
          step: 'move',
          member: name,
          message: `old host ${state.from} cleaned${cleanup.movedAside ? `, its data dir moved aside to ${cleanup.movedAside}` : ''}`,
        });
      }

      if ((await cluster.listMembers(withSignal)).some((e) => e.id === state.memberId)) {
        options.onProgress?.({ step: 'move', member: name, message: `member remove ${state.memberId}` });
        await cluster.removeMember(state.memberId, { retryTimeoutMs: ctx.healthTimeoutMs, ...withSignal });
      }

      await joinMember(ctx, cluster, m);
      const moved: MemberMoveReport = {
        from: state.from,
        oldMemberId: state.memberId,
        oldHost: cleanup.oldHost,
        ...(cleanup.oldHost === 'cleaned' && cleanup.movedAside ? { dataMovedAside: cleanup.movedAside } : {}),
      };
      ctx.reports.get(name)!.moved = moved;
      options.onProgress?.({ step: 'wait-healthy', member: name, message: 'moved: the whole cluster must be healthy again' });
      await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: options.signal });
    } catch (err) {
      throw memberError(m, 'move', err);
    }
  }
}
