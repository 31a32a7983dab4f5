import { describe, expect, it } from 'vitest';
import {
  bundleCas,
  caRotationMemberAction,
  caRotationRefusal,
  type RotationMemberObservation,
  rotationCaOf,
} from '../../src/deploy/ca-rotation-rules.js';
import { concatPem, createCA, signServerCert } from '../../src/pki/index.js';

const up = (name: string, more: Partial<RotationMemberObservation> = {}): RotationMemberObservation => ({
  name,
  running: true,
  healthy: true,
  serves: 'old',
  trusts: ['old'],
  pending: [],
  certFilesDiffer: [],
  ...more,
});

describe('rotationCaOf / bundleCas', async () => {
  const [old, next, other] = await Promise.all([createCA({ keyAlgorithm: 'ecdsa-p256' }), createCA({ keyAlgorithm: 'ecdsa-p256' }), createCA({ keyAlgorithm: 'ecdsa-p256' })]);
  const cas = { oldPem: old.certPem, nextPem: next.certPem };
  it('classifies a leaf by the CA that signed it, even with the same subject name on both CAs', async () => {
    expect(rotationCaOf((await signServerCert(old, { commonName: 'e1', hosts: ['10.0.0.1'] })).certPem, cas)).toBe('old');
    expect(rotationCaOf((await signServerCert(next, { commonName: 'e1', hosts: ['10.0.0.1'] })).certPem, cas)).toBe('new');
    expect(rotationCaOf((await signServerCert(other, { commonName: 'e1', hosts: ['10.0.0.1'] })).certPem, cas)).toBe('other');
    expect(rotationCaOf('not a certificate', cas)).toBe('other');
  });
  it('classifies the CA certificates themselves, and every one of a bundle in file order', () => {
    expect(bundleCas(concatPem([old.certPem, next.certPem]), cas)).toEqual(['old', 'new']);
    expect(bundleCas(next.certPem, cas)).toEqual(['new']);
    expect(bundleCas(other.certPem, { oldPem: old.certPem })).toEqual(['other']);
    expect(bundleCas('garbage', cas)).toEqual(['other']);
  });
});

describe('caRotationRefusal', () => {
  const three = (more: Partial<RotationMemberObservation> = {}) => ['e1', 'e2', 'e3'].map((n) => up(n, more));

  it('a whole cluster on the old CA may begin; so may one whose last rotation is done', () => {
    expect(caRotationRefusal('/pki', undefined, three())).toBeUndefined();
    expect(caRotationRefusal('/pki', 'done', three())).toBeUndefined();
  });

  it('a member down or not answering: UNSAFE_CHANGE naming it, before and during a rotation', () => {
    const down = [up('e1'), up('e2', { running: false, healthy: false }), up('e3', { healthy: false })];
    expect(caRotationRefusal('/pki', undefined, down)).toMatchObject({ code: 'UNSAFE_CHANGE', details: { notReady: ['e2', 'e3'] } });
    const err = caRotationRefusal('/pki', 'drop-old', down.map((m) => ({ ...m, serves: 'new', trusts: ['old', 'new'] })));
    expect(err).toMatchObject({ code: 'UNSAFE_CHANGE', details: { notReady: ['e2', 'e3'], phase: 'drop-old' } });
    expect(err?.message).toMatch(/resumes where it stopped/);
  });

  it('other pending host changes: deploy first; certificate files only count before a rotation begins', () => {
    const pending = [up('e1', { pending: ['/opt/etcd/cfg/etcd.env'] }), up('e2'), up('e3')];
    expect(caRotationRefusal('/pki', undefined, pending)).toMatchObject({ code: 'UNSAFE_CHANGE', details: { pending: { e1: ['/opt/etcd/cfg/etcd.env'] } } });
    expect(caRotationRefusal('/pki', 'trust-both', pending)?.message).toMatch(/deploy first/);
    const renewed = [up('e1', { certFilesDiffer: ['/opt/etcd/ssl/server.crt'] }), up('e2'), up('e3')];
    expect(caRotationRefusal('/pki', undefined, renewed)?.code).toBe('UNSAFE_CHANGE');
    // mid-rotation the member's CA and certificate files differ from the phase's until its own step
    expect(caRotationRefusal('/pki', 'trust-both', renewed)).toBeUndefined();
  });

  it('a member of another CA: CA_MISMATCH first, whatever else is wrong', () => {
    const foreign = [up('e1', { serves: 'other', running: false }), up('e2', { trusts: ['other'] }), up('e3')];
    expect(caRotationRefusal('/pki', undefined, foreign)).toMatchObject({ code: 'CA_MISMATCH', details: { members: ['e1', 'e2'] } });
    expect(caRotationRefusal('/pki', 'new-leaves', foreign)?.code).toBe('CA_MISMATCH');
  });

  it('what members serve and trust must fit the phase', () => {
    // before it begins: the old CA only
    expect(caRotationRefusal('/pki', undefined, [up('e1', { trusts: ['old', 'new'] }), up('e2'), up('e3')])?.code).toBe('CA_MISMATCH');
    // trust-both: serving new certificates is too early (not every member trusts the new CA yet)
    expect(caRotationRefusal('/pki', 'trust-both', [up('e1', { serves: 'new' }), up('e2'), up('e3')])?.code).toBe('CA_MISMATCH');
    expect(caRotationRefusal('/pki', 'trust-both', [up('e1', { trusts: ['old', 'new'] }), up('e2'), up('e3')])).toBeUndefined();
    // new-leaves: every member trusts the new CA; each serves either
    expect(caRotationRefusal('/pki', 'new-leaves', [up('e1', { trusts: ['old', 'new'], serves: 'new' }), up('e2', { trusts: ['old', 'new'] }), up('e3', { trusts: ['old', 'new'] })])).toBeUndefined();
    expect(caRotationRefusal('/pki', 'new-leaves', [up('e1', { trusts: ['old', 'new'] }), up('e2', { trusts: ['old'] }), up('e3', { trusts: ['old', 'new'] })])).toMatchObject({
      code: 'CA_MISMATCH',
      details: { members: ['e2'], phase: 'new-leaves' },
    });
    // drop-old: everyone serves new; trusting new alone or both
    const dropOld = [up('e1', { serves: 'new', trusts: ['new'] }), up('e2', { serves: 'new', trusts: ['old', 'new'] }), up('e3', { serves: 'new', trusts: ['old', 'new'] })];
    expect(caRotationRefusal('/pki', 'drop-old', dropOld)).toBeUndefined();
    expect(caRotationRefusal('/pki', 'drop-old', [...dropOld.slice(0, 2), up('e3', { serves: 'old', trusts: ['old', 'new'] })])?.code).toBe('CA_MISMATCH');
  });
});

describe('caRotationMemberAction', () => {
  it('restarts only where the trusted CA file changes; new leaves are reloaded by etcd per handshake', () => {
    expect(caRotationMemberAction('trust-both')).toEqual({ restart: true, mustAccept: 'new', mustRefuseOld: false, mustServe: 'old' });
    expect(caRotationMemberAction('new-leaves')).toEqual({ restart: false, mustAccept: 'new', mustRefuseOld: false, mustServe: 'new' });
    expect(caRotationMemberAction('drop-old')).toEqual({ restart: true, mustAccept: 'new', mustRefuseOld: true, mustServe: 'new' });
  });
});
