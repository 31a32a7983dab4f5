/**
 * The etcdctl command line `deploy` suggests for trying the new cluster.
 *
 * @module
 */
import type { ClusterSpec } from '../index.js';
import { pkiPaths } from '../pki-entry.js';

/** `etcdctl endpoint health` against `endpoints` with the spec's CA bundle and admin client (or its first client). */
export function etcdctlHint(spec: ClusterSpec, endpoints: string[]): string {
  const paths = pkiPaths(spec.pki.dir);
  const admin = paths.client(spec.pki.clients.includes('admin') ? 'admin' : spec.pki.clients[0]!);
  return `ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(',')} --cacert=${paths.caBundle} --cert=${admin.cert} --key=${admin.key} endpoint health`;
}
