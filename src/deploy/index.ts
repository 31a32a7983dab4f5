/**
 * Orchestration: the cluster spec, planning, deploying and keeping a cluster in line with its spec.
 * @module
 */
export { type PkiOutcome, ensureClusterPki } from './cluster-pki.js';
export { deployEtcdCluster, planEtcdCluster } from './deploy.js';
export { defaultDownloadCacheDir, type FetchedTarball, type FetchTarballOptions, fetchVerifiedTarball } from './download.js';
export { type RemoveMemberOptions, type RemoveMemberResult, removeEtcdMember } from './remove.js';
export { type ResetOptions, type ResetResult, resetEtcdCluster } from './reset.js';
export { type RecoverOptions, type RestoredMember, type RestoreOptions, type RestoreResult, recoverEtcdCluster, restoreEtcdCluster } from './restore.js';
export { type CaRotationPhaseReport, type CaRotationStepReport, type RotateCaOptions, type RotateCaResult, rotateEtcdCa } from './rotate-ca.js';
export { DEFAULT_BACKUP_DIR, DEFAULT_HEALTH_TIMEOUT_MS, DEFAULT_PKI_DIR } from './options.js';
export { loadClusterSpecFile } from './spec-file.js';
export { isHostAddress } from './spec-schema.js';
export type {
  ClientCertPaths,
  ClusterPlan,
  DeployOptions,
  DeployProgressEvent,
  DeployResult,
  DeployStep,
  MemberDeployReport,
  MemberMoveReport,
  MemberPlan,
  MemberVersionPlan,
  PlannedFileChange,
  PlannedOperation,
  PlanOptions,
  PreChangeSnapshot,
} from './types.js';
export type { ClusterSpecInput, EtcdSourceInput, MemberInput, MemberSshInput, PkiInput, SshInput } from './spec-types.js';
export {
  assertInstallableVersion,
  type ClusterVersionFacts,
  MIN_PATCH_BEFORE_NEXT_MINOR,
  type MemberVersions,
  planVersionChange,
  type VersionChangeInput,
  type VersionChangeKind,
  type VersionChangePlan,
  type VersionRule,
  type VersionTransition,
} from './version-rules.js';
export {
  type ClusterSpec,
  type EtcdSource,
  type ResolvedMember,
  type ResolveSpecOptions,
  resolveClusterSpec,
} from './resolve-spec.js';
