/**
 * `etcd-kit/etcd`: the etcd-client layer beyond {@link etcd-kit!connectCluster | connectCluster}, {@link etcd-kit!checkHealth | checkHealth} and the snapshot
 * functions — raw etcd3 clients with the same TLS settings, the cluster's identity, the certificate a
 * member serves, whether a client certificate is accepted, and the health verdict rule.
 *
 * ```ts
 * import { probeClientCertificate, readServedCertificate } from 'etcd-kit/etcd';
 * ```
 * @module etcd-kit/etcd
 */
// The errors, and the types of `etcd-kit` this entry's functions take or return, are exported here too.
export { EtcdKitError, type EtcdKitErrorCode, type EtcdKitErrorOptions, isEtcdKitError } from './errors.js';
export type { ClusterHealth, EtcdConnectOptions, HealthVerdict } from './etcd/index.js';
export {
  type CaIdentity,
  type ClientCertificateVerdict,
  type ClusterIdentity,
  type CreateEtcdClientOptions,
  caIdentity,
  createEtcdClient,
  healthVerdict,
  issuingCa,
  type ProbeClientCertificateOptions,
  probeClientCertificate,
  type ReadServedCertificateOptions,
  readClusterIdentity,
  readServedCertificate,
  type ServedCertificate,
} from './etcd/index.js';
