/**
 * Every failure etcd-kit raises on purpose is an {@link EtcdKitError} with a stable {@link EtcdKitErrorCode}.
 * Branch on `code`, never on the message text: messages may be reworded, codes are API.
 *
 * @example
 * ```ts
 * import { EtcdKitError, signServerCert } from 'etcd-kit';
 * try {
 *   await signServerCert(ca, { commonName: 'etcd01', hosts: [''] });
 * } catch (err) {
 *   if (err instanceof EtcdKitError && err.code === 'PKI_INVALID_INPUT') console.error(err.field, err.message);
 * }
 * ```
 * @module
 */

/**
 * Stable machine-readable error codes. Grouped by the layer that raises them.
 * @category Errors
 */
export type EtcdKitErrorCode =
  // Input validation (cluster spec, options of any public function).
  | 'INVALID_SPEC'
  | 'INVALID_ARGUMENT'
  // PKI
  | 'PKI_INVALID_INPUT'
  | 'PKI_MALFORMED_PEM'
  | 'PKI_KEY_MISMATCH'
  | 'PKI_CHAIN_INVALID'
  | 'PKI_NOT_A_CA'
  | 'PKI_IO'
  | 'PKI_INSECURE_PERMISSIONS'
  // The CA rotation record `<pki dir>/rotation.json` is damaged or does not match the PKI dir's CA files,
  // or a rotation stopped while finishing (resumeCaRotation completes it); field `rotation.json`,
  // `details: { path, reason }`.
  | 'PKI_ROTATION_STATE_INVALID'
  // A CA rotation step asked for out of order: advancing before every member completed the phase, marking
  // a member in a phase the rotation is not in, or a step when no rotation is under way;
  // `details: { phase, pending? }`.
  | 'CA_ROTATION_OUT_OF_ORDER'
  // Another etcd-kit operation holds the PKI dir's lock (`<pki dir>/.etcd-kit.lock`): a deploy, restore, CA
  // rotation, ... runs from this dir now, or its lock file is damaged. Raised before any host is touched;
  // field `pki.dir`, `details: { path, holder }` (`holder`: `{ pid, hostname, operation, startedAt }`,
  // undefined for a damaged file).
  | 'PKI_LOCKED'
  // Renderers
  | 'RENDER_INVALID_INPUT'
  // SSH / remote hosts
  | 'SSH_HOST_KEY_UNKNOWN'
  | 'SSH_HOST_KEY_MISMATCH'
  | 'SSH_AUTH_FAILED'
  | 'SSH_UNREACHABLE'
  | 'SSH_TIMEOUT'
  | 'SSH_COMMAND_FAILED'
  | 'SSH_SUDO_REQUIRED'
  | 'SSH_TRANSFER_FAILED'
  | 'HOST_UNSUPPORTED'
  | 'HOST_PORT_IN_USE'
  | 'BUNDLE_INVALID'
  // etcd client
  | 'ETCD_UNREACHABLE'
  | 'ETCD_TIMEOUT'
  | 'ETCD_TLS_UNTRUSTED'
  | 'ETCD_TLS_BAD_CERT'
  | 'ETCD_TLS_HOSTNAME'
  | 'ETCD_NO_QUORUM'
  | 'ETCD_UNHEALTHY'
  | 'ETCD_MEMBERSHIP'
  | 'ETCD_REQUEST_FAILED'
  | 'ETCD_SNAPSHOT_FAILED'
  // A snapshot file to restore is damaged: its SHA-256 trailer does not match (or it is too short to hold
  // one); `details: { path, bytes }`. Raised before any host is touched.
  | 'SNAPSHOT_INVALID'
  // Orchestration
  | 'DEPLOY_FAILED'
  // The etcd version change a deploy would make breaks etcd's upgrade rules; raised before any host
  // changes, naming the member, with `details: { from, to, rule }`.
  | 'VERSION_CHANGE_REFUSED'
  // Running members trust a CA the PKI dir does not hold (a lost or fresh PKI dir): raised before any host
  // changes and before the PKI dir is written, naming the members and both CA fingerprints
  // (`details: { pkiDir, pkiCa, createdCa, members }`).
  | 'CA_MISMATCH'
  // The PKI dir is in the middle of a CA rotation: a deploy (or `pki create`) would issue leaves with the
  // wrong CA or ship the wrong trust, so it refuses before any host changes and before the PKI dir is
  // written; finish the rotation first. `details: { pkiDir, phase, startedAt }`.
  | 'CA_ROTATION_IN_PROGRESS'
  // A change to the membership that is not safe now (replacing a failed member while another member is
  // down, two at once, or without a quorum of the others): raised before any host changes, naming the
  // member, with `details: { rule, ... }`. Not ETCD_NO_QUORUM: the cluster may well have quorum; the
  // refusal is etcd-kit's policy, and "fix the others first" is the way out.
  | 'UNSAFE_CHANGE'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  // Cancellation through an AbortSignal.
  | 'ABORTED';

/**
 * Extra, code-specific facts attached to an error. Never contains key material or passwords.
 * @category Errors
 */
export interface EtcdKitErrorOptions {
  /** The underlying error, kept for debugging. */
  cause?: unknown;
  /** Path of the offending input field, e.g. `members[1].host`. */
  field?: string;
  /** Member or host the error is about, when there is one. */
  member?: string;
  /** Free-form structured details (exit codes, per-endpoint pictures, ...). */
  details?: Record<string, unknown>;
}

/**
 * The one error class of etcd-kit.
 * @category Errors
 */
export class EtcdKitError extends Error {
  /** Always `'EtcdKitError'`. */
  override readonly name = 'EtcdKitError';
  /** Stable code to branch on. */
  readonly code: EtcdKitErrorCode;
  /** Path of the offending input field (`members[1].host`), for validation errors. */
  readonly field: string | undefined;
  /** Member or host the error concerns, when known. */
  readonly member: string | undefined;
  /** Structured, code-specific details. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: EtcdKitErrorCode, message: string, options: EtcdKitErrorOptions = {}) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.member = options.member;
    this.details = options.details;
  }
}

/**
 * True when `err` is an {@link EtcdKitError}, optionally with the given code.
 * @category Errors
 */
export function isEtcdKitError(err: unknown, code?: EtcdKitErrorCode): err is EtcdKitError {
  return err instanceof EtcdKitError && (code === undefined || err.code === code);
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/**
 * Removes private-key PEM blocks from text that may end up in a message or a log line. Defence in depth:
 * callers should never put secrets in messages in the first place.
 */
export function redactSecrets(text: string): string {
  return text.replace(PEM_BLOCK, '[REDACTED PRIVATE KEY]');
}
