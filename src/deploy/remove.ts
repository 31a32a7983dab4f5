/**
 * Shrinking a cluster, the order etcd's runtime-reconfiguration guide asks for: every remaining member
 * healthy first, then `member remove` (etcd stops the removed member itself), then the host cleaned up,
 * then the remaining members' files brought in line with the smaller spec (no restarts).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { connectCluster, type EtcdMember } from '../etcd/index.js';
import { readPkiDir, withPkiLock } from '../pki/index.js';
import { connect, type UninstallReport, uninstallMember } from '../remote/index.js';
import { clientUrl } from '../render/index.js';
import { adminTls, assertNotRotating } from './cluster-pki.js';
import { runDeploy } from './deploy.js';
import { cleanupTarget } from './host-cleanup.js';
import { assertServedCa } from './observe-ca.js';
import { resolveSpec } from './prepare.js';
import type { ClusterSpecInput } from './spec-types.js';
import type { DeployOptions, DeployResult } from './types.js';
import type { ClusterSpec } from './resolve-spec.js';
import { DEFAULT_HEALTH_TIMEOUT_MS } from './options.js';
import { waitForEndpoints } from './wait-endpoints.js';

/**
 * Options of {@link removeEtcdMember}.
 * @category Deploy and day 2
 */
export interface RemoveMemberOptions extends Pick<DeployOptions, 'onProgress' | 'signal' | 'healthTimeoutMs' | 'downloadCacheDir'> {
  /**
   * SSH host of the member being removed, for the clean-up. Default: the address in its peer URL, as the
   * cluster lists it (give it when SSH goes to another name or address, or when a re-run finds the member
   * already gone from the cluster).
   */
  host?: string;
  /** Pinned host key of that host (`SHA256:...`). Default: checked against the spec's known_hosts. */
  hostKeyFingerprint?: string;
  /**
   * Keep the removed member's data dir (and the `etcd` account) on its host. Default: `false`: the data
   * dir is deleted, since a stale copy can only hurt (started again it would try to rejoin with its
   * removed id); take a snapshot first if you want the data.
   */
  keepData?: boolean;
  /**
   * Clean up the removed member's host over SSH. Set `false` for a host that is gone for good (the usual
   * reason to remove a member): only the membership and the remaining members change. Default: `true`.
   */
  cleanHost?: boolean;
}

/**
 * Result of {@link removeEtcdMember}.
 * @category Deploy and day 2
 */
export interface RemoveMemberResult {
  /** The member as the cluster listed it before removal; undefined when it was not a member (any more). */
  removed: EtcdMember | undefined;
  /** What was deleted on its host; undefined when there was none to clean (`cleanHost: false`, or not a member and no `host`). */
  hostCleanup: UninstallReport | undefined;
  /** The deploy that rewrote the remaining members' env files for the smaller cluster (no restarts). */
  deploy: DeployResult;
}

/**
 * Removes member `name` from a running cluster and cleans up its host. The spec describes the cluster
 * *after* the removal: `name` must no longer be in `members` (the next deploy would add it back).
 *
 * Waits until every remaining member is healthy (removing a member while another is down can cost the
 * quorum), removes the member (`ETCD_MEMBERSHIP` errors keep etcd's reason), stops etcd on its host and
 * deletes what install put there (data dir too, unless `keepData`), then runs {@link deployEtcdCluster}
 * with the spec so the remaining members' `ETCD_INITIAL_CLUSTER` and etcdctl endpoints match (no
 * restarts). Re-running after a failure converges: a member already gone is skipped (pass `host` to
 * still clean its host). Holds the PKI dir's lock throughout, taken before any host is touched
 * (`PKI_LOCKED` while another operation runs from the dir, see {@link etcd-kit/pki!acquirePkiLock | acquirePkiLock}).
 *
 * @example
 * ```ts
 * import { removeEtcdMember } from 'etcd-kit';
 * // cluster.yaml no longer lists etcd04
 * const { removed, hostCleanup } = await removeEtcdMember(spec, 'etcd04');
 * console.log(removed?.id, hostCleanup?.removedFiles.length);
 * ```
 * @category Deploy and day 2
 */
export async function removeEtcdMember(
  spec: ClusterSpecInput | ClusterSpec,
  name: string,
  options: RemoveMemberOptions = {},
): Promise<RemoveMemberResult> {
  const resolved = resolveSpec(spec, options);
  if (typeof name !== 'string' || name === '') throw new EtcdKitError('INVALID_ARGUMENT', 'name: the member to remove is required', { field: 'name' });
  if (resolved.members.some((m) => m.name === name)) {
    throw new EtcdKitError('INVALID_ARGUMENT', `name: ${name} is still in the spec's members; take it out first (a deploy would add it back)`, {
      field: 'name',
    });
  }
  // From before the first connection to the end of the closing deploy, which runs under this lock.
  return withPkiLock(resolved.pki.dir, `member remove ${name}`, () => removeMember(resolved, name, options));
}

/** {@link removeEtcdMember} once the input is checked and the PKI dir's lock is held. */
async function removeMember(resolved: ClusterSpec, name: string, options: RemoveMemberOptions): Promise<RemoveMemberResult> {
  const { onProgress, signal } = options;
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
  // Its closing deploy would refuse mid-rotation, after the membership changed: refuse now instead.
  await assertNotRotating(resolved.pki.dir);
  const pki = await readPkiDir(resolved.pki.dir);
  // A PKI dir with another CA than the cluster's: CA_MISMATCH now, not a health wait that cannot succeed.
  await assertServedCa(resolved.members, resolved.pki.dir, pki.ca.certPem, signal);
  const cluster = connectCluster({ endpoints: resolved.members.map((m) => clientUrl(m.cluster)), tls: adminTls(pki) });
  let removed: EtcdMember | undefined;
  try {
    onProgress?.({ step: 'wait-healthy', message: 'every remaining member must be healthy before a member is removed' });
    await waitForEndpoints(cluster, { timeoutMs: healthTimeoutMs, signal });
    removed = (await cluster.listMembers()).find((m) => m.name === name);
    if (removed) {
      onProgress?.({ step: 'remove', member: name, message: `member ${removed.id}` });
      await cluster.removeMember(removed.id, { retryTimeoutMs: healthTimeoutMs, ...(signal ? { signal } : {}) });
    }
  } finally {
    cluster.close();
  }

  const peerHost = removed?.peerUrls[0] ? new URL(removed.peerUrls[0]).hostname.replace(/^\[|\]$/g, '') : undefined;
  const host = options.host ?? peerHost;
  let hostCleanup: UninstallReport | undefined;
  if (host !== undefined && (options.cleanHost ?? true)) {
    onProgress?.({ step: 'remove', member: name, message: `stopping etcd and removing its files on ${host}` });
    try {
      const conn = await connect(cleanupTarget(resolved.members[0]!.ssh, host, options.hostKeyFingerprint), signal ? { signal } : {});
      try {
        hostCleanup = await uninstallMember(conn, { layout: resolved.layout, removeData: !(options.keepData ?? false), ...(signal ? { signal } : {}) });
      } finally {
        await conn.close();
      }
    } catch (err) {
      const code = err instanceof EtcdKitError ? err.code : 'DEPLOY_FAILED';
      const what = removed ? `${name} was removed from the cluster, but` : `${name} is not a cluster member;`;
      const hint = 're-run when it is reachable, or with cleanHost: false (CLI: --no-clean-host) if it is gone for good';
      throw new EtcdKitError(code, `${what} its host ${host} could not be cleaned up (${hint}): ${err instanceof Error ? err.message : String(err)}`, {
        member: name,
        cause: err,
        details: { host, step: 'remove' },
      });
    }
  }
  const deploy = await runDeploy(resolved, {
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
    healthTimeoutMs,
    ...(options.downloadCacheDir ? { downloadCacheDir: options.downloadCacheDir } : {}),
  });
  return { removed, hostCleanup, deploy };
}
