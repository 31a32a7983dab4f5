import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  type IssuedCertificate,
  createCA,
  inspectCertificate,
  keyMatchesCert,
  signClientCert,
  signServerCert,
  verifyCertificate,
} from '../../src/pki/index.js';
import { expectPkiError, sharedCa } from './helpers.js';

const DAY_MS = 86_400_000;
let ca: CertificateAuthority;
let server: IssuedCertificate;
let client: IssuedCertificate;

beforeAll(async () => {
  ca = await sharedCa('ecdsa-p256');
  server = await signServerCert(ca, {
    commonName: 'etcd01',
    hosts: ['10.0.0.1', 'fd00::1', 'etcd01.lan', '*.svc.lan'],
    validityDays: 30,
  });
  client = await signClientCert(ca, { commonName: 'admin' });
});

describe('verifyCertificate', () => {
  it('accepts a certificate for its IPs, names and roles', () => {
    expect(verifyCertificate(server.certPem, ca.certPem)).toEqual({ valid: true, errors: [] });
    for (const opts of [
      { ip: '10.0.0.1', usage: 'server' as const },
      { ip: 'fd00:0::1', usage: 'peer' as const },
      { dns: 'etcd01.lan', usage: 'client' as const },
      { dns: 'ETCD01.LAN' },
      { dns: 'x.svc.lan' },
    ]) {
      expect(verifyCertificate(server.certPem, ca.certPem, opts)).toEqual({ valid: true, errors: [] });
    }
    expect(verifyCertificate(client.certPem, ca.certPem, { usage: 'client' }).valid).toBe(true);
  });

  it('reports wrong IP, wrong name (the CN does not count) and missing EKU', () => {
    const wrongIp = verifyCertificate(server.certPem, ca.certPem, { ip: '10.0.0.2' });
    expect(wrongIp.valid).toBe(false);
    expect(wrongIp.errors).toEqual(['certificate is not valid for IP 10.0.0.2 (IP SANs: 10.0.0.1, fd00::1)']);
    expect(verifyCertificate(server.certPem, ca.certPem, { dns: 'etcd01' }).valid).toBe(false);
    expect(verifyCertificate(server.certPem, ca.certPem, { dns: 'a.b.svc.lan' }).valid).toBe(false);
    expect(verifyCertificate(client.certPem, ca.certPem, { dns: 'admin' }).valid).toBe(false);

    const asServer = verifyCertificate(client.certPem, ca.certPem, { usage: 'server' });
    expect(asServer.errors).toEqual(['certificate lacks extended key usage serverAuth needed for server use']);
    expect(verifyCertificate(client.certPem, ca.certPem, { usage: 'peer' }).errors).toHaveLength(1);
  });

  it('reports expiry and not-yet-valid for the leaf and the CA at a given time', () => {
    const in31Days = new Date(Date.now() + 31 * DAY_MS);
    const expired = verifyCertificate(server.certPem, ca.certPem, { at: in31Days });
    expect(expired.valid).toBe(false);
    expect(expired.errors).toHaveLength(1);
    expect(expired.errors[0]).toMatch(/^certificate expired on \d{4}-/);

    const in11Years = new Date(Date.now() + 11 * 365 * DAY_MS);
    const both = verifyCertificate(client.certPem, ca.certPem, { at: in11Years });
    expect(both.errors).toEqual([
      expect.stringMatching(/^certificate expired on/),
      expect.stringMatching(/^CA certificate expired on/),
    ]);

    const yesterday = new Date(Date.now() - DAY_MS);
    expect(verifyCertificate(server.certPem, ca.certPem, { at: yesterday }).errors).toEqual([
      expect.stringMatching(/^certificate is not valid before/),
      expect.stringMatching(/^CA certificate is not valid before/),
    ]);
  });

  it('rejects a certificate from another CA, and a non-CA as the CA', async () => {
    const otherCa = await createCA({ keyAlgorithm: 'ecdsa-p256' }); // same CN "etcd-ca"
    const result = verifyCertificate(server.certPem, otherCa.certPem);
    expect(result.valid).toBe(false);
    expect(result.errors[0]).toMatch(/not issued by this CA/);

    const againstLeaf = verifyCertificate(server.certPem, client.certPem);
    expect(againstLeaf.errors).toContain('the issuer certificate is not a CA (basicConstraints CA:TRUE missing)');
  });

  it('throws on unusable input', async () => {
    await expectPkiError(() => verifyCertificate('nope', ca.certPem), 'PKI_MALFORMED_PEM', 'certPem');
    await expectPkiError(() => verifyCertificate(server.certPem, ''), 'PKI_MALFORMED_PEM', 'caPem');
    await expectPkiError(() => verifyCertificate(server.certPem, ca.certPem, { ip: 'etcd01' }), 'PKI_INVALID_INPUT', 'ip');
    await expectPkiError(() => verifyCertificate(server.certPem, ca.certPem, { dns: '' }), 'PKI_INVALID_INPUT', 'dns');
    await expectPkiError(
      () => verifyCertificate(server.certPem, ca.certPem, { usage: 'admin' as 'client' }),
      'PKI_INVALID_INPUT',
      'usage',
    );
    await expectPkiError(
      () => verifyCertificate(server.certPem, ca.certPem, { at: new Date('x') }),
      'PKI_INVALID_INPUT',
      'at',
    );
  });
});

describe('keyMatchesCert', () => {
  it('tells a matching key from another one, and throws on garbage', async () => {
    expect(keyMatchesCert(server.certPem, server.keyPem)).toBe(true);
    expect(keyMatchesCert(server.certPem, client.keyPem)).toBe(false);
    expect(keyMatchesCert(ca.certPem, ca.keyPem)).toBe(true);
    const rsa = await sharedCa('rsa-2048');
    expect(keyMatchesCert(server.certPem, rsa.keyPem)).toBe(false);
    await expectPkiError(() => keyMatchesCert(server.certPem, 'x'), 'PKI_MALFORMED_PEM', 'keyPem');
    await expectPkiError(() => keyMatchesCert('x', server.keyPem), 'PKI_MALFORMED_PEM', 'certPem');
  });
});

describe('inspectCertificate', () => {
  it('reports every field of a server certificate', () => {
    const info = inspectCertificate(server.certPem);
    const caInfo = inspectCertificate(ca.certPem);
    expect(info).toMatchObject({
      subject: { commonName: 'etcd01', organizations: [] },
      issuer: { commonName: 'etcd-ca', organizations: [] },
      sans: { dns: ['etcd01.lan', '*.svc.lan'], ip: ['10.0.0.1', 'fd00::1'] },
      keyAlgorithm: 'ecdsa-p256',
      signatureAlgorithm: 'ecdsa-with-SHA256',
      isCA: false,
      pathLength: undefined,
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['serverAuth', 'clientAuth'],
      authorityKeyId: caInfo.subjectKeyId,
      daysLeft: 29,
    });
    expect(info.serial).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(info.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(info.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(info.notBefore).toBeInstanceOf(Date);
    expect(info.notAfter.getTime() - info.notBefore.getTime()).toBeGreaterThan(30 * DAY_MS);
  });

  it('reads the first certificate of a bundle and throws PKI_MALFORMED_PEM on garbage', async () => {
    expect(inspectCertificate(server.certPem + ca.certPem).subject.commonName).toBe('etcd01');
    await expectPkiError(() => inspectCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'PKI_MALFORMED_PEM', 'certPem');
  });
});
