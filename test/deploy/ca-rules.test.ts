// The CA rule: a running cluster is never handed a CA it does not trust. Pure decisions over observations,
// plus the observation built from real certificates (createClusterPki) matched by signature.
import { describe, expect, it } from 'vitest';
import { assertCaMatches, type CaCheckInput, caMismatches, type MemberCaObservation, sameCa } from '../../src/deploy/ca-rules.js';
import { caObservation } from '../../src/deploy/observe-ca.js';
import { createClusterPki, EtcdKitError } from '../../src/index.js';
import { type CaIdentity, caIdentity, issuingCa } from '../../src/etcd-entry.js';
import { rejection } from '../helpers/rejection.js';

const A: CaIdentity = { fingerprint: 'AA:AA', subject: 'CN=etcd-ca', publicKeySha256: 'aaaa' };
const B: CaIdentity = { fingerprint: 'BB:BB', subject: 'CN=etcd-ca', publicKeySha256: 'bbbb' };
// A re-issued with the same name and key (another certificate, the same signer).
const A2: CaIdentity = { fingerprint: 'A2:A2', subject: 'CN=etcd-ca', publicKeySha256: 'aaaa' };

const ep = (n: number) => `https://10.0.0.1${n}:2379`;
const servedBy = (ca: CaIdentity | undefined, chainsToPkiCa: boolean): MemberCaObservation['served'] => ({
  chainsToPkiCa,
  issuer: 'CN=etcd-ca',
  ...(ca ? { issuerCa: ca } : {}),
});
function member(n: number, o: Partial<MemberCaObservation> = {}): MemberCaObservation {
  return { name: `etcd0${n}`, endpoint: ep(n), ...o };
}
function input(members: MemberCaObservation[], o: Partial<CaCheckInput> = {}): CaCheckInput {
  return { mode: 'update', pkiCa: A, createdCa: false, members, ...o };
}

describe('sameCa', () => {
  it('same certificate, or same name and key; another key is another CA', () => {
    expect(sameCa(A, A)).toBe(true);
    expect(sameCa(A, A2)).toBe(true);
    expect(sameCa(A, B)).toBe(false);
    expect(sameCa(A, { ...A2, subject: 'CN=other' })).toBe(false);
  });
});

describe('caMismatches', () => {
  it('bootstrap: no check, whatever is observed', () => {
    expect(caMismatches(input([member(1, { served: servedBy(B, false), hostCa: B })], { mode: 'bootstrap' }))).toEqual([]);
    expect(caMismatches(input([member(1)], { mode: 'bootstrap', createdCa: true }))).toEqual([]);
  });

  it('same CA everywhere (a renewal): nothing refused', () => {
    const all = [1, 2, 3].map((n) => member(n, { served: servedBy(A, true), hostCa: A }));
    expect(caMismatches(input(all))).toEqual([]);
    // a host ca.crt that is the same CA re-issued (other bytes) is the same CA
    expect(caMismatches(input([member(1, { served: servedBy(A, true), hostCa: A2 })]))).toEqual([]);
  });

  it('a running member serving another CA: refused, with its fingerprint', () => {
    const got = caMismatches(input([member(1, { served: servedBy(A, true), hostCa: A }), member(2, { served: servedBy(B, false), hostCa: B })]));
    expect(got).toEqual([{ name: 'etcd02', endpoint: ep(2), reason: 'served', foundFingerprint: 'BB:BB', foundName: 'CN=etcd-ca' }]);
  });

  it('served CA unknown (neither PKI nor host has it): refused, named by its issuer', () => {
    expect(caMismatches(input([member(1, { served: servedBy(undefined, false), hostCa: A })]))).toEqual([
      { name: 'etcd01', endpoint: ep(1), reason: 'served', foundName: 'CN=etcd-ca' },
    ]);
  });

  it('serving the PKI CA but another ca.crt on the host (trusted after a restart): refused', () => {
    expect(caMismatches(input([member(1, { served: servedBy(A, true), hostCa: B })]))).toEqual([
      { name: 'etcd01', endpoint: ep(1), reason: 'host-ca', foundFingerprint: 'BB:BB', foundName: 'CN=etcd-ca' },
    ]);
  });

  it('a member that is down: its host ca.crt decides (same: fine; other: refused; none: new member)', () => {
    expect(caMismatches(input([member(1, { hostCa: A })]))).toEqual([]);
    expect(caMismatches(input([member(1, { hostCa: B })]))).toEqual([{ name: 'etcd01', endpoint: ep(1), reason: 'host-ca', foundFingerprint: 'BB:BB', foundName: 'CN=etcd-ca' }]);
    expect(caMismatches(input([member(1, { served: servedBy(A, true), hostCa: A }), member(2)]))).toEqual([]);
  });

  it('a fresh PKI dir (CA made now) next to a running cluster: every member with a CA is refused', () => {
    const got = caMismatches(input([member(1, { served: servedBy(B, false), hostCa: B }), member(2, { hostCa: B }), member(3)], { pkiCa: A, createdCa: true }));
    expect(got.map((m) => [m.name, m.reason, m.foundFingerprint])).toEqual([
      ['etcd01', 'new-ca', 'BB:BB'],
      ['etcd02', 'new-ca', 'BB:BB'],
    ]);
  });

  it('a fresh PKI dir in update mode with no CA evidence at all: still refused (the cluster exists)', () => {
    expect(caMismatches(input([member(1), member(2)], { createdCa: true }))).toEqual([{ name: 'etcd01', endpoint: ep(1), reason: 'new-ca' }]);
  });
});

describe('assertCaMatches', () => {
  it('passes silently when nothing mismatches', () => {
    expect(() => assertCaMatches({ ...input([member(1, { served: servedBy(A, true), hostCa: A })]), pkiDir: '/pki' })).not.toThrow();
  });

  it('CA_MISMATCH names the member, both fingerprints, the way out, and that rotation is not supported', async () => {
    const err = await rejection(Promise.resolve().then(() => assertCaMatches({ ...input([member(1, { served: servedBy(A, true), hostCa: A }), member(2, { served: servedBy(B, false), hostCa: B })]), pkiDir: '/pki' })));
    expect(err).toBeInstanceOf(EtcdKitError);
    expect(err.code).toBe('CA_MISMATCH');
    expect(err.member).toBe('etcd02');
    expect(err.message).toContain('etcd02');
    expect(err.message).not.toContain('etcd01 ');
    expect(err.message).toContain('BB:BB');
    expect(err.message).toContain('AA:AA');
    expect(err.message).toContain('Restore the PKI dir');
    expect(err.message).toContain('etcd-kit pki rotate-ca');
    expect(err.message).toContain('Nothing was changed');
    expect(err.details).toMatchObject({ pkiDir: '/pki', pkiCa: 'AA:AA', createdCa: false, members: [{ name: 'etcd02', foundFingerprint: 'BB:BB' }] });
  });

  it('a fresh PKI dir says it holds no CA', async () => {
    const err = await rejection(Promise.resolve().then(() => assertCaMatches({ ...input([member(1, { served: servedBy(B, false), hostCa: B })], { createdCa: true }), pkiDir: '/fresh' })));
    expect(err.code).toBe('CA_MISMATCH');
    expect(err.message).toContain('/fresh holds no CA');
    expect(err.message).toContain('BB:BB');
  });
});

describe('caObservation (real certificates)', () => {
  it('matches a served leaf to its CA by signature, and tells another CA apart', async () => {
    const members = [{ name: 'etcd01', hosts: ['10.0.0.11'] }];
    const [ours, theirs] = await Promise.all([createClusterPki({ members }), createClusterPki({ members })]);
    const leaf = theirs.members['etcd01']!.server.certPem;
    const served = { endpoint: ep(1), certPem: leaf, chainPem: [], issuer: 'CN=etcd-ca', fingerprint: 'x' };
    expect(issuingCa(leaf, [ours.ca.certPem])).toBeUndefined();
    expect(issuingCa(leaf, [ours.ca.certPem, theirs.ca.certPem])).toBe(theirs.ca.certPem);

    const other = caObservation('etcd01', ep(1), ours.ca.certPem, served, theirs.ca.certPem);
    expect(other.served).toMatchObject({ chainsToPkiCa: false, issuerCa: { fingerprint: caIdentity(theirs.ca.certPem).fingerprint } });
    expect(other.hostCa?.fingerprint).toBe(caIdentity(theirs.ca.certPem).fingerprint);
    expect(caIdentity(theirs.ca.certPem).fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    const same = caObservation('etcd01', ep(1), theirs.ca.certPem, served, theirs.ca.certPem);
    expect(same.served?.chainsToPkiCa).toBe(true);
    expect(caMismatches(input([same], { pkiCa: caIdentity(theirs.ca.certPem) }))).toEqual([]);
    expect(caMismatches(input([other], { pkiCa: caIdentity(ours.ca.certPem) }))[0]?.reason).toBe('served');

    // down member, no ca.crt, or a ca.crt that is not a certificate: no evidence
    expect(caObservation('etcd01', ep(1), ours.ca.certPem, undefined, undefined)).toEqual({ name: 'etcd01', endpoint: ep(1) });
    expect(caObservation('etcd01', ep(1), ours.ca.certPem, undefined, 'garbage')).toEqual({ name: 'etcd01', endpoint: ep(1) });
  });
});
