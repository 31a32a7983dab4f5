/**
 * One rule, pure: a deploy never ships a CA the running cluster does not trust. etcd reloads its leaf
 * certificates on every handshake but trusts only the CA it started with, so replacing ca.crt and the
 * leaves under running members makes peers and clients refuse each other (a full outage). A PKI dir
 * that does not hold the cluster's CA (lost, another laptop, a CI runner) is refused before any host changes.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { CaIdentity } from '../etcd/index.js';
import type { ClusterPlan } from './types.js';

/** What was seen of one member's CA (see observe-ca.ts). */
export interface MemberCaObservation {
  /** Member name. */
  name: string;
  /** Its client URL. */
  endpoint: string;
  /**
   * The certificate its running etcd serves (a TLS handshake); absent when no handshake completed (the
   * member is down): then its host's ca.crt is the evidence.
   */
  served?: {
    /** The served certificate is signed by the PKI dir's CA (name and signature). */
    chainsToPkiCa: boolean;
    /** The CA it chains to, when one of the known CA certificates (the host's ca.crt, a sent chain) is it. */
    issuerCa?: CaIdentity;
    /** Issuer DN of the served certificate. */
    issuer: string;
  };
  /** The host's ca.crt; absent when the host has none (a new member). */
  hostCa?: CaIdentity;
}

/** Input of {@link caMismatches}. */
export interface CaCheckInput {
  /** Found a new cluster (no check) or update a running one. */
  mode: ClusterPlan['mode'];
  /** The PKI dir's CA (or the one this run would create, see `createdCa`). */
  pkiCa: CaIdentity;
  /** The PKI dir held no CA: this run creates (a plan: would create) it. */
  createdCa: boolean;
  /** Per member, spec order. */
  members: readonly MemberCaObservation[];
}

/** One member that trusts another CA than the PKI dir's. */
export interface CaMismatch {
  /** Member name. */
  name: string;
  /** Its client URL. */
  endpoint: string;
  /** `served`: its running etcd serves a certificate of another CA; `host-ca`: its host's ca.crt is another CA; `new-ca`: the PKI dir has no CA at all. */
  reason: 'served' | 'host-ca' | 'new-ca';
  /** Fingerprint (`AA:BB:…`) of the CA the member has, when known. */
  foundFingerprint?: string;
  /** How that CA is named (its subject, or the served certificate's issuer). */
  foundName?: string;
}

/** Same CA: the same certificate, or one re-issued with the same name and key (it verifies the same leaves). */
export function sameCa(a: CaIdentity, b: CaIdentity): boolean {
  return a.fingerprint === b.fingerprint || (a.subject === b.subject && a.publicKeySha256 === b.publicKeySha256);
}

function found(ca: CaIdentity | undefined, name: string | undefined): Pick<CaMismatch, 'foundFingerprint' | 'foundName'> {
  const n = ca?.subject ?? name;
  return { ...(ca ? { foundFingerprint: ca.fingerprint } : {}), ...(n === undefined ? {} : { foundName: n }) };
}

/**
 * The members whose CA is not the PKI dir's, one entry each (the first evidence that counts). Pure.
 *
 * - bootstrap: none (nothing runs, nothing is trusted yet);
 * - a member that answers a handshake: its served certificate must chain to the PKI CA, and its host's
 *   ca.crt (what it trusts after a restart) must be the same CA;
 * - a member that does not answer: its host's ca.crt decides; no ca.crt = a new member, nothing to keep;
 * - a PKI dir without a CA next to a running cluster: every member with any CA evidence is refused, and
 *   with none at all the first member stands for the cluster (its env file says the cluster exists).
 */
export function caMismatches(input: CaCheckInput): CaMismatch[] {
  if (input.mode === 'bootstrap') return [];
  const out: CaMismatch[] = [];
  for (const m of input.members) {
    const base = { name: m.name, endpoint: m.endpoint };
    if (m.served && !m.served.chainsToPkiCa) {
      out.push({ ...base, reason: input.createdCa ? 'new-ca' : 'served', ...found(m.served.issuerCa, m.served.issuer) });
    } else if (m.hostCa && !sameCa(m.hostCa, input.pkiCa)) {
      out.push({ ...base, reason: input.createdCa ? 'new-ca' : 'host-ca', ...found(m.hostCa, undefined) });
    } else if (input.createdCa && (m.served || m.hostCa)) {
      // Cannot happen with a CA made just now (nothing chains to it); kept so the rule holds on its own.
      out.push({ ...base, reason: 'new-ca', ...found(m.hostCa, m.served?.issuer) });
    }
  }
  if (input.createdCa && out.length === 0 && input.members.length > 0) {
    const first = input.members[0]!;
    out.push({ name: first.name, endpoint: first.endpoint, reason: 'new-ca' });
  }
  return out;
}

function describe(m: CaMismatch): string {
  const ca = m.foundFingerprint ? `CA ${m.foundFingerprint}${m.foundName ? ` (${m.foundName})` : ''}` : m.foundName ? `a CA named ${m.foundName} (not in the PKI dir or on the host)` : 'an unknown CA';
  switch (m.reason) {
    case 'served':
      return `${m.name} (${m.endpoint}) runs with a certificate issued by ${ca}`;
    case 'host-ca':
      return `${m.name} (${m.endpoint}) has ${ca} in its ca.crt`;
    case 'new-ca':
      return m.foundFingerprint || m.foundName ? `${m.name} (${m.endpoint}) trusts ${ca}` : `${m.name} (${m.endpoint}) belongs to a cluster that already exists`;
  }
}

/**
 * Throws `CA_MISMATCH` when {@link caMismatches} finds any: naming each member, the CA it has and the PKI
 * dir's CA (both as SHA-256 fingerprints), and what to do. `details`: `{ pkiDir, pkiCa, createdCa, members }`.
 */
export function assertCaMatches(input: CaCheckInput & { pkiDir: string }): void {
  const mismatches = caMismatches(input);
  if (mismatches.length === 0) return;
  const pki = input.createdCa
    ? `${input.pkiDir} holds no CA: this deploy would create a new one (CA ${input.pkiCa.fingerprint}) and replace ca.crt and every certificate on the hosts`
    : `the PKI dir ${input.pkiDir} holds CA ${input.pkiCa.fingerprint} (${input.pkiCa.subject}); deploying it would replace ca.crt and every certificate on the hosts`;
  const message =
    `the running cluster trusts a CA the PKI dir does not hold: ${mismatches.map(describe).join('; ')}. ` +
    `${pki}, and running members (which trust only the CA they started with) would refuse each other and every client. ` +
    'Nothing was changed. Restore the PKI dir the cluster was deployed with (copy it from the machine or store it was deployed from) and re-run; ' +
    'to move a running cluster to a new CA, rotate it from that PKI dir (etcd-kit pki rotate-ca: no downtime).';
  throw new EtcdKitError('CA_MISMATCH', message, {
    member: mismatches[0]!.name,
    details: { pkiDir: input.pkiDir, pkiCa: input.pkiCa.fingerprint, createdCa: input.createdCa, members: mismatches },
  });
}
