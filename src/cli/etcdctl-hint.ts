/**
 * The etcdctl command line `deploy` suggests for trying the new cluster.
 *
 * @module
 */
import type { DeployResult } from '../index.js';

/** `etcdctl endpoint health` against the deployed endpoints with the admin client's files (or the first client's), as the deploy reports them. */
export function etcdctlHint(result: Pick<DeployResult, 'endpoints' | 'clientCerts'>): string {
  const client = result.clientCerts['admin'] ?? Object.values(result.clientCerts)[0]!;
  return `ETCDCTL_API=3 etcdctl --endpoints=${result.endpoints.join(',')} --cacert=${client.caFile} --cert=${client.certFile} --key=${client.keyFile} endpoint health`;
}
