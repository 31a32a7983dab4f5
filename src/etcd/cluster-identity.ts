/**
 * Which logical cluster the endpoints serve and where its key space stands: the cluster ID and the
 * revision from the header of one linearizable read. A restore makes a new cluster ID; its revision is
 * the snapshot's (plus any bump).
 * @module
 */
import { classifyEtcdError } from './classify.js';
import { createEtcdClient } from './client.js';
import { hexId } from './members.js';
import type { EtcdConnectOptions } from './options.js';

/** What {@link readClusterIdentity} returns. */
export interface ClusterIdentity {
  /** The cluster ID, hexadecimal as etcdctl prints it. */
  clusterId: string;
  /** The current revision of the key space, decimal. */
  revision: string;
}

/**
 * Reads the cluster ID and current revision with one linearizable read (a quorum must answer).
 *
 * @example
 * ```ts
 * const { clusterId, revision } = await readClusterIdentity({ endpoints, tls });
 * ```
 */
export async function readClusterIdentity(options: EtcdConnectOptions & { timeoutMs?: number }): Promise<ClusterIdentity> {
  const client = createEtcdClient({ endpoints: options.endpoints, tls: options.tls });
  try {
    const res = await client.kv.range({ key: Buffer.from([0]), limit: 1, count_only: true }, { deadline: new Date(Date.now() + (options.timeoutMs ?? 5000)) });
    const header = res.header;
    return { clusterId: hexId(header.cluster_id), revision: header.revision };
  } catch (err) {
    throw classifyEtcdError(err, { operation: 'read the cluster identity' });
  } finally {
    client.close();
  }
}
