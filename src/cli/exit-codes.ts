/**
 * Exit codes of the etcd-kit CLI: the numbers scripts can rely on.
 *
 * @module
 */

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** A run failed (host unreachable, deploy error, ...). */
  failed: 1,
  /** Bad input: usage error, invalid spec, or an etcd version change etcd's rules refuse; nothing was touched. */
  invalid: 2,
  /** `health`: the cluster is unavailable (no quorum: it serves no linearizable read and no write). */
  unavailable: 3,
  /** `pki inspect --warn-days N`: a certificate expires within N days. */
  certExpiring: 3,
  /** `plan --exit-code`: changes are pending. */
  changesPending: 4,
  /** `health`: the cluster is degraded (it has a quorum, but a member does not answer). */
  degraded: 5,
} as const;
