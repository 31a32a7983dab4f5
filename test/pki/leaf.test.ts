import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createCA,
  inspectCertificate,
  keyMatchesCert,
  signClientCert,
  signPeerCert,
  signServerCert,
} from '../../src/pki/index.js';
import { MAIN_ALGORITHMS, expectPkiError, sharedCa, x509 } from './helpers.js';

const DAY_MS = 86_400_000;
const HOSTS = ['10.0.0.11', 'etcd01.example.com', '2001:db8::11', '*.etcd.example.com'];

describe.each(MAIN_ALGORITHMS)('leaf certificates with a %s CA', (keyAlgorithm) => {
  it('server: SAN types, EKU serverAuth+clientAuth, chains to the CA with AKI = CA SKI', async () => {
    const ca = await sharedCa(keyAlgorithm);
    const server = await signServerCert(ca, { commonName: 'etcd01', hosts: HOSTS });
    const cert = x509(server.certPem);
    const caCert = x509(ca.certPem);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBe(
      'IP Address:10.0.0.11, DNS:etcd01.example.com, IP Address:2001:DB8:0:0:0:0:0:11, DNS:*.etcd.example.com',
    );
    expect(cert.checkIP('10.0.0.11')).toBe('10.0.0.11');
    expect(cert.checkIP('2001:db8::11')).toBe('2001:db8::11');
    expect(cert.checkIP('10.0.0.12')).toBeUndefined();
    expect(cert.checkHost('etcd01.example.com')).toBe('etcd01.example.com');
    expect(cert.checkHost('a.etcd.example.com')).toBe('*.etcd.example.com'); // returns the matching SAN
    expect(cert.checkHost('a.b.etcd.example.com')).toBeUndefined();
    expect(cert.checkHost('etcd02.example.com')).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);

    const info = inspectCertificate(server.certPem);
    const caInfo = inspectCertificate(ca.certPem);
    expect(info.subject).toEqual({ commonName: 'etcd01', organizations: [] });
    expect(info.issuer).toEqual(caInfo.subject);
    expect(info.sans).toEqual({
      dns: ['etcd01.example.com', '*.etcd.example.com'],
      ip: ['10.0.0.11', '2001:db8::11'],
    });
    expect(info.extendedKeyUsage).toEqual(['serverAuth', 'clientAuth']);
    expect(info.authorityKeyId).toBe(caInfo.subjectKeyId);
    expect(info.subjectKeyId).not.toBe(caInfo.subjectKeyId);
    expect(info.isCA).toBe(false);
    expect(info.keyUsage).toEqual(
      keyAlgorithm.startsWith('rsa') ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
    );
    // Leaf keys default to the CA's algorithm; the signature follows the CA key.
    expect(info.keyAlgorithm).toBe(keyAlgorithm);
    expect(info.signatureAlgorithm).toBe(caInfo.signatureAlgorithm);
    expect(server.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(keyMatchesCert(server.certPem, server.keyPem)).toBe(true);
    expect(keyMatchesCert(server.certPem, ca.keyPem)).toBe(false);
  });

  it('peer: EKU serverAuth+clientAuth, SANs as given', async () => {
    const ca = await sharedCa(keyAlgorithm);
    const peer = await signPeerCert(ca, { commonName: 'etcd02', hosts: ['10.0.0.12', 'etcd02'] });
    const info = inspectCertificate(peer.certPem);
    expect(info.extendedKeyUsage).toEqual(['serverAuth', 'clientAuth']);
    expect(info.sans).toEqual({ dns: ['etcd02'], ip: ['10.0.0.12'] });
    expect(x509(peer.certPem).checkIssued(x509(ca.certPem))).toBe(true);
  });

  it('client: EKU clientAuth only, no SANs, no O unless asked', async () => {
    const ca = await sharedCa(keyAlgorithm);
    const admin = await signClientCert(ca, { commonName: 'admin' });
    const info = inspectCertificate(admin.certPem);
    expect(info.subject).toEqual({ commonName: 'admin', organizations: [] });
    expect(info.extendedKeyUsage).toEqual(['clientAuth']);
    expect(info.sans).toEqual({ dns: [], ip: [] });
    expect(x509(admin.certPem).verify(x509(ca.certPem).publicKey)).toBe(true);

    const apiserver = await signClientCert(ca, { commonName: 'kube-apiserver', organization: 'system:masters' });
    expect(inspectCertificate(apiserver.certPem).subject).toEqual({
      commonName: 'kube-apiserver',
      organizations: ['system:masters'],
    });
    expect(x509(apiserver.certPem).subject).toBe('O=system:masters\nCN=kube-apiserver');
  });
});

describe('leaf options', () => {
  it('keyAlgorithm may differ from the CA key (ECDSA leaf under an RSA CA and back)', async () => {
    const rsaCa = await sharedCa('rsa-2048');
    const ecLeaf = await signServerCert(rsaCa, { commonName: 'x', hosts: ['x.lan'], keyAlgorithm: 'ecdsa-p384' });
    const info = inspectCertificate(ecLeaf.certPem);
    expect(info.keyAlgorithm).toBe('ecdsa-p384');
    expect(info.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(info.keyUsage).toEqual(['digitalSignature']);
    expect(createPublicKey(ecLeaf.keyPem).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');

    const ecCa = await sharedCa('ecdsa-p256');
    const rsaLeaf = await signClientCert(ecCa, { commonName: 'y', keyAlgorithm: 'rsa-2048' });
    const rsaInfo = inspectCertificate(rsaLeaf.certPem);
    expect(rsaInfo.keyAlgorithm).toBe('rsa-2048');
    expect(rsaInfo.signatureAlgorithm).toBe('ecdsa-with-SHA256');
    expect(rsaInfo.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
  });

  it('rsa-4096 CA signing an rsa-3072 leaf', async () => {
    const ca = await createCA({ keyAlgorithm: 'rsa-4096' });
    const leaf = await signServerCert(ca, { commonName: 'big', hosts: ['10.1.1.1'], keyAlgorithm: 'rsa-3072' });
    expect(inspectCertificate(ca.certPem).keyAlgorithm).toBe('rsa-4096');
    expect(inspectCertificate(leaf.certPem).keyAlgorithm).toBe('rsa-3072');
    expect(x509(leaf.certPem).verify(x509(ca.certPem).publicKey)).toBe(true);
    expect(keyMatchesCert(leaf.certPem, leaf.keyPem)).toBe(true);
  }, 120_000); // RSA-4096 key generation takes seconds, more on a busy machine

  it('defaults leaf validity to 1825 days and honours an explicit validityDays', async () => {
    const ca = await sharedCa();
    const defaulted = inspectCertificate((await signServerCert(ca, { commonName: 'a', hosts: ['a'] })).certPem);
    expect(Math.round((defaulted.notAfter.getTime() - Date.now()) / DAY_MS)).toBe(1825);
    const explicit = inspectCertificate((await signClientCert(ca, { commonName: 'b', validityDays: 30 })).certPem);
    expect(Math.round((explicit.notAfter.getTime() - Date.now()) / DAY_MS)).toBe(30);
    expect(explicit.notBefore.getTime()).toBeLessThan(Date.now() - 4 * 60_000);
  });

  it('shortens a defaulted lifetime to the CA end; refuses an explicit one that outlives the CA', async () => {
    const ca = await createCA({ keyAlgorithm: 'ecdsa-p256', validityDays: 100 });
    const caEnd = inspectCertificate(ca.certPem).notAfter;
    const clamped = inspectCertificate((await signPeerCert(ca, { commonName: 'p', hosts: ['p'] })).certPem);
    expect(clamped.notAfter.getTime()).toBe(caEnd.getTime());
    const exact = inspectCertificate((await signPeerCert(ca, { commonName: 'p', hosts: ['p'], validityDays: 99 })).certPem);
    expect(exact.notAfter.getTime()).toBeLessThan(caEnd.getTime());
    const error = await expectPkiError(
      signServerCert(ca, { commonName: 's', hosts: ['s'], validityDays: 101 }),
      'PKI_INVALID_INPUT',
      'validityDays',
    );
    expect(error.message).toMatch(/at most 99 days/);
  });

  it('leaf notBefore is never before the CA notBefore', async () => {
    const ca = await sharedCa();
    const leaf = inspectCertificate((await signClientCert(ca, { commonName: 'c' })).certPem);
    expect(leaf.notBefore.getTime()).toBeGreaterThanOrEqual(inspectCertificate(ca.certPem).notBefore.getTime());
  });

  it('serials are positive, 128-bit, minimally encoded and unique across many certificates', async () => {
    const ca = await sharedCa('ecdsa-p256');
    const certs = await Promise.all(
      Array.from({ length: 300 }, (_, i) => signClientCert(ca, { commonName: `c${i}`, validityDays: 1 })),
    );
    const serials = certs.map((c) => inspectCertificate(c.certPem).serial);
    expect(new Set(serials).size).toBe(serials.length);
    for (const [i, serial] of serials.entries()) {
      expect(serial).toMatch(/^[0-7][0-9a-f]{31}$/); // 16 bytes, top bit clear
      expect(serial.slice(0, 2)).not.toBe('00'); // no zero leading byte: DER stays minimal
      expect(x509(certs[i]!.certPem).serialNumber.toLowerCase()).toBe(serial);
    }
    // Random, not a counter: across 300 serials the first hex digit varies.
    expect(new Set(serials.map((s) => s[0])).size).toBeGreaterThan(4);
  });

  it('DNS names are lower-cased, IPv6 canonicalised, duplicates dropped in first-seen order', async () => {
    const ca = await sharedCa();
    const leaf = await signServerCert(ca, {
      commonName: 'dups',
      hosts: ['Etcd.Example.COM', '10.0.0.1', 'etcd.example.com', '::1', '0:0:0:0:0:0:0:1', '10.0.0.1', '::FFFF:10.0.0.1'],
    });
    expect(inspectCertificate(leaf.certPem).sans).toEqual({
      dns: ['etcd.example.com'],
      ip: ['10.0.0.1', '::1', '::ffff:a00:1'],
    });
    expect(x509(leaf.certPem).checkHost('ETCD.example.com')).toBeDefined();
  });
});
