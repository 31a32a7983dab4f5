/**
 * Tearing a cluster down (what etcdadm's `reset` and kubespray's reset.yml do for etcd): every member's
 * etcd stopped and what install put on its host deleted, all hosts at once. The data dirs stay unless
 * asked for, so a reset without `removeData` can be undone by deploying the same spec again.
 * @module
 */
import { type UninstallReport, uninstallMember } from '../remote/index.js';
import { resolveSpec } from './prepare.js';
import { closeAll, connectMembers, forEachMember, remoteOptions } from './member-connections.js';
import type { ClusterSpecInput } from './spec-types.js';
import type { DeployOptions } from './types.js';
import type { ClusterSpec } from './resolve-spec.js';

/**
 * Options of {@link resetEtcdCluster}.
 * @category Deploy and day 2
 */
export interface ResetOptions extends Pick<DeployOptions, 'onProgress' | 'signal'> {
  /**
   * Also delete every member's data dir (the cluster's data: take a snapshot first) and the `etcd`
   * account etcd-kit created. Default: `false`: deploying the same spec again brings the cluster back.
   */
  removeData?: boolean;
}

/**
 * What {@link resetEtcdCluster} did on each member's host.
 * @category Deploy and day 2
 */
export interface ResetResult {
  /** One report per member, in spec order. */
  members: (UninstallReport & {
    /** Member name. */
    name: string;
  })[];
}

/**
 * Stops etcd on every member of the spec and deletes what install put there (binaries, certificates,
 * keys, env files, unit); with `removeData`, the data dirs and the service account too. All members at
 * once, after every host is reachable (one unreachable host: nothing is changed, the error names it).
 * The local PKI dir is left alone. Idempotent.
 *
 * @example
 * ```ts
 * import { resetEtcdCluster, saveSnapshot } from 'etcd-kit';
 * await saveSnapshot({ endpoints, tls, path: 'last.db' });
 * await resetEtcdCluster(spec, { removeData: true });
 * ```
 * @category Deploy and day 2
 */
export async function resetEtcdCluster(spec: ClusterSpecInput | ClusterSpec, options: ResetOptions = {}): Promise<ResetResult> {
  const resolved = resolveSpec(spec, options);
  const members = resolved.members.map((m) => ({ spec: m }));
  const connections = await connectMembers(members, options);
  try {
    const reports = await forEachMember(members, 'remove', async (m) => {
      options.onProgress?.({ step: 'remove', member: m.spec.name, message: options.removeData ? 'stopping etcd, deleting files and data' : 'stopping etcd, deleting files' });
      const report = await uninstallMember(connections.get(m.spec.name)!, {
        ...remoteOptions(m, options),
        layout: resolved.layout,
        removeData: options.removeData ?? false,
      });
      options.onProgress?.({ step: 'done', member: m.spec.name, message: report.wasRunning ? 'stopped and removed' : 'removed' });
      return { name: m.spec.name, ...report };
    });
    return { members: reports };
  } finally {
    await closeAll(connections);
  }
}
