// ensureClusterPki: create once, then reuse; issue only what is missing, moved or about to expire, and
// never loop on a CA that is itself near its end.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rotationInProgressError, ensureClusterPki } from '../../src/deploy/cluster-pki.js';
import { resolveClusterSpec } from '../../src/deploy/resolve-spec.js';
import { EtcdKitError, createCA, createClusterPki, readPkiDir, signClientCert, signServerCert, writePkiDir } from '../../src/index.js';
import { type CaRotationState, advanceCaRotation, beginCaRotation, inspectCertificate, markCaRotationMemberDone } from '../../src/pki-entry.js';

const root = mkdtempSync(join(tmpdir(), 'etcd-kit-cluster-pki-'));
const key = join(root, 'id_test');
writeFileSync(key, 'placeholder');
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function specFor(members: [string, string][], pki: Record<string, unknown> = {}) {
  return resolveClusterSpec(
    {
      members: members.map(([name, host]) => ({ name, host })),
      ssh: { privateKeyPath: key },
      etcd: { binDir: '/usr/bin' },
      pki: { dir: join(root, `pki-${n}`), keyAlgorithm: 'ecdsa-p256', ...pki },
    },
    { env: { HOME: root } },
  );
}
const three: [string, string][] = [
  ['etcd01', '10.0.0.11'],
  ['etcd02', '10.0.0.12'],
  ['etcd03', '10.0.0.13'],
];

describe('ensureClusterPki', () => {
  it('creates everything once, then issues nothing', async () => {
    n++;
    const spec = specFor(three);
    const created = await ensureClusterPki(spec);
    expect(created).toMatchObject({ createdCa: true, issuedMembers: ['etcd01', 'etcd02', 'etcd03'], issuedClients: ['admin', 'kube-apiserver'] });
    const again = await ensureClusterPki(spec);
    expect(again).toMatchObject({ createdCa: false, issuedMembers: [], issuedClients: [], warnings: [] });
    expect(again.pki.ca.certPem).toBe(created.pki.ca.certPem);
  });

  it('issues certificates for a new member and for a member whose address changed, with the same CA', async () => {
    n++;
    const first = await ensureClusterPki(specFor(three));
    const moved = await ensureClusterPki(specFor([...three.slice(0, 2), ['etcd03', '10.0.0.23'], ['etcd04', '10.0.0.14']]));
    expect(moved.issuedMembers).toEqual(['etcd03', 'etcd04']);
    expect(moved.pki.ca.certPem).toBe(first.pki.ca.certPem);
    expect(inspectCertificate(moved.pki.members['etcd03']!.server.certPem).sans.ip).toContain('10.0.0.23');
    expect(moved.pki.members['etcd01']).toEqual(first.pki.members['etcd01']);
  });

  it('renews member and client certificates that end within renewBeforeDays, once', async () => {
    n++;
    const spec = specFor(three);
    const { pki } = await ensureClusterPki(spec);
    const shortServer = await signServerCert(pki.ca, { commonName: 'etcd02', hosts: ['10.0.0.12', '127.0.0.1', 'localhost'], validityDays: 10 });
    const shortAdmin = await signClientCert(pki.ca, { commonName: 'admin', validityDays: 10 });
    await writePkiDir(spec.pki.dir, {
      ...pki,
      members: { ...pki.members, etcd02: { ...pki.members['etcd02']!, server: shortServer } },
      clients: { ...pki.clients, admin: shortAdmin },
    });
    expect((await ensureClusterPki(specFor(three, { renewBeforeDays: 0 }))).issuedMembers).toEqual([]);
    const renewed = await ensureClusterPki(spec);
    expect(renewed.issuedMembers).toEqual(['etcd02']);
    expect(renewed.issuedClients).toEqual(['admin']);
    const onDisk = await readPkiDir(spec.pki.dir);
    expect(inspectCertificate(onDisk.members['etcd02']!.server.certPem).daysLeft).toBeGreaterThan(1000);
    expect(inspectCertificate(onDisk.clients['admin']!.certPem).daysLeft).toBeGreaterThan(1000);
    expect((await ensureClusterPki(spec)).issuedMembers).toEqual([]);
  });

  it('warns about a CA near its end and does not re-issue leaves that cannot outlive it', async () => {
    n++;
    const spec = specFor(three);
    const ca = await createCA({ validityDays: 20, keyAlgorithm: 'ecdsa-p256' });
    await writePkiDir(spec.pki.dir, await createClusterPki({ ca, members: spec.members.map((m) => ({ name: m.name, hosts: m.certHosts })) }));
    const outcome = await ensureClusterPki(spec);
    expect(outcome.issuedMembers).toEqual([]);
    expect(outcome.issuedClients).toEqual([]);
    expect(outcome.warnings[0]).toMatch(/CA .* expires in 1\d days/);
  });
});

describe('ensureClusterPki and CA rotations', () => {
  it('refuses a PKI dir mid-rotation (CA_ROTATION_IN_PROGRESS, before writing anything), works again once done', async () => {
    n++;
    const spec = specFor(three);
    const created = await ensureClusterPki(spec);
    const dir = spec.pki.dir;
    expect(readFileSync(join(dir, 'ca-bundle.crt'), 'utf8')).toBe(created.pki.ca.certPem);
    rmSync(join(dir, 'ca-bundle.crt'));
    await ensureClusterPki(spec); // a PKI dir from before the bundle gets one
    expect(readFileSync(join(dir, 'ca-bundle.crt'), 'utf8')).toBe(created.pki.ca.certPem);

    const state = await beginCaRotation(dir);
    const files = readdirSync(dir, { recursive: true }).map(String).sort();
    for (const persist of [true, false]) {
      const error = await ensureClusterPki(specFor([...three, ['etcd04', '10.0.0.14']]), { persist }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EtcdKitError);
      expect(error).toMatchObject({ code: 'CA_ROTATION_IN_PROGRESS', field: 'pki.dir', details: { pkiDir: dir, phase: 'trust-both', startedAt: state.startedAt } });
    }
    expect(readdirSync(dir, { recursive: true }).map(String).sort()).toEqual(files);

    const members = three.map(([name]) => name);
    for (const phase of ['trust-both', 'new-leaves', 'drop-old'] as const) {
      for (const m of members) await markCaRotationMemberDone(dir, phase, m);
      await advanceCaRotation(dir, { members });
    }
    const after = await ensureClusterPki(spec);
    expect(after).toMatchObject({ createdCa: false, issuedMembers: [], issuedClients: [] });
    expect(after.pki.ca.certPem).toBe(readFileSync(join(dir, 'ca.crt'), 'utf8'));
    expect(after.pki.ca.certPem).not.toBe(created.pki.ca.certPem);
  });

  it('rotationInProgressError is undefined without a rotation or after one', () => {
    expect(rotationInProgressError('/pki', undefined)).toBeUndefined();
    expect(rotationInProgressError('/pki', { phase: 'done' } as CaRotationState)).toBeUndefined();
    expect(rotationInProgressError('/pki', { phase: 'drop-old', startedAt: 'x' } as CaRotationState)?.code).toBe('CA_ROTATION_IN_PROGRESS');
  });
});
