/**
 * Creates the cluster's PKI directory, or reuses it: an existing CA is kept, certificates that are
 * missing, expire within `renewBeforeDays` or do not cover a member's addresses any more are issued with
 * that CA, and a PKI whose certificates do not chain to its CA is an error (readPkiDir), never silently
 * re-issued. A deploy then ships the renewed files and restarts members one at a time.
 * @module
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { EtcdKitError } from '../errors.js';
import type { EtcdTlsOptions } from '../etcd/index.js';
import {
  type CaRotationState,
  type ClusterPki,
  createClusterPki,
  ensureCaBundle,
  isRotating,
  readCaRotationState,
  PKI_DEFAULTS,
  pkiPaths,
  inspectCertificate,
  readPkiDir,
  signClientCert,
  verifyCertificate,
  writePkiDir,
} from '../pki/index.js';
import type { ClusterSpec, ResolvedMember } from './resolve-spec.js';

/**
 * The TLS settings etcd-kit talks to the cluster with: the `admin` client (else the first client) and the
 * CAs to trust, `caPem` (during a CA rotation the PKI dir's `ca-bundle.crt`), by default the CA alone.
 */
export function adminTls(pki: ClusterPki, caPem: string = pki.ca.certPem): EtcdTlsOptions {
  const client = pki.clients['admin'] ?? Object.values(pki.clients)[0];
  if (!client) {
    throw new EtcdKitError('INVALID_SPEC', 'pki.clients: at least one client certificate is needed to talk to the cluster', { field: 'pki.clients' });
  }
  return { caPem, certPem: client.certPem, keyPem: client.keyPem };
}

/**
 * What {@link ensureClusterPki} did.
 * @category PKI
 */
export interface PkiOutcome {
  /** The cluster PKI, complete for the spec. */
  pki: ClusterPki;
  /** True when the CA was created in this run. */
  createdCa: boolean;
  /** Member names whose server/peer certificates were (re-)issued in this run. */
  issuedMembers: string[];
  /** Client names whose certificates were issued in this run. */
  issuedClients: string[];
  /** Things to tell the operator (a CA close to its end, which renewing leaves cannot fix). */
  warnings: string[];
  /**
   * What members trust (their trusted CA file), when it is not `pki.ca` alone: during a CA rotation, old +
   * new CA or the new one ({@link etcd-kit/pki!memberTrustedCa | memberTrustedCa}). Absent: `pki.ca.certPem`.
   */
  memberTrustedCaPem?: string;
  /** What clients trust (`ca-bundle.crt`) when it is not `pki.ca` alone (a CA rotation). Absent: `pki.ca.certPem`. */
  clientCaPem?: string;
}

/**
 * A leaf is renewed when it ends within `renewBeforeDays` — but only if a new one would last longer
 * (leaves end with their CA at the latest), so a CA near its end cannot cause a re-issue on every run.
 */
function expiresSoon(certPem: string, caDaysLeft: number, renewBeforeDays: number): boolean {
  const { daysLeft } = inspectCertificate(certPem);
  return daysLeft < renewBeforeDays && caDaysLeft > daysLeft + 1;
}

function coversHosts(certPem: string, caPem: string, hosts: string[], usage: 'server' | 'peer'): boolean {
  return hosts.every((host) => verifyCertificate(certPem, caPem, isIP(host) ? { ip: host, usage } : { dns: host, usage }).valid);
}

function memberNeedsCerts(pki: ClusterPki, member: ResolvedMember, soon: (certPem: string) => boolean): boolean {
  const existing = pki.members[member.name];
  if (!existing) return true;
  const hosts = [...member.certHosts, ...PKI_DEFAULTS.memberLocalHosts];
  return (
    !coversHosts(existing.server.certPem, pki.ca.certPem, hosts, 'server') ||
    !coversHosts(existing.peer.certPem, pki.ca.certPem, hosts, 'peer') ||
    soon(existing.server.certPem) ||
    soon(existing.peer.certPem)
  );
}

/**
 * The refusal of a deploy (restore, removal) on a PKI dir in the middle of a CA rotation, or undefined when
 * none is under way. A deploy then would issue leaves with the wrong CA and ship members a trust that the
 * rotation's phase does not allow; it must never undo the rotation either. Pure.
 */
export function rotationInProgressError(pkiDir: string, state: CaRotationState | undefined): EtcdKitError | undefined {
  if (!isRotating(state)) return undefined;
  return new EtcdKitError(
    'CA_ROTATION_IN_PROGRESS',
    `${pkiDir} is in the middle of a CA rotation (phase ${state.phase}, started ${state.startedAt}); finish it first (etcd-kit pki rotate-ca) and deploy again`,
    { field: 'pki.dir', details: { pkiDir, phase: state.phase, startedAt: state.startedAt } },
  );
}

/**
 * Throws {@link rotationInProgressError}'s error when `pkiDir` is in the middle of a CA rotation: what deploys,
 * restores and removals check before their first connection.
 */
export async function assertNotRotating(pkiDir: string): Promise<void> {
  const refusal = rotationInProgressError(pkiDir, await readCaRotationState(pkiDir));
  if (refusal) throw refusal;
}

/**
 * Makes the PKI dir at `spec.pki.dir` complete for `spec`. With `persist: false` (dry runs) nothing is
 * written and a missing PKI is generated in memory only.
 * @category PKI
 */
export async function ensureClusterPki(spec: ClusterSpec, options: { persist?: boolean } = {}): Promise<PkiOutcome> {
  const persist = options.persist ?? true;
  const dir = spec.pki.dir;
  await assertNotRotating(dir);
  if (!existsSync(pkiPaths(dir).caCert)) {
    const pki = await createClusterPki({
      members: spec.members.map((m) => ({ name: m.name, hosts: m.certHosts })),
      keyAlgorithm: spec.pki.keyAlgorithm,
      clients: spec.pki.clients,
    });
    if (persist) await writePkiDir(dir, pki);
    return { pki, createdCa: true, issuedMembers: spec.members.map((m) => m.name), issuedClients: [...spec.pki.clients], warnings: [] };
  }

  const pki = await readPkiDir(dir);
  const caDaysLeft = inspectCertificate(pki.ca.certPem).daysLeft;
  const warnings =
    caDaysLeft < spec.pki.renewBeforeDays
      ? [`the CA in ${dir} expires in ${caDaysLeft} days: certificates cannot outlive it; plan a CA rotation`]
      : [];
  const soon = (certPem: string) => expiresSoon(certPem, caDaysLeft, spec.pki.renewBeforeDays);
  const stale = spec.members.filter((m) => memberNeedsCerts(pki, m, soon));
  const missingClients = spec.pki.clients.filter((c) => !pki.clients[c] || soon(pki.clients[c].certPem));
  if (stale.length === 0 && missingClients.length === 0) {
    if (persist) await ensureCaBundle(dir);
    return { pki, createdCa: false, issuedMembers: [], issuedClients: [], warnings };
  }

  const [fresh, clients] = await Promise.all([
    stale.length > 0
      ? createClusterPki({ members: stale.map((m) => ({ name: m.name, hosts: m.certHosts })), ca: pki.ca, clients: [] })
      : undefined,
    Promise.all(missingClients.map(async (name) => [name, await signClientCert(pki.ca, { commonName: name })] as const)),
  ]);
  const merged: ClusterPki = {
    ca: pki.ca,
    members: { ...pki.members, ...(fresh?.members ?? {}) },
    clients: { ...pki.clients, ...Object.fromEntries(clients) },
  };
  if (persist) await writePkiDir(dir, merged);
  return { pki: merged, createdCa: false, issuedMembers: stale.map((m) => m.name), issuedClients: missingClients, warnings };
}

/**
 * Writes what {@link ensureClusterPki} made in memory (`persist: false`) to `dir`, when it made anything:
 * a deploy calls it only once every check passed (a refused deploy leaves the PKI dir as it was; a CA made
 * next to a running cluster is never written, see `CA_MISMATCH`).
 */
export async function persistClusterPki(dir: string, outcome: PkiOutcome): Promise<void> {
  if (outcome.createdCa || outcome.issuedMembers.length > 0 || outcome.issuedClients.length > 0) await writePkiDir(dir, outcome.pki);
  else await ensureCaBundle(dir); // a PKI dir from before ca-bundle.crt existed gets one
}
