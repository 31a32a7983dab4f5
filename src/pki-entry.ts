/**
 * `etcd-kit/pki`: the PKI layer beyond the primitives of `etcd-kit` — the PKI directory's paths and file
 * modes, verifying and inspecting certificates, the CA-rotation state machine, and the PKI dir's lock.
 * Pure: touches no host, only its own PKI directory.
 *
 * ```ts
 * import { beginCaRotation, readCaRotationState } from 'etcd-kit/pki';
 * ```
 *
 * The CA, member and client certificates themselves ({@link etcd-kit!createCA | createCA}, {@link etcd-kit!createClusterPki | createClusterPki},
 * {@link etcd-kit!writePkiDir | writePkiDir}, ...) come from `etcd-kit`.
 * @module etcd-kit/pki
 */
// The errors, and the types of `etcd-kit` this entry's functions take or return, are exported here too.
export { EtcdKitError, type EtcdKitErrorCode, type EtcdKitErrorOptions, isEtcdKitError } from './errors.js';
export type { CertificateAuthority, CertificateInfo, PkiDirContents } from './pki/index.js';
export {
  type AcquirePkiLockOptions,
  type AdvanceCaRotationOptions,
  acquirePkiLock,
  advanceCaRotation,
  type BeginCaRotationOptions,
  beginCaRotation,
  CA_ROTATION_PHASES,
  type CaRotationAdvanceStep,
  type CaRotationDoneStep,
  type CaRotationMemberStep,
  type CaRotationPhase,
  type CaRotationRolledPhase,
  type CaRotationRules,
  type CaRotationState,
  type CaRotationStep,
  type ClientPaths,
  caBundlePem,
  caRotationRules,
  ensureCaBundle,
  inspectCertificate,
  isKeyAlgorithm,
  isRotating,
  KEY_ALGORITHMS,
  keyMatchesCert,
  leafSigningCa,
  type MemberPaths,
  markCaRotationMemberDone,
  memberTrustedCa,
  memberTrustedCaPem,
  nextCaRotationStep,
  PKI_DEFAULTS,
  PKI_FILE_MODES,
  type PkiLock,
  type PkiLockHolder,
  type PkiPaths,
  parseCaRotationState,
  pkiPaths,
  ROTATION_STATE_FILE,
  type RotationCa,
  type RotationCaPems,
  readCaRotationState,
  resumeCaRotation,
  retiredCaDirName,
  type VerifyCertificateOptions,
  type VerifyResult,
  verifyCertificate,
  withPkiLock,
  writeCaRotationState,
} from './pki/index.js';
