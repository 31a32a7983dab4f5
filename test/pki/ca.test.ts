import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCA, inspectCertificate, keyMatchesCert, signServerCert } from '../../src/pki/index.js';
import { MAIN_ALGORITHMS, x509 } from './helpers.js';

const DAY_MS = 86_400_000;

describe('createCA', () => {
  it('defaults to CN etcd-ca, ECDSA P-256, ten years, CA:TRUE with keyCertSign and cRLSign', async () => {
    const before = Date.now();
    const ca = await createCA();
    const info = inspectCertificate(ca.certPem);
    expect(info.subject).toEqual({ commonName: 'etcd-ca', organizations: [] });
    expect(info.issuer).toEqual(info.subject);
    expect(info.keyAlgorithm).toBe('ecdsa-p256');
    expect(info.signatureAlgorithm).toBe('ecdsa-with-SHA256');
    expect(info.isCA).toBe(true);
    expect(info.pathLength).toBe(0);
    expect(info.keyUsage).toEqual(['digitalSignature', 'keyCertSign', 'cRLSign']);
    expect(info.extendedKeyUsage).toEqual([]);
    expect(info.sans).toEqual({ dns: [], ip: [] });
    const lifetimeDays = (info.notAfter.getTime() - before) / DAY_MS;
    expect(lifetimeDays).toBeGreaterThanOrEqual(3650 - 1);
    expect(lifetimeDays).toBeLessThanOrEqual(3650 + 1);
    expect(x509(ca.certPem).ca).toBe(true);
  });

  it.each(MAIN_ALGORITHMS)('%s: is self-signed with SKI = AKI and a PKCS#8 key that matches', async (keyAlgorithm) => {
    const ca = await createCA({ keyAlgorithm, commonName: 'My Test CA' });
    const cert = x509(ca.certPem);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    const info = inspectCertificate(ca.certPem);
    expect(info.subject.commonName).toBe('My Test CA');
    expect(info.keyAlgorithm).toBe(keyAlgorithm);
    expect(info.signatureAlgorithm).toBe(
      { 'rsa-2048': 'sha256WithRSAEncryption', 'ecdsa-p256': 'ecdsa-with-SHA256', 'ecdsa-p384': 'ecdsa-with-SHA384' }[
        keyAlgorithm as string
      ],
    );
    expect(info.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(info.authorityKeyId).toBe(info.subjectKeyId);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(ca.keyPem).not.toContain('ENCRYPTED');
    expect(createPrivateKey(ca.keyPem).asymmetricKeyType).toBe(keyAlgorithm.startsWith('rsa') ? 'rsa' : 'ec');
    expect(keyMatchesCert(ca.certPem, ca.keyPem)).toBe(true);
  });

  it('backdates notBefore by five minutes for clock skew', async () => {
    const now = Date.now();
    const info = inspectCertificate((await createCA({ keyAlgorithm: 'ecdsa-p256' })).certPem);
    expect(now - info.notBefore.getTime()).toBeGreaterThanOrEqual(5 * 60_000 - 1000);
    expect(now - info.notBefore.getTime()).toBeLessThanOrEqual(6 * 60_000);
  });

  it('encodes dates from 2050 on as GeneralizedTime and issues leaves that end after 2050', async () => {
    const ca = await createCA({ keyAlgorithm: 'ecdsa-p256', validityDays: 34 * 365 }); // until ~2060
    const info = inspectCertificate(ca.certPem);
    expect(info.notAfter.getUTCFullYear()).toBeGreaterThanOrEqual(2060);
    expect(new Date(x509(ca.certPem).validTo).getTime()).toBe(info.notAfter.getTime());
    // Validity SEQUENCE: UTCTime (tag 0x17, 13 bytes) for notBefore, GeneralizedTime (0x18, 15 bytes) for notAfter.
    const der = x509(ca.certPem).raw;
    const year = String(info.notAfter.getUTCFullYear());
    expect(der.includes(Buffer.concat([Buffer.from([0x18, 15]), Buffer.from(year)]))).toBe(true);
    expect(der.includes(Buffer.from([0x17, 13]))).toBe(true);

    const leaf = await signServerCert(ca, { commonName: 'late', hosts: ['10.0.0.1'], validityDays: 30 * 365 });
    const leafInfo = inspectCertificate(leaf.certPem);
    expect(leafInfo.notAfter.getUTCFullYear()).toBeGreaterThanOrEqual(2056);
    expect(x509(leaf.certPem).verify(x509(ca.certPem).publicKey)).toBe(true);
  });

  it('honours validityDays', async () => {
    const info = inspectCertificate((await createCA({ keyAlgorithm: 'ecdsa-p256', validityDays: 10 })).certPem);
    expect(info.daysLeft).toBe(9); // 10 days minus the seconds elapsed, rounded down
    expect(Math.round((info.notAfter.getTime() - Date.now()) / DAY_MS)).toBe(10);
  });

  it('PEM round-trips byte for byte through node:crypto (64-column lines, final newline)', async () => {
    const ca = await createCA({ keyAlgorithm: 'ecdsa-p384' });
    expect(x509(ca.certPem).toString()).toBe(ca.certPem);
    expect(createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'pem' })).toBe(ca.keyPem);
    expect(ca.certPem.split('\n').every((line) => line.length <= 64)).toBe(true);
    expect(ca.certPem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
  });

  it('makes a new key and serial every time', async () => {
    const [a, b] = await Promise.all([createCA({ keyAlgorithm: 'ecdsa-p256' }), createCA({ keyAlgorithm: 'ecdsa-p256' })]);
    expect(a.keyPem).not.toBe(b.keyPem);
    expect(inspectCertificate(a.certPem).serial).not.toBe(inspectCertificate(b.certPem).serial);
    expect(keyMatchesCert(a.certPem, b.keyPem)).toBe(false);
  });
});
