import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCertificate, encodeName, keyIdentifier, subjectPublicKeyBytes } from '../../src/pki/certificate-build.js';
import { selfSignCa } from '../../src/pki/issue.js';
import { exportSpkiDer, generateKey } from '../../src/pki/keys.js';
import { OID } from '../../src/pki/oids.js';
import { derToPem } from '../../src/pki/pem.js';
import {
  type CertificateAuthority,
  type KeyUsage,
  createCA,
  createClusterPki,
  signClientCert,
  signServerCert,
} from '../../src/pki/index.js';
import { expectPkiError, pemBody, sharedCa } from './helpers.js';

const host = { commonName: 'etcd01', hosts: ['10.0.0.1'] };

/** A self-signed CA assembled by hand, for CAs etcd-kit itself would never issue. */
function handBuiltCa(
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
  keyUsage: KeyUsage[],
  signature: Parameters<typeof buildCertificate>[2],
): CertificateAuthority {
  const spkiDer = exportSpkiDer(keys.publicKey);
  const subject = { commonName };
  const der = buildCertificate(
    {
      serial: Buffer.from([1]),
      issuerDer: encodeName(subject),
      subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      spkiDer,
      isCA: true,
      keyUsage,
      extendedKeyUsage: [],
      sans: [],
      authorityKeyId: keyIdentifier(subjectPublicKeyBytes(spkiDer)),
    },
    keys.privateKey,
    signature,
  );
  return { certPem: derToPem(der, 'CERTIFICATE'), keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}


describe('bad CA input', () => {
  it('a CA key that does not match the CA cert → PKI_KEY_MISMATCH on ca.keyPem, without key text', async () => {
    const ca = await sharedCa();
    const other = await createCA({ keyAlgorithm: 'ecdsa-p256' });
    const error = await expectPkiError(
      signServerCert({ certPem: ca.certPem, keyPem: other.keyPem }, host),
      'PKI_KEY_MISMATCH',
      'ca.keyPem',
    );
    expect(error.message).not.toContain(pemBody(other.keyPem));
    expect(error.message).not.toContain('PRIVATE KEY-----');
    // A key of another type is a mismatch too, not a crash.
    const rsa = await sharedCa('rsa-2048');
    await expectPkiError(signClientCert({ certPem: ca.certPem, keyPem: rsa.keyPem }, { commonName: 'c' }), 'PKI_KEY_MISMATCH', 'ca.keyPem');
  });

  it('a leaf certificate passed as CA → PKI_NOT_A_CA on ca.certPem', async () => {
    const ca = await sharedCa();
    const leaf = await signServerCert(ca, host);
    await expectPkiError(signServerCert(leaf, host), 'PKI_NOT_A_CA', 'ca.certPem');
  });

  it('a CA certificate whose keyUsage lacks keyCertSign → PKI_NOT_A_CA', async () => {
    const keys = await generateKey('ecdsa-p256');
    const ca = handBuiltCa(keys, 'no-sign', ['digitalSignature'], { digest: 'sha256', oid: OID.ecdsaWithSHA256, nullParameters: false });
    await expectPkiError(signServerCert(ca, host), 'PKI_NOT_A_CA', 'ca.certPem');
  });

  it('a CA key etcd-kit cannot sign with (P-521) → PKI_INVALID_INPUT on ca.keyPem', async () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const ca = handBuiltCa(keys, 'p521', ['keyCertSign'], { digest: 'sha512' as 'sha384', oid: OID.ecdsaWithSHA512, nullParameters: false });
    await expectPkiError(signServerCert(ca, host), 'PKI_INVALID_INPUT', 'ca.keyPem');
  });

  it('an expired CA → PKI_INVALID_INPUT on ca.certPem', async () => {
    const day = 86_400_000;
    const { ca } = selfSignCa(
      {
        commonName: 'old',
        keyAlgorithm: 'ecdsa-p256',
        notBefore: new Date(Date.now() - 10 * day),
        notAfter: new Date(Date.now() - day),
      },
      await generateKey('ecdsa-p256'),
    );
    const error = await expectPkiError(signServerCert(ca, host), 'PKI_INVALID_INPUT', 'ca.certPem');
    expect(error.message).toMatch(/expired/);
  });

  it.each([
    ['certPem not PEM', (ca: CertificateAuthority) => ({ ...ca, certPem: 'not a certificate' }), 'ca.certPem'],
    [
      'certPem with a corrupt body',
      (ca: CertificateAuthority) => ({ ...ca, certPem: ca.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!') }),
      'ca.certPem',
    ],
    ['certPem missing', (ca: CertificateAuthority) => ({ keyPem: ca.keyPem }) as CertificateAuthority, 'ca.certPem'],
    ['keyPem not PEM', (ca: CertificateAuthority) => ({ ...ca, keyPem: 'secret-garbage-XYZ' }), 'ca.keyPem'],
    [
      'keyPem with a corrupt body',
      (ca: CertificateAuthority) => ({
        ...ca,
        keyPem: '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJvZHktZG8tbm90LWxlYWs=\n-----END PRIVATE KEY-----\n',
      }),
      'ca.keyPem',
    ],
    [
      'keyPem encrypted',
      (ca: CertificateAuthority) => ({
        ...ca,
        keyPem: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nc2VjcmV0LWJvZHk=\n-----END ENCRYPTED PRIVATE KEY-----\n',
      }),
      'ca.keyPem',
    ],
    ['keyPem is the certificate', (ca: CertificateAuthority) => ({ ...ca, keyPem: ca.certPem }), 'ca.keyPem'],
  ])('%s → PKI_MALFORMED_PEM naming the field, never quoting it', async (_, mutate, field) => {
    const original = await sharedCa();
    const error = await expectPkiError(signServerCert(mutate(original), host), 'PKI_MALFORMED_PEM', field);
    expect(error.message).not.toMatch(/secret|c2VjcmV0|XYZ/);
    expect(error.message).not.toContain(pemBody(original.keyPem));
    expect(error.message).not.toContain(pemBody(original.certPem));
  });

  it('a CA that is not an object → PKI_INVALID_INPUT on ca', async () => {
    await expectPkiError(signClientCert(null as unknown as CertificateAuthority, { commonName: 'c' }), 'PKI_INVALID_INPUT', 'ca');
  });
});

describe('bad names, lifetimes and algorithms', () => {
  it.each([
    ['empty', ''],
    ['whitespace only', '   '],
    ['surrounding whitespace', ' etcd01'],
    ['65 characters', 'a'.repeat(65)],
    ['a control character', 'etcd\u000001'],
    ['not a string', 7],
    ['missing', undefined],
  ])('commonName %s → PKI_INVALID_INPUT on commonName', async (_, commonName) => {
    const ca = await sharedCa();
    await expectPkiError(
      signServerCert(ca, { commonName: commonName as string, hosts: ['a'] }),
      'PKI_INVALID_INPUT',
      'commonName',
    );
    await expectPkiError(signClientCert(ca, { commonName: commonName as string }), 'PKI_INVALID_INPUT', 'commonName');
    if (commonName !== undefined) {
      await expectPkiError(createCA({ commonName: commonName as string }), 'PKI_INVALID_INPUT', 'commonName');
    }
  });

  it('accepts a 64-character and a non-ASCII common name', async () => {
    const ca = await sharedCa();
    await expect(signClientCert(ca, { commonName: 'a'.repeat(64) })).resolves.toBeDefined();
    await expect(signClientCert(ca, { commonName: 'Zürich etcd' })).resolves.toBeDefined();
  });

  it('organization "" → PKI_INVALID_INPUT on organization', async () => {
    await expectPkiError(signClientCert(await sharedCa(), { commonName: 'c', organization: '' }), 'PKI_INVALID_INPUT', 'organization');
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', 36501])(
    'validityDays %s → PKI_INVALID_INPUT on validityDays',
    async (validityDays) => {
      const ca = await sharedCa();
      const days = validityDays as number;
      await expectPkiError(createCA({ validityDays: days }), 'PKI_INVALID_INPUT', 'validityDays');
      await expectPkiError(signServerCert(ca, { ...host, validityDays: days }), 'PKI_INVALID_INPUT', 'validityDays');
      await expectPkiError(signClientCert(ca, { commonName: 'c', validityDays: days }), 'PKI_INVALID_INPUT', 'validityDays');
      await expectPkiError(
        createClusterPki({ ca, members: [{ name: 'a', hosts: [] }], validityDays: days }),
        'PKI_INVALID_INPUT',
        'validityDays',
      );
    },
  );

  it.each(['rsa-1024', 'RSA-2048', 'ed25519', 'ecdsa-p521', ''])(
    'keyAlgorithm %j → PKI_INVALID_INPUT on keyAlgorithm',
    async (keyAlgorithm) => {
      const alg = keyAlgorithm as 'rsa-2048';
      const ca = await sharedCa();
      await expectPkiError(createCA({ keyAlgorithm: alg }), 'PKI_INVALID_INPUT', 'keyAlgorithm');
      await expectPkiError(signServerCert(ca, { ...host, keyAlgorithm: alg }), 'PKI_INVALID_INPUT', 'keyAlgorithm');
      await expectPkiError(signClientCert(ca, { commonName: 'c', keyAlgorithm: alg }), 'PKI_INVALID_INPUT', 'keyAlgorithm');
      await expectPkiError(
        createClusterPki({ members: [{ name: 'a', hosts: [] }], keyAlgorithm: alg }),
        'PKI_INVALID_INPUT',
        'keyAlgorithm',
      );
    },
  );

  it('options that are not objects → PKI_INVALID_INPUT', async () => {
    const ca = await sharedCa();
    await expectPkiError(createCA('big' as never), 'PKI_INVALID_INPUT', 'options');
    await expectPkiError(signServerCert(ca, null as never), 'PKI_INVALID_INPUT', 'options');
    await expectPkiError(createClusterPki(undefined as never), 'PKI_INVALID_INPUT', 'options');
  });
});
