// Public surface of src/etcd: the barrel re-exports exactly what is listed here.
/**
 * Talking to a running cluster over mutual TLS: health checks that see each member separately, waiting
 * for health, membership changes, and raw etcd3 clients with the same TLS settings.
 * @module
 */
export { createEtcdClient } from './client.js';
export {
  addMember,
  checkHealth,
  connectCluster,
  type EtcdCluster,
  listMembers,
  type MoveLeaderResult,
  promoteMember,
  removeMember,
  waitForHealthy,
} from './cluster-handle.js';
export type {
  AddMemberOptions,
  CheckHealthOptions,
  CreateEtcdClientOptions,
  EtcdConnectOptions,
  EtcdTlsOptions,
  MembershipCallOptions,
  MembershipChangeOptions,
  WaitForHealthyOptions,
} from './options.js';
export type { EtcdVersionInfo } from './versions.js';
export { type SaveSnapshotOptions, type SnapshotResult, saveSnapshot } from './snapshot.js';
export { type ReadSnapshotFileOptions, readSnapshotFile, type SnapshotFile } from './snapshot-file.js';
export { type ClusterIdentity, readClusterIdentity } from './cluster-identity.js';
export { type SaveSnapshotToDirOptions, type SnapshotDirResult, saveSnapshotToDir } from './snapshot-dir.js';
export {
  type CaIdentity,
  caIdentity,
  type ReadServedCertificateOptions,
  readServedCertificate,
  type ServedCertificate,
} from './served-certificate.js';
// issuingCa is pure X.509 and lives in pki; re-exported here, where served certificates are read.
export { issuingCa } from '../pki/index.js';
export { type ClientCertificateVerdict, type ProbeClientCertificateOptions, probeClientCertificate } from './client-cert-probe.js';
export {
  type DefragmentOptions,
  type DefragmentProgress,
  type DefragmentResult,
  defragmentCluster,
  type MemberDefragment,
} from './defragment.js';
export type {
  AddMemberResult,
  ClusterHealth,
  ClusterLeader,
  EndpointHealth,
  EndpointStatus,
  EtcdAlarm,
  EtcdFailure,
  EtcdMember,
  HealthVerdict,
  QuorumInfo,
} from './types.js';
export { healthVerdict } from './health.js';
