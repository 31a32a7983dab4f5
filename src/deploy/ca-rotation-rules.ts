/**
 * The rules of a CA rotation over a running cluster, pure: whether the cluster as observed may take the
 * next steps of the phase it is in, and what each member step does. The PKI dir side (what members and
 * clients trust in each phase, who signs leaves) is `caRotationRules` in src/pki; the driver is rotate-ca.ts.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { issuingCa } from '../etcd/index.js';
import { type CaRotationPhase, type CaRotationRolledPhase, splitPemCertificates } from '../pki/index.js';

/** Which CA something belongs to, seen from a rotation: the CA being replaced, the new one, or neither. */
export type RotationCaKind = 'old' | 'new' | 'other';

/** What a rotation observed of one member before its next steps. */
export interface RotationMemberObservation {
  /** Member name. */
  name: string;
  /** Its etcd runs (systemd). */
  running: boolean;
  /** It answered the health check (a linearizable read). */
  healthy: boolean;
  /** Which CA issued the certificate it serves on its client URL; absent when no handshake completed. */
  serves?: RotationCaKind;
  /** The CAs in its host's trusted CA file, in file order; absent when the host has none. */
  trusts?: RotationCaKind[];
  /** Host changes the spec wants that are not the rotation's (env file, unit, binaries, account, ...), in words. */
  pending: string[];
  /** Certificate and key files on the host that differ from the PKI dir (paths). */
  certFilesDiffer: string[];
}

/**
 * Which CA of the rotation `certPem` belongs to: issued by it, or (a CA certificate, self-signed) the CA
 * itself — one {@link issuingCa} over both. Both CAs may carry the same name: the signature decides. Pure.
 */
export function rotationCaOf(certPem: string, cas: { oldPem: string; nextPem?: string }): RotationCaKind {
  const candidates = cas.nextPem === undefined ? [cas.oldPem] : [cas.nextPem, cas.oldPem];
  let issuer: string | undefined;
  try {
    issuer = issuingCa(certPem, candidates);
  } catch {
    return 'other'; // not a certificate
  }
  return issuer === undefined ? 'other' : issuer === cas.nextPem ? 'new' : 'old';
}

/** The CAs of a PEM bundle (a trusted CA file), each classified by {@link rotationCaOf}. Pure. */
export function bundleCas(bundlePem: string, cas: { oldPem: string; nextPem?: string }): RotationCaKind[] {
  const blocks = splitPemCertificates(bundlePem);
  return blocks.length === 0 ? ['other'] : blocks.map((b) => rotationCaOf(b, cas));
}

/** Which leaf issuers a member may serve while the rotation is in `phase` (`undefined`: before it begins). */
function servableIssuers(phase: CaRotationPhase | undefined): readonly RotationCaKind[] {
  switch (phase) {
    case 'new-leaves':
      return ['old', 'new'];
    case 'drop-old':
      return ['new'];
    case 'trust-both':
    case undefined:
    case 'done':
      return ['old'];
  }
}

const list = (names: readonly string[]) => names.join(', ');

/**
 * Why the rotation must not go on with the cluster as observed, or undefined when it may. Checked before
 * the rotation begins and again whenever it resumes, before any host changes:
 *
 * - every member runs and answers: each step restarts a member or changes what it serves, and a cluster
 *   with a member down would lose its quorum on the next restart (`UNSAFE_CHANGE`);
 * - nothing else is pending (settings, binaries, unit, a renewed leaf): the rotation changes CA files only,
 *   and a restart must not carry a deploy's changes along unasked (`UNSAFE_CHANGE`, "deploy first");
 * - what members serve and trust belongs to the rotation: the PKI dir's CA before it begins, old or new in
 *   the phase's pattern after (`CA_MISMATCH`: this PKI dir is not the cluster's, or a member was changed
 *   behind the rotation's back). From `new-leaves` on every member must trust the new CA, from `drop-old`
 *   on serve a new-CA certificate.
 *
 * `phase`: the rotation's phase, undefined when none is under way (it would begin). Pure.
 */
export function caRotationRefusal(pkiDir: string, phase: CaRotationPhase | undefined, members: readonly RotationMemberObservation[]): EtcdKitError | undefined {
  const rotating = phase !== undefined && phase !== 'done';
  const foreign = members.filter((m) => m.serves === 'other' || m.trusts?.includes('other'));
  if (foreign.length > 0) {
    return new EtcdKitError(
      'CA_MISMATCH',
      `${list(foreign.map((m) => m.name))} ${foreign.length === 1 ? 'trusts or serves' : 'trust or serve'} certificates of a CA that is neither ${rotating ? "the rotation's old nor its new CA" : `the CA in ${pkiDir}`}: this PKI dir is not the running cluster's (nothing was changed)`,
      { field: 'pki.dir', details: { pkiDir, members: foreign.map((m) => m.name) } },
    );
  }
  const down = members.filter((m) => !m.running || !m.healthy);
  if (down.length > 0) {
    const why = down.map((m) => `${m.name} (${m.running ? 'not answering' : 'etcd not running'})`);
    return new EtcdKitError(
      'UNSAFE_CHANGE',
      `a CA rotation changes every member one at a time and needs all of them up and healthy first; not ready: ${list(why)}. Bring ${down.length === 1 ? 'it' : 'them'} back (etcd-kit deploy), then run the rotation again${rotating ? ': it resumes where it stopped' : ''}`,
      { details: { notReady: down.map((m) => m.name), ...(rotating ? { phase } : {}) } },
    );
  }
  const pending = members.filter((m) => m.pending.length > 0 || (!rotating && m.certFilesDiffer.length > 0));
  if (pending.length > 0) {
    const what = pending.map((m) => `${m.name}: ${[...m.pending, ...(rotating ? [] : m.certFilesDiffer)].join(', ')}`);
    return new EtcdKitError(
      'UNSAFE_CHANGE',
      `the hosts are not in line with the spec (${what.join('; ')}): run etcd-kit deploy first, so the rotation's restarts change nothing but the CA files`,
      { details: { pending: Object.fromEntries(pending.map((m) => [m.name, [...m.pending, ...m.certFilesDiffer]])) } },
    );
  }
  const allowed = servableIssuers(rotating ? phase : undefined);
  const wrongServe = members.filter((m) => m.serves !== undefined && !allowed.includes(m.serves));
  const mustTrustNew = phase === 'new-leaves' || phase === 'drop-old';
  const wrongTrust = members.filter((m) => (mustTrustNew ? !m.trusts?.includes('new') : !rotating && m.trusts?.some((t) => t !== 'old')));
  if (wrongServe.length > 0 || wrongTrust.length > 0) {
    const names = [...new Set([...wrongServe, ...wrongTrust].map((m) => m.name))];
    return new EtcdKitError(
      'CA_MISMATCH',
      `${list(names)} ${rotating ? `do not match the CA rotation's phase ${phase}` : 'do not trust only the CA of the PKI dir'} (serving: ${members.map((m) => `${m.name} ${m.serves ?? '?'}`).join(', ')}; trusting: ${members.map((m) => `${m.name} ${(m.trusts ?? []).join('+') || 'nothing'}`).join(', ')}); was a member changed by hand during the rotation? Nothing was changed`,
      { field: 'pki.dir', details: { pkiDir, members: names, ...(phase ? { phase } : {}) } },
    );
  }
  return undefined;
}

/** What one member's step of a rolled phase does. */
export interface CaRotationMemberAction {
  /** Restart etcd after the files are in place: its trusted CA file is read only at start. */
  restart: boolean;
  /** After the step, the member must accept a client certificate of this CA (on its client and peer URLs). */
  mustAccept: 'old' | 'new';
  /** After the step, the member must refuse a client certificate of the old CA. */
  mustRefuseOld: boolean;
  /** After the step, the member must serve a certificate issued by this CA. */
  mustServe: 'old' | 'new';
}

/**
 * The member step of each rolled phase. `trust-both` and `drop-old` change the trusted CA file, which
 * etcd reads only when it starts: a restart. `new-leaves` changes only the member's own certificates,
 * which etcd re-reads on every TLS handshake: no restart, so no member is down in that phase at all. Pure.
 */
export function caRotationMemberAction(phase: CaRotationRolledPhase): CaRotationMemberAction {
  switch (phase) {
    case 'trust-both':
      return { restart: true, mustAccept: 'new', mustRefuseOld: false, mustServe: 'old' };
    case 'new-leaves':
      return { restart: false, mustAccept: 'new', mustRefuseOld: false, mustServe: 'new' };
    case 'drop-old':
      return { restart: true, mustAccept: 'new', mustRefuseOld: true, mustServe: 'new' };
  }
}
