/**
 * PKI for etcd: a CA, per-member server and peer certificates, client certificates; reading, writing,
 * verifying and inspecting them. Pure: touches no host, only its own PKI directory.
 * @module
 */
export type {
  CertificateAuthority,
  CertificateInfo,
  CertificateName,
  ClientCertOptions,
  ClusterMemberSpec,
  ClusterPki,
  CreateCaOptions,
  CreateClusterPkiOptions,
  ExtendedKeyUsage,
  HostCertOptions,
  IssuedCertificate,
  KeyAlgorithm,
  KeyUsage,
  MemberPki,
} from './types.js';
export { createCA, signClientCert, signPeerCert, signServerCert } from './issue.js';
export { splitPemCertificates } from './pem.js';
export { createClusterPki } from './create-cluster-pki.js';
export {
  type ClientPaths,
  type MemberPaths,
  PKI_FILE_MODES,
  type PkiClientCredentials,
  type PkiDirContents,
  type PkiDirRotation,
  type PkiPaths,
  type ReadPkiDirOptions,
  ensureCaBundle,
  pkiPaths,
  readPkiClient,
  readPkiDir,
  writePkiDir,
} from './dir.js';
export { issuingCa, signedBy, type VerifyCertificateOptions, type VerifyResult, keyMatchesCert, verifyCertificate } from './verify.js';
export { inspectCertificate } from './inspect.js';
export { type PkiDirCertificate, type PkiDirCertificateRole, type PkiDirInspection, inspectPkiDir } from './inspect-dir.js';
export {
  CA_ROTATION_PHASES,
  type CaRotationPhase,
  type CaRotationRolledPhase,
  type CaRotationRules,
  type CaRotationState,
  type CaRotationAdvanceStep,
  type CaRotationDoneStep,
  type CaRotationMemberStep,
  type CaRotationStep,
  type RotationCa,
  type RotationCaPems,
  ROTATION_STATE_FILE,
  caBundlePem,
  caRotationRules,
  concatPem,
  isRotating,
  memberTrustedCaPem,
  nextCaRotationStep,
  parseCaRotationState,
  readCaRotationState,
  writeCaRotationState,
} from './rotation-state.js';
export {
  type AdvanceCaRotationOptions,
  type BeginCaRotationOptions,
  advanceCaRotation,
  beginCaRotation,
  leafSigningCa,
  markCaRotationMemberDone,
  memberTrustedCa,
  resumeCaRotation,
  retiredCaDirName,
} from './rotation.js';
export { type AcquirePkiLockOptions, type PkiLock, type PkiLockHolder, acquirePkiLock, withPkiLock } from './lock.js';
export { KEY_ALGORITHMS, isKeyAlgorithm } from './keys.js';
export { PKI_DEFAULTS } from './options.js';
