/**
 * What CA each member has, read before a deploy changes anything: the certificate its running etcd serves
 * (one TLS handshake, no client certificate sent) and the ca.crt on its host (read with the host facts).
 * Read-only; the decision is ca-rules.ts.
 * @module
 */
import { type CaIdentity, caIdentity, issuingCa, readServedCertificate, type ServedCertificate } from '../etcd/index.js';
import type { MemberInspection } from '../remote/index.js';
import { clientUrl } from '../render/index.js';
import { assertCaMatches, type MemberCaObservation } from './ca-rules.js';
import type { PreparedMember } from './prepare.js';
import type { ResolvedMember } from './resolve-spec.js';

/** How long a member's handshake may take, in ms (a member that is down answers "refused" at once). */
const HANDSHAKE_TIMEOUT_MS = 3000;

function identityOrUndefined(pem: string | undefined): CaIdentity | undefined {
  if (pem === undefined) return undefined;
  try {
    return caIdentity(pem);
  } catch {
    return undefined; // a ca.crt that is no certificate: no evidence of a CA either way
  }
}

/** One member's observation, from its served certificate (if any) and host ca.crt text (if any). Pure. */
export function caObservation(name: string, endpoint: string, pkiCaPem: string, served: ServedCertificate | undefined, hostCaPem: string | undefined): MemberCaObservation {
  const hostCa = identityOrUndefined(hostCaPem);
  const base = { name, endpoint, ...(hostCa ? { hostCa } : {}) };
  if (!served) return base;
  const candidates = [pkiCaPem, ...(hostCaPem === undefined ? [] : [hostCaPem]), ...served.chainPem];
  const issuer = issuingCa(served.certPem, candidates);
  const issuerCa = identityOrUndefined(issuer);
  return { ...base, served: { chainsToPkiCa: issuer === pkiCaPem, ...(issuerCa ? { issuerCa } : {}), issuer: served.issuer } };
}

/**
 * The certificate each member's running etcd serves on its client URL (spec order; undefined for a member
 * that does not answer a handshake). Never throws for one that does not answer.
 */
export function readServedCertificates(members: readonly ResolvedMember[], signal?: AbortSignal): Promise<(ServedCertificate | undefined)[]> {
  const options = { timeoutMs: HANDSHAKE_TIMEOUT_MS, ...(signal ? { signal } : {}) };
  return Promise.all(members.map((m) => readServedCertificate(clientUrl(m.cluster), options).catch(() => undefined)));
}

/** Per member (spec order): the CA its running etcd serves a certificate of, and its host's ca.crt. Never throws for a member that does not answer. */
export async function observeCas(
  members: readonly PreparedMember[],
  inspections: readonly MemberInspection[],
  pkiCaPem: string,
  signal?: AbortSignal,
): Promise<MemberCaObservation[]> {
  const served = await readServedCertificates(members.map((m) => m.spec), signal);
  return members.map((m, i) => {
    const hostCaPem = inspections[i]?.files.find((f) => f.role === 'caCert')?.hostContent;
    return caObservation(m.spec.name, clientUrl(m.spec.cluster), pkiCaPem, served[i], hostCaPem);
  });
}

/**
 * For operations that change a running cluster without a host inspection first (`removeEtcdMember`): the
 * members that answer a handshake must serve certificates of the PKI dir's CA, else `CA_MISMATCH` (a
 * member that does not answer is not judged here). Read-only.
 */
export async function assertServedCa(members: readonly ResolvedMember[], pkiDir: string, pkiCaPem: string, signal?: AbortSignal): Promise<void> {
  const served = await readServedCertificates(members, signal);
  const observed = members.map((m, i) => caObservation(m.name, clientUrl(m.cluster), pkiCaPem, served[i], undefined));
  assertCaMatches({ mode: 'update', pkiDir, pkiCa: caIdentity(pkiCaPem), createdCa: false, members: observed });
}
