import { describe, expect, it } from 'vitest';
import {
  type ClusterPki,
  createCA,
  createClusterPki,
  inspectCertificate,
  keyMatchesCert,
  verifyCertificate,
} from '../../src/pki/index.js';
import { MAIN_ALGORITHMS, expectPkiError, sharedCa, x509 } from './helpers.js';

const DAY_MS = 86_400_000;
const MEMBERS = [
  { name: 'etcd01', hosts: ['192.168.35.128', 'master.lan'] },
  { name: 'etcd02', hosts: ['192.168.35.195', 'node1.lan'] },
  { name: 'etcd03', hosts: ['192.168.35.138', 'node1.lan', '::1'] },
];

function allLeaves(pki: ClusterPki) {
  return [
    ...Object.values(pki.members).flatMap((m) => [m.server, m.peer]),
    ...Object.values(pki.clients),
  ];
}

describe.each(MAIN_ALGORITHMS)('createClusterPki (%s)', (keyAlgorithm) => {
  it('issues per-member server and peer certs with only that member’s hosts, plus default clients', async () => {
    const pki = await createClusterPki({ members: MEMBERS, keyAlgorithm });
    expect(Object.keys(pki.members)).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(Object.keys(pki.clients)).toEqual(['admin', 'kube-apiserver']);
    expect(inspectCertificate(pki.ca.certPem)).toMatchObject({ isCA: true, keyAlgorithm, subject: { commonName: 'etcd-ca' } });

    for (const [i, member] of MEMBERS.entries()) {
      const { server, peer } = pki.members[member.name]!;
      for (const [kind, leaf] of [
        ['server', server],
        ['peer', peer],
      ] as const) {
        const info = inspectCertificate(leaf.certPem);
        expect(info.subject.commonName).toBe(member.name);
        expect(info.extendedKeyUsage).toEqual(['serverAuth', 'clientAuth']);
        expect(info.keyAlgorithm).toBe(keyAlgorithm);
        const expectedIps = [...member.hosts.filter((h) => /^[\d.]+$|:/.test(h)), '127.0.0.1'];
        expect(info.sans.ip).toEqual(expectedIps);
        expect(info.sans.dns).toEqual([...member.hosts.filter((h) => /[a-z]/.test(h) && !h.includes(':')), 'localhost']);
        // Never another member's address.
        for (const other of MEMBERS.filter((_, j) => j !== i)) {
          expect(verifyCertificate(leaf.certPem, pki.ca.certPem, { ip: other.hosts[0]! }).valid).toBe(false);
        }
        expect(verifyCertificate(leaf.certPem, pki.ca.certPem, { ip: member.hosts[0]!, usage: kind }).valid).toBe(true);
        expect(verifyCertificate(leaf.certPem, pki.ca.certPem, { ip: '127.0.0.1', dns: 'localhost' }).valid).toBe(true);
      }
    }
    for (const [name, client] of Object.entries(pki.clients)) {
      const info = inspectCertificate(client.certPem);
      expect(info.subject).toEqual({ commonName: name, organizations: [] });
      expect(info.extendedKeyUsage).toEqual(['clientAuth']);
      expect(verifyCertificate(client.certPem, pki.ca.certPem, { usage: 'client' }).valid).toBe(true);
    }

    const leaves = allLeaves(pki);
    expect(leaves).toHaveLength(8);
    const caCert = x509(pki.ca.certPem);
    for (const leaf of leaves) {
      expect(x509(leaf.certPem).checkIssued(caCert)).toBe(true);
      expect(x509(leaf.certPem).verify(caCert.publicKey)).toBe(true);
      expect(keyMatchesCert(leaf.certPem, leaf.keyPem)).toBe(true);
    }
    // Nine independent keys.
    expect(new Set([pki.ca.keyPem, ...leaves.map((l) => l.keyPem)]).size).toBe(9);
  }, 120_000); // nine RSA keys on a busy 2-core machine
});

describe('createClusterPki options', () => {
  it('signs with a given CA, returns it unchanged, and defaults leaf keys to its algorithm', async () => {
    const ca = await sharedCa('ecdsa-p384');
    const pki = await createClusterPki({ ca, members: [{ name: 'solo', hosts: ['10.9.9.9'] }], clients: ['etcdctl'] });
    expect(pki.ca).toEqual(ca);
    expect(Object.keys(pki.clients)).toEqual(['etcdctl']);
    for (const leaf of allLeaves(pki)) {
      expect(inspectCertificate(leaf.certPem).keyAlgorithm).toBe('ecdsa-p384');
      expect(x509(leaf.certPem).checkIssued(x509(ca.certPem))).toBe(true);
    }
  });

  it('keyAlgorithm overrides the CA algorithm for leaves; clients: [] issues none', async () => {
    const ca = await sharedCa('ecdsa-p384');
    const pki = await createClusterPki({ ca, keyAlgorithm: 'ecdsa-p256', members: [{ name: 'm', hosts: [] }], clients: [] });
    expect(pki.clients).toEqual({});
    expect(inspectCertificate(pki.members.m!.peer.certPem).keyAlgorithm).toBe('ecdsa-p256');
    // No hosts of its own: loopback only.
    expect(inspectCertificate(pki.members.m!.server.certPem).sans).toEqual({ dns: ['localhost'], ip: ['127.0.0.1'] });
  });

  it('leaf validityDays: explicit, defaulted and clamped to a short-lived CA', async () => {
    const explicit = await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members: [{ name: 'a', hosts: [] }], validityDays: 90 });
    const days = (pem: string) => Math.round((inspectCertificate(pem).notAfter.getTime() - Date.now()) / DAY_MS);
    expect(days(explicit.members.a!.server.certPem)).toBe(90);
    expect(days(explicit.ca.certPem)).toBe(3650);
    const defaulted = await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members: [{ name: 'a', hosts: [] }] });
    expect(days(defaulted.clients.admin!.certPem)).toBe(1825);

    const shortCa = await createCA({ keyAlgorithm: 'ecdsa-p256', validityDays: 200 });
    const clamped = await createClusterPki({ ca: shortCa, members: [{ name: 'a', hosts: [] }] });
    expect(inspectCertificate(clamped.members.a!.peer.certPem).notAfter).toEqual(inspectCertificate(shortCa.certPem).notAfter);
    await expectPkiError(
      createClusterPki({ ca: shortCa, members: [{ name: 'a', hosts: [] }], validityDays: 365 }),
      'PKI_INVALID_INPUT',
      'validityDays',
    );
  });

  it('rejects bad cluster input naming the field, before generating any key', async () => {
    const ok = { name: 'etcd01', hosts: ['10.0.0.1'] };
    await expectPkiError(createClusterPki({ members: [] }), 'PKI_INVALID_INPUT', 'members');
    await expectPkiError(createClusterPki({ members: [ok, { ...ok }] }), 'PKI_INVALID_INPUT', 'members[1].name');
    await expectPkiError(createClusterPki({ members: [{ name: '../evil', hosts: [] }] }), 'PKI_INVALID_INPUT', 'members[0].name');
    await expectPkiError(createClusterPki({ members: [{ name: '', hosts: [] }] }), 'PKI_INVALID_INPUT', 'members[0].name');
    await expectPkiError(createClusterPki({ members: [{ name: '.hidden', hosts: [] }] }), 'PKI_INVALID_INPUT', 'members[0].name');
    await expectPkiError(
      createClusterPki({ members: [ok, { name: 'etcd02', hosts: ['10.0.0.2', '', 'x'] }] }),
      'PKI_INVALID_INPUT',
      'members[1].hosts[1]',
    );
    await expectPkiError(
      createClusterPki({ members: [ok, { name: 'etcd02', hosts: 'x' as unknown as string[] }] }),
      'PKI_INVALID_INPUT',
      'members[1].hosts',
    );
    await expectPkiError(createClusterPki({ members: [ok, 'etcd02' as never] }), 'PKI_INVALID_INPUT', 'members[1]');
    await expectPkiError(createClusterPki({ members: [ok], clients: ['admin', 'admin'] }), 'PKI_INVALID_INPUT', 'clients[1]');
    await expectPkiError(createClusterPki({ members: [ok], clients: ['admin', 'a/b'] }), 'PKI_INVALID_INPUT', 'clients[1]');
    await expectPkiError(createClusterPki({ members: [ok], clients: 'admin' as never }), 'PKI_INVALID_INPUT', 'clients');
    const ca = await sharedCa();
    await expectPkiError(
      createClusterPki({ ca: { certPem: ca.certPem, keyPem: (await sharedCa('ecdsa-p384')).keyPem }, members: [ok] }),
      'PKI_KEY_MISMATCH',
      'ca.keyPem',
    );
  });
});
