// CA rotation, PKI dir side: the phase rules, the record, begin → trust-both → new-leaves → drop-old →
// done with real keys and files (RSA-2048 → ECDSA-P256), and every interrupted state converging on re-run.
import { X509Certificate } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaRotationState,
  type ClusterPki,
  advanceCaRotation,
  beginCaRotation,
  caBundlePem,
  caRotationRules,
  concatPem,
  createClusterPki,
  inspectCertificate,
  inspectPkiDir,
  leafSigningCa,
  memberTrustedCa,
  markCaRotationMemberDone,
  memberTrustedCaPem,
  nextCaRotationStep,
  parseCaRotationState,
  pkiPaths,
  readCaRotationState,
  readPkiDir,
  resumeCaRotation,
  retiredCaDirName,
  verifyCertificate,
  writeCaRotationState,
  writePkiDir,
} from '../../src/pki/index.js';
import { expectPkiError } from './helpers.js';

const MEMBERS = ['etcd01', 'etcd02'];
let root: string;
let rsa: ClusterPki;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etcd-kit-rotation-'));
  rsa = await createClusterPki({
    keyAlgorithm: 'rsa-2048',
    members: [
      { name: 'etcd01', hosts: ['10.0.0.1', 'etcd01.lan', 'fd00::1'] },
      { name: 'etcd02', hosts: ['10.0.0.2'] },
    ],
    clients: ['admin', 'kube-apiserver'],
  });
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(root, `pki-${++counter}`);
  await writePkiDir(dir, rsa);
  return dir;
}
const mode = async (path: string) => (await stat(path)).mode & 0o777;
const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
const splitPem = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
/** Valid against some CA of the bundle (as a TLS peer loading the bundle would check). */
const trustedBy = (certPem: string, bundle: string) => splitPem(bundle).some((ca) => verifyCertificate(certPem, ca).valid);

/** Every leaf PEM of a cluster PKI. */
const leaves = (pki: ClusterPki) => [
  ...Object.values(pki.members).flatMap((m) => [m.server.certPem, m.peer.certPem]),
  ...Object.values(pki.clients).map((c) => c.certPem),
];

async function markAll(dir: string, phase: 'trust-both' | 'new-leaves' | 'drop-old'): Promise<CaRotationState> {
  let state: CaRotationState | undefined;
  for (const m of MEMBERS) state = await markCaRotationMemberDone(dir, phase, m);
  return state!;
}

describe('phase rules (pure)', () => {
  const cas = { oldCaPem: 'OLD\n', newCaPem: 'NEW' };
  it('members trust old+new until drop-old; leaves are the new CA from new-leaves on; clients trust both until done', () => {
    expect(memberTrustedCaPem('trust-both', cas)).toBe('OLD\nNEW\n');
    expect(memberTrustedCaPem('new-leaves', cas)).toBe('OLD\nNEW\n');
    expect(memberTrustedCaPem('drop-old', cas)).toBe('NEW\n');
    expect(memberTrustedCaPem('done', cas)).toBe('NEW\n');
    expect(caBundlePem('trust-both', cas)).toBe('OLD\nNEW\n');
    expect(caBundlePem('new-leaves', cas)).toBe('OLD\nNEW\n');
    expect(caBundlePem('drop-old', cas)).toBe('OLD\nNEW\n');
    expect(caBundlePem('done', cas)).toBe('NEW\n');
    expect(caRotationRules('trust-both')).toMatchObject({ leafSigner: 'old', leafIssuers: ['old'] });
    expect(caRotationRules('new-leaves')).toMatchObject({ leafSigner: 'new', leafIssuers: ['old', 'new'] });
    expect(caRotationRules('drop-old')).toMatchObject({ leafSigner: 'new', leafIssuers: ['new'] });
    expect(concatPem(['a', 'b\n'])).toBe('a\nb\n');
  });

  it('a member never trusts less than what any peer presents in the same phase', () => {
    for (const phase of ['trust-both', 'new-leaves', 'drop-old', 'done'] as const) {
      const rules = caRotationRules(phase);
      for (const issuer of rules.leafIssuers) expect(rules.memberTrusts).toContain(issuer);
      for (const issuer of rules.leafIssuers) expect(rules.clientTrusts).toContain(issuer);
    }
  });

  it('nextCaRotationStep: first member not done, then advance, then done', () => {
    const state = {
      phase: 'new-leaves',
      membersDone: { 'trust-both': ['a', 'b'], 'new-leaves': ['b'], 'drop-old': [] },
    } as unknown as CaRotationState;
    expect(nextCaRotationStep(state, ['a', 'b'])).toEqual({ kind: 'member', phase: 'new-leaves', member: 'a' });
    state.membersDone['new-leaves'].push('a');
    expect(nextCaRotationStep(state, ['a', 'b'])).toEqual({ kind: 'advance', from: 'new-leaves', to: 'drop-old' });
    expect(nextCaRotationStep({ ...state, phase: 'drop-old' }, ['a'])).toEqual({ kind: 'member', phase: 'drop-old', member: 'a' });
    expect(nextCaRotationStep({ ...state, phase: 'done' }, ['a'])).toEqual({ kind: 'done' });
  });

  it('retired folder names: UTC stamp and fingerprint prefix', () => {
    expect(retiredCaDirName('AB:CD:EF:01:23:45:67:89:00', new Date('2026-12-01T13:05:09.123Z'))).toBe('retired/20261201T130509Z-abcdef01');
  });
});

describe('rotation.json', () => {
  it('a damaged file is PKI_ROTATION_STATE_INVALID naming it', async () => {
    const dir = await freshDir();
    const path = pkiPaths(dir).rotationState;
    expect(await readCaRotationState(dir)).toBeUndefined();
    await writeFile(path, '{ not json');
    let error = await expectPkiError(readCaRotationState(dir), 'PKI_ROTATION_STATE_INVALID', 'rotation.json');
    expect(error.message).toContain(path);
    expect(error.details).toMatchObject({ path, reason: 'not valid JSON' });
    await writeFile(path, JSON.stringify({ version: 1, phase: 'half-done' }));
    error = await expectPkiError(readPkiDir(dir), 'PKI_ROTATION_STATE_INVALID', 'rotation.json');
    expect(error.details?.reason).toMatch(/phase/);
    await expectPkiError(beginCaRotation(dir), 'PKI_ROTATION_STATE_INVALID', 'rotation.json');
  });

  it('round-trips a valid state, refuses an invalid one before writing', async () => {
    const dir = await freshDir();
    const f = fp(rsa.ca.certPem);
    const state: CaRotationState = {
      version: 1,
      phase: 'trust-both',
      oldCaFingerprint256: f,
      newCaFingerprint256: fp(rsa.members.etcd01!.server.certPem),
      keyAlgorithm: 'ecdsa-p256',
      startedAt: '2026-12-01T00:00:00.000Z',
      updatedAt: '2026-12-01T00:00:00.000Z',
      membersDone: { 'trust-both': ['etcd01'], 'new-leaves': [], 'drop-old': [] },
    };
    const written = await writeCaRotationState(dir, state, new Date('2026-12-01T01:00:00Z'));
    expect(written.updatedAt).toBe('2026-12-01T01:00:00.000Z');
    expect(await readCaRotationState(dir)).toEqual(written);
    expect(await mode(pkiPaths(dir).rotationState)).toBe(0o600);
    await expectPkiError(writeCaRotationState(dir, { ...state, newCaFingerprint256: f }), 'PKI_ROTATION_STATE_INVALID');
    expect(() => parseCaRotationState(JSON.stringify({ ...state, membersDone: { 'trust-both': ['../x'] } }), 'p')).toThrow(/membersDone/);
  });
});

describe('a whole rotation, RSA-2048 → ECDSA-P256', () => {
  it('every phase keeps the contract; the old CA ends up retired', async () => {
    const dir = await freshDir();
    const paths = pkiPaths(dir);
    const oldCa = rsa.ca.certPem;
    expect(await readFile(paths.caBundle, 'utf8')).toBe(oldCa); // every PKI dir has a bundle
    expect(await mode(paths.caBundle)).toBe(0o644);

    // Begin: a new ECDSA CA beside the old one; bundle old+new; leaves unchanged.
    const begun = await beginCaRotation(dir, { keyAlgorithm: 'ecdsa-p256' });
    expect(begun).toMatchObject({ phase: 'trust-both', oldCaFingerprint256: fp(oldCa), keyAlgorithm: 'ecdsa-p256' });
    const newCa = await readFile(paths.caNextCert, 'utf8');
    const newInfo = inspectCertificate(newCa);
    expect(newInfo).toMatchObject({ keyAlgorithm: 'ecdsa-p256', isCA: true, signatureAlgorithm: 'ecdsa-with-SHA256' });
    expect(newInfo.subject.commonName).toBe(inspectCertificate(oldCa).subject.commonName);
    expect(newInfo.daysLeft).toBeGreaterThan(3640);
    expect(await mode(paths.caNextKey)).toBe(0o600);
    expect(await mode(paths.caNextCert)).toBe(0o644);
    expect(await mode(paths.rotationState)).toBe(0o600);
    expect(await readFile(paths.caCert, 'utf8')).toBe(oldCa);
    const bundle = await readFile(paths.caBundle, 'utf8');
    expect(bundle).toBe(concatPem([oldCa, newCa]));
    let read = await readPkiDir(dir);
    expect(read.rotation).toMatchObject({ state: begun, caBundlePem: bundle, next: { certPem: newCa } });
    expect(memberTrustedCa(read)).toBe(bundle);
    expect(leafSigningCa(read)).toEqual(rsa.ca); // nothing new-CA signed may be shipped before everyone trusts it
    expect(read.members).toEqual(rsa.members);
    for (const leaf of leaves(read)) expect(trustedBy(leaf, bundle)).toBe(true);
    const inspected = await inspectPkiDir(dir);
    expect(inspected.rotation).toEqual(begun);
    expect(inspected.certificates.slice(0, 2).map((c) => [c.role, c.file, c.fingerprint256])).toEqual([
      ['ca', paths.caCert, fp(oldCa)],
      ['next-ca', paths.caNextCert, fp(newCa)],
    ]);

    // Idempotent: no second CA; a different algorithm mid-rotation is refused.
    expect(await beginCaRotation(dir)).toEqual(begun);
    expect(await readFile(paths.caNextCert, 'utf8')).toBe(newCa);
    await expectPkiError(beginCaRotation(dir, { keyAlgorithm: 'rsa-2048' }), 'PKI_INVALID_INPUT', 'keyAlgorithm');

    // Out of order: advancing before everyone is done; marking another phase.
    const early = await expectPkiError(advanceCaRotation(dir, { members: MEMBERS }), 'CA_ROTATION_OUT_OF_ORDER');
    expect(early.details).toEqual({ phase: 'trust-both', pending: MEMBERS });
    await expectPkiError(markCaRotationMemberDone(dir, 'new-leaves', 'etcd01'), 'CA_ROTATION_OUT_OF_ORDER');
    await expectPkiError(advanceCaRotation(dir, { members: [] }), 'PKI_INVALID_INPUT', 'members');
    await markCaRotationMemberDone(dir, 'trust-both', 'etcd01');
    const once = await markCaRotationMemberDone(dir, 'trust-both', 'etcd01');
    expect(once.membersDone['trust-both']).toEqual(['etcd01']);
    expect((await expectPkiError(advanceCaRotation(dir, { members: MEMBERS }), 'CA_ROTATION_OUT_OF_ORDER')).details?.pending).toEqual(['etcd02']);
    await markAll(dir, 'trust-both');

    // New leaves: same names and SANs, new CA, ECDSA keys; valid against the bundle, and the new CA alone.
    const leafPhase = await advanceCaRotation(dir, { members: MEMBERS });
    expect(leafPhase.phase).toBe('new-leaves');
    read = await readPkiDir(dir);
    expect(await readFile(paths.caBundle, 'utf8')).toBe(bundle);
    expect(memberTrustedCa(read)).toBe(bundle);
    expect(leafSigningCa(read).certPem).toBe(newCa);
    for (const [name, member] of Object.entries(read.members)) {
      for (const kind of ['server', 'peer'] as const) {
        const before = inspectCertificate(rsa.members[name]![kind].certPem);
        const after = inspectCertificate(member[kind].certPem);
        expect(after.subject).toEqual(before.subject);
        expect(after.sans).toEqual(before.sans);
        expect(after.extendedKeyUsage).toEqual(before.extendedKeyUsage);
        expect(after.keyAlgorithm).toBe('ecdsa-p256');
        expect(after.authorityKeyId).toBe(newInfo.subjectKeyId);
        expect(member[kind].keyPem).not.toBe(rsa.members[name]![kind].keyPem);
        expect(await mode(paths.member(name)[kind === 'server' ? 'serverKey' : 'peerKey'])).toBe(0o600);
      }
    }
    expect(inspectCertificate(read.clients.admin!.certPem)).toMatchObject({ subject: { commonName: 'admin' }, extendedKeyUsage: ['clientAuth'] });
    for (const leaf of leaves(read)) {
      expect(trustedBy(leaf, bundle)).toBe(true);
      expect(verifyCertificate(leaf, newCa).valid).toBe(true);
      expect(verifyCertificate(leaf, oldCa).valid).toBe(false);
    }
    for (const leaf of leaves(rsa)) expect(trustedBy(leaf, bundle)).toBe(true); // members not yet restarted still verify

    // Drop old: members trust the new CA only; clients still get both until done.
    await markAll(dir, 'new-leaves');
    const dropPhase = await advanceCaRotation(dir, { members: MEMBERS });
    expect(dropPhase.phase).toBe('drop-old');
    read = await readPkiDir(dir);
    expect(memberTrustedCaPem(dropPhase.phase, { oldCaPem: read.ca.certPem, newCaPem: read.rotation!.next.certPem })).toBe(newCa);
    expect(memberTrustedCa(read)).toBe(newCa);
    expect(await readFile(paths.caBundle, 'utf8')).toBe(bundle);
    const newLeaves = leaves(read);

    // Done: new CA is ca.crt/ca.key, old CA retired (kept, 0600), bundle = new CA only, no next files.
    await markAll(dir, 'drop-old');
    const now = new Date('2026-12-01T14:00:00Z');
    const done = await advanceCaRotation(dir, { members: MEMBERS, now });
    expect(done).toMatchObject({ phase: 'done', finishedAt: now.toISOString(), retiredDir: retiredCaDirName(fp(oldCa), now) });
    expect(await readFile(paths.caCert, 'utf8')).toBe(newCa);
    expect(await readFile(paths.caBundle, 'utf8')).toBe(newCa);
    const retired = join(dir, done.retiredDir!);
    expect(await readFile(join(retired, 'ca.crt'), 'utf8')).toBe(oldCa);
    expect(await readFile(join(retired, 'ca.key'), 'utf8')).toBe(rsa.ca.keyPem);
    expect(await mode(join(retired, 'ca.key'))).toBe(0o600);
    expect(await mode(join(retired, 'ca.crt'))).toBe(0o644);
    expect(await mode(retired)).toBe(0o700);
    expect(await mode(paths.retiredDir)).toBe(0o700);
    expect((await readdir(dir)).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'clients', 'members', 'retired', 'rotation.json']);
    read = await readPkiDir(dir);
    expect(read.rotation).toBeUndefined();
    expect(memberTrustedCa(read)).toBe(newCa);
    expect(leafSigningCa(read).certPem).toBe(newCa);
    expect(leaves(read)).toEqual(newLeaves);
    for (const leaf of newLeaves) expect(verifyCertificate(leaf, newCa).valid).toBe(true);
    const after = await inspectPkiDir(dir);
    expect(after.rotation).toEqual(done);
    expect(after.certificates.filter((c) => c.role.endsWith('ca')).map((c) => [c.role, c.fingerprint256])).toEqual([
      ['ca', fp(newCa)],
      ['retired-ca', fp(oldCa)],
    ]);
    expect(await advanceCaRotation(dir, { members: MEMBERS })).toEqual(done); // finished: nothing more
    expect(await resumeCaRotation(dir)).toEqual(done);
    await expectPkiError(markCaRotationMemberDone(dir, 'drop-old', 'etcd01'), 'CA_ROTATION_OUT_OF_ORDER');
  }, 60_000);
});

describe('interrupted steps converge when run again', () => {
  it('begin: CA files written but no record → a fresh begin; record but no bundle → resume writes it', async () => {
    const dir = await freshDir();
    const paths = pkiPaths(dir);
    await writeFile(paths.caNextCert, rsa.members.etcd01!.server.certPem); // leftovers of a crash before the record
    const state = await beginCaRotation(dir);
    expect(state.keyAlgorithm).toBe('rsa-2048'); // default: the old CA's algorithm
    expect(fp(await readFile(paths.caNextCert, 'utf8'))).toBe(state.newCaFingerprint256);
    await rm(paths.caBundle);
    expect((await readPkiDir(dir)).rotation?.caBundlePem).toBe(concatPem([rsa.ca.certPem, await readFile(paths.caNextCert, 'utf8')]));
    expect(await resumeCaRotation(dir)).toEqual(state);
    expect(await readFile(paths.caBundle, 'utf8')).toBe(concatPem([rsa.ca.certPem, await readFile(paths.caNextCert, 'utf8')]));
  }, 30_000);

  it('new-leaves: a crash mid re-issue (old pairs left, a cert renamed before its key) is completed', async () => {
    const dir = await freshDir();
    const paths = pkiPaths(dir);
    await beginCaRotation(dir, { keyAlgorithm: 'ecdsa-p256' });
    await markAll(dir, 'trust-both');
    await advanceCaRotation(dir, { members: MEMBERS });
    const newCa = await readFile(paths.caNextCert, 'utf8');
    // Roll two files back to the old CA's, and leave one pair half-written (new cert, old key).
    await writeFile(paths.member('etcd02').peerCert, rsa.members.etcd02!.peer.certPem);
    await writeFile(paths.member('etcd02').peerKey, rsa.members.etcd02!.peer.keyPem);
    await writeFile(paths.client('admin').cert, rsa.clients.admin!.certPem);
    await writeFile(paths.client('admin').key, rsa.clients.admin!.keyPem);
    await writeFile(paths.member('etcd01').serverKey, rsa.members.etcd01!.server.keyPem);
    // A mix of old and new leaves is a valid new-leaves PKI dir; a half pair is not.
    await expectPkiError(readPkiDir(dir), 'PKI_KEY_MISMATCH', 'members/etcd01/server.key');
    const untouched = await readFile(paths.member('etcd02').serverCert, 'utf8');
    await resumeCaRotation(dir);
    const read = await readPkiDir(dir);
    for (const leaf of leaves(read)) expect(verifyCertificate(leaf, newCa).valid).toBe(true);
    expect(read.members.etcd02!.server.certPem).toBe(untouched); // done ones are kept
    expect(inspectCertificate(read.members.etcd02!.peer.certPem).sans).toEqual(inspectCertificate(rsa.members.etcd02!.peer.certPem).sans);
  }, 30_000);

  it('drop-old: refuses to leave new-leaves with old leaves around only after re-issuing them', async () => {
    const dir = await freshDir();
    const paths = pkiPaths(dir);
    await beginCaRotation(dir, { keyAlgorithm: 'ecdsa-p256' });
    await markAll(dir, 'trust-both');
    await advanceCaRotation(dir, { members: MEMBERS });
    await markAll(dir, 'new-leaves');
    await writeFile(paths.client('kube-apiserver').cert, rsa.clients['kube-apiserver']!.certPem);
    await writeFile(paths.client('kube-apiserver').key, rsa.clients['kube-apiserver']!.keyPem);
    expect((await advanceCaRotation(dir, { members: MEMBERS })).phase).toBe('drop-old');
    expect((await readPkiDir(dir)).rotation?.state.phase).toBe('drop-old'); // leaves must all be new now: they are
  }, 30_000);

  it('finish: each partial state (record only, old CA copied, ca.crt renamed before ca.key, next files gone) converges', async () => {
    const base = await freshDir();
    await beginCaRotation(base, { keyAlgorithm: 'ecdsa-p256' });
    for (const phase of ['trust-both', 'new-leaves'] as const) {
      await markAll(base, phase);
      await advanceCaRotation(base, { members: MEMBERS });
    }
    const finishing = await markAll(base, 'drop-old');
    const bp = pkiPaths(base);
    const newCa = { certPem: await readFile(bp.caNextCert, 'utf8'), keyPem: await readFile(bp.caNextKey, 'utf8') };
    const now = new Date('2026-12-01T13:30:00Z');
    const retiredDir = retiredCaDirName(finishing.oldCaFingerprint256, now);

    const partials: Record<string, (dir: string) => Promise<void>> = {
      'record only': async () => {},
      'old CA half copied': async (dir) => {
        await cp(pkiPaths(dir).caKey, join(dir, retiredDir, 'ca.key'), { recursive: true });
      },
      'ca.crt renamed before ca.key': async (dir) => {
        await cp(pkiPaths(dir).caCert, join(dir, retiredDir, 'ca.crt'));
        await cp(pkiPaths(dir).caKey, join(dir, retiredDir, 'ca.key'));
        await writeFile(pkiPaths(dir).caCert, newCa.certPem);
      },
      'next files already removed': async (dir) => {
        const p = pkiPaths(dir);
        await cp(p.caCert, join(dir, retiredDir, 'ca.crt'));
        await cp(p.caKey, join(dir, retiredDir, 'ca.key'));
        await writeFile(p.caCert, newCa.certPem);
        await writeFile(p.caKey, newCa.keyPem, { mode: 0o600 });
        await rm(p.caNextCert);
        await rm(p.caNextKey);
      },
    };
    for (const [name, crash] of Object.entries(partials)) {
      const dir = join(root, `finish-${++counter}`);
      await cp(base, dir, { recursive: true });
      await writeCaRotationState(dir, { ...finishing, retiredDir }, now);
      await mkdir(join(dir, retiredDir), { recursive: true, mode: 0o700 });
      await crash(dir);
      await expectPkiError(readPkiDir(dir), 'PKI_ROTATION_STATE_INVALID', 'rotation.json'); // tells to resume
      const done = await resumeCaRotation(dir, { now });
      expect(done?.phase, name).toBe('done');
      expect(done?.retiredDir).toBe(retiredDir);
      const p = pkiPaths(dir);
      expect(await readFile(p.caCert, 'utf8'), name).toBe(newCa.certPem);
      expect(await readFile(p.caKey, 'utf8'), name).toBe(newCa.keyPem);
      expect(await readFile(p.caBundle, 'utf8'), name).toBe(newCa.certPem);
      expect(await readFile(join(dir, retiredDir, 'ca.crt'), 'utf8'), name).toBe(rsa.ca.certPem);
      expect(await readFile(join(dir, retiredDir, 'ca.key'), 'utf8'), name).toBe(rsa.ca.keyPem);
      expect(await mode(join(dir, retiredDir, 'ca.key'))).toBe(0o600);
      await expect(stat(p.caNextKey)).rejects.toThrow(/ENOENT/);
      const read = await readPkiDir(dir);
      expect(read.ca).toEqual(newCa);
    }
  }, 60_000);
});

describe('writePkiDir and readPkiDir during a rotation', () => {
  it('writePkiDir leaves the rotation’s bundle alone; a record not matching the CA files is refused', async () => {
    const dir = await freshDir();
    const paths = pkiPaths(dir);
    await beginCaRotation(dir, { keyAlgorithm: 'ecdsa-p256' });
    const bundle = await readFile(paths.caBundle, 'utf8');
    await writePkiDir(dir, rsa);
    expect(await readFile(paths.caBundle, 'utf8')).toBe(bundle);
    await writeFile(paths.caNextCert, rsa.ca.certPem);
    await writeFile(paths.caNextKey, rsa.ca.keyPem);
    const error = await expectPkiError(readPkiDir(dir), 'PKI_ROTATION_STATE_INVALID', 'rotation.json');
    expect(error.details?.reason).toMatch(/ca\.next\.crt/);
  });

  it('in trust-both, a leaf of the new CA is refused (it must not be shipped yet)', async () => {
    const dir = await freshDir();
    await beginCaRotation(dir, { keyAlgorithm: 'ecdsa-p256' });
    const next = { certPem: await readFile(pkiPaths(dir).caNextCert, 'utf8'), keyPem: await readFile(pkiPaths(dir).caNextKey, 'utf8') };
    const foreign = await createClusterPki({ ca: next, members: [{ name: 'etcd01', hosts: ['10.0.0.1'] }], clients: [] });
    await writeFile(pkiPaths(dir).member('etcd01').serverCert, foreign.members.etcd01!.server.certPem);
    await writeFile(pkiPaths(dir).member('etcd01').serverKey, foreign.members.etcd01!.server.keyPem);
    const error = await expectPkiError(readPkiDir(dir), 'PKI_CHAIN_INVALID', 'members/etcd01/server.crt');
    expect(error.message).toContain('ca.crt');
  });
});
