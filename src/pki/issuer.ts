/**
 * A CA ready to sign: its checked certificate facts and private key. Loading refuses anything that would
 * produce certificates Go or openssl reject later (not a CA, key of another cert, expired, unusable key).
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { EtcdKitError } from '../errors.js';
import { parseCertificateDer } from './certificate-parse.js';
import { keyIdentifier } from './certificate-build.js';
import { type SignatureScheme, keyAlgorithmOf, signatureSchemeOf } from './keys.js';
import type { IssuerFacts } from './options.js';
import { loadCertificate, loadPrivateKey } from './pem.js';
import type { CertificateAuthority } from './types.js';

/** A loaded CA. */
export interface Issuer extends IssuerFacts {
  /** DER of the CA's subject Name: each leaf's issuer field, byte for byte. */
  subjectDer: Buffer;
  /** The CA's key identifier: each leaf's authorityKeyIdentifier. */
  keyId: Buffer;
  privateKey: KeyObject;
  scheme: SignatureScheme;
}

/**
 * Checks and loads a {@link CertificateAuthority}. Errors name `<field>.certPem` / `<field>.keyPem`:
 * PKI_MALFORMED_PEM, PKI_NOT_A_CA (no CA:TRUE, or keyUsage without keyCertSign), PKI_KEY_MISMATCH,
 * PKI_INVALID_INPUT (key type etcd-kit cannot sign with, CA expired).
 */
export function loadIssuer(ca: unknown, field: string, now: Date): Issuer {
  if (typeof ca !== 'object' || ca === null) {
    throw new EtcdKitError('PKI_INVALID_INPUT', `${field}: expected { certPem, keyPem }`, { field });
  }
  const { certPem, keyPem } = ca as Partial<CertificateAuthority>;
  const certField = `${field}.certPem`;
  const keyField = `${field}.keyPem`;
  const cert = loadCertificate(certPem, certField);
  let parsed: ReturnType<typeof parseCertificateDer>;
  try {
    parsed = parseCertificateDer(cert.der);
  } catch (cause) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${certField}: certificate structure cannot be read`, {
      field: certField,
      cause,
    });
  }
  if (!parsed.basicConstraints?.isCA) {
    throw new EtcdKitError('PKI_NOT_A_CA', `${certField} is not a CA certificate (basicConstraints CA:TRUE missing)`, {
      field: certField,
    });
  }
  if (parsed.keyUsage && !parsed.keyUsage.includes('keyCertSign')) {
    throw new EtcdKitError('PKI_NOT_A_CA', `${certField} may not sign certificates (keyUsage lacks keyCertSign)`, {
      field: certField,
    });
  }
  const privateKey = loadPrivateKey(keyPem, keyField);
  if (!cert.x509.checkPrivateKey(privateKey)) {
    throw new EtcdKitError('PKI_KEY_MISMATCH', `${keyField} does not belong to the certificate in ${certField}`, {
      field: keyField,
    });
  }
  const scheme = signatureSchemeOf(privateKey);
  if (!scheme) {
    throw new EtcdKitError(
      'PKI_INVALID_INPUT',
      `${keyField}: cannot sign with a ${privateKey.asymmetricKeyType} key of this size/curve (use RSA >= 2048, P-256 or P-384)`,
      { field: keyField },
    );
  }
  if (parsed.notAfter <= now) {
    throw new EtcdKitError('PKI_INVALID_INPUT', `${certField}: the CA expired on ${parsed.notAfter.toISOString()}`, {
      field: certField,
    });
  }
  return {
    subjectDer: parsed.subjectDer,
    keyId: parsed.subjectKeyId ?? keyIdentifier(parsed.subjectPublicKey),
    privateKey,
    scheme,
    keyAlgorithm: keyAlgorithmOf(privateKey),
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
  };
}
