/**
 * etcd-kit: take bare Linux hosts to a secure, verified etcd cluster and keep it healthy.
 *
 * This entry point holds what a user scripts with: {@link deployEtcdCluster} and the day-2 operations, the
 * PKI primitives, the two renderers, {@link installMember}, the etcd client, the errors, and every option and
 * result type they take or give. Each layer's further API has its own entry point:
 * {@link etcd-kit/pki! | etcd-kit/pki}, {@link etcd-kit/render! | etcd-kit/render},
 * {@link etcd-kit/remote! | etcd-kit/remote} and {@link etcd-kit/etcd! | etcd-kit/etcd}.
 *
 * Layers (arrows point one way): `pki` and `render` are pure; `remote` (SSH) and `etcd` (client) use
 * them; `deploy` orchestrates; the CLI is a thin shell over these entry points.
 * @module etcd-kit
 */

// Errors.
export { EtcdKitError, type EtcdKitErrorCode, type EtcdKitErrorOptions, isEtcdKitError } from './errors.js';

// Deploy and day 2: the cluster spec, planning, deploying, and the operations on a running cluster.
export {
  type CaRotationPhaseReport,
  type CaRotationStepReport,
  type ClientCertPaths,
  type ClusterPlan,
  type ClusterSpec,
  type ClusterSpecInput,
  DEFAULT_BACKUP_DIR,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_PKI_DIR,
  type DeployOptions,
  type DeployProgressEvent,
  type DeployResult,
  type DeployStep,
  deployEtcdCluster,
  type EtcdSource,
  type EtcdSourceInput,
  ensureClusterPki,
  loadClusterSpecFile,
  type MemberDeployReport,
  type MemberInput,
  type MemberMoveReport,
  type MemberPlan,
  type MemberSshInput,
  type MemberVersionPlan,
  type PkiInput,
  type PkiOutcome,
  type PlannedFileChange,
  type PlannedOperation,
  type PlanOptions,
  planEtcdCluster,
  type PreChangeSnapshot,
  type RecoverOptions,
  type RemoveMemberOptions,
  type RemoveMemberResult,
  type ResetOptions,
  type ResetResult,
  type ResolvedMember,
  type ResolveSpecOptions,
  type RestoredMember,
  type RestoreOptions,
  type RestoreResult,
  type RotateCaOptions,
  type RotateCaResult,
  recoverEtcdCluster,
  removeEtcdMember,
  resetEtcdCluster,
  resolveClusterSpec,
  restoreEtcdCluster,
  rotateEtcdCa,
  type SshInput,
  type VersionChangeKind,
} from './deploy/index.js';

// PKI: a CA, member and client certificates, the PKI directory.
export {
  type CertificateAuthority,
  type CertificateInfo,
  type CertificateName,
  type ClientCertOptions,
  type ClusterMemberSpec,
  type ClusterPki,
  type CreateCaOptions,
  type CreateClusterPkiOptions,
  createCA,
  createClusterPki,
  type ExtendedKeyUsage,
  type HostCertOptions,
  type IssuedCertificate,
  inspectPkiDir,
  type KeyAlgorithm,
  type KeyUsage,
  type MemberPki,
  type PkiClientCredentials,
  type PkiDirCertificate,
  type PkiDirCertificateRole,
  type PkiDirContents,
  type PkiDirInspection,
  type PkiDirRotation,
  type ReadPkiDirOptions,
  readPkiClient,
  readPkiDir,
  signClientCert,
  signPeerCert,
  signServerCert,
  writePkiDir,
} from './pki/index.js';

// Rendering: what lives on an etcd host, as text.
export {
  type ClusterMember,
  type EtcdLayout,
  type EtcdLogLevel,
  type EtcdSettings,
  type RenderEtcdEnvOptions,
  type RenderSystemdUnitOptions,
  renderEtcdEnv,
  renderSystemdUnit,
} from './render/index.js';

// Remote hosts: one member onto one host over SSH.
export {
  type BinarySource,
  type EtcdBinaryName,
  type InstallMemberOptions,
  type InstallReport,
  installMember,
  type MemberBundle,
  type MemberFiles,
  type PreparedBinaries,
  type PreparedBinary,
  type PreparedBundle,
  type ProgressEvent,
  type ProgressListener,
  type ProgressStep,
  prepareBinaries,
  type RemoteCallOptions,
  type RemoteHost,
  SshConnection,
  type SshTarget,
} from './remote/index.js';

// etcd client: health, membership, snapshots and defragmentation of a running cluster over mutual TLS.
export {
  type AddMemberOptions,
  type AddMemberResult,
  type CheckHealthOptions,
  type ClusterHealth,
  type ClusterLeader,
  checkHealth,
  connectCluster,
  type DefragmentOptions,
  type DefragmentProgress,
  type DefragmentResult,
  defragmentCluster,
  type EndpointHealth,
  type EndpointStatus,
  type EtcdAlarm,
  type EtcdCluster,
  type EtcdConnectOptions,
  type EtcdFailure,
  type EtcdMember,
  type EtcdTlsOptions,
  type EtcdVersionInfo,
  type HealthVerdict,
  type MemberDefragment,
  type MembershipCallOptions,
  type MembershipChangeOptions,
  type MoveLeaderResult,
  type QuorumInfo,
  type ReadSnapshotFileOptions,
  readSnapshotFile,
  type SaveSnapshotOptions,
  type SaveSnapshotToDirOptions,
  type SnapshotDirResult,
  type SnapshotFile,
  type SnapshotResult,
  saveSnapshot,
  saveSnapshotToDir,
  type WaitForHealthyOptions,
} from './etcd/index.js';
