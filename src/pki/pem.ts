/**
 * PEM in and out. Every parse failure becomes PKI_MALFORMED_PEM naming the input field; messages never
 * quote the input, which may be key material.
 * @module
 */
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { EtcdKitError } from '../errors.js';

/** A parsed certificate: node's view (checks, public key) plus its DER bytes for our own ASN.1 reading. */
export interface LoadedCertificate {
  x509: X509Certificate;
  der: Buffer;
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';

/** The certificate blocks of a PEM text (a bundle of CAs, a chain), in order; other blocks are skipped. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** Wraps DER bytes as PEM with 64-character lines. */
export function derToPem(der: Uint8Array, label: string): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Parses the first certificate of a PEM string. */
export function loadCertificate(pem: unknown, field: string): LoadedCertificate {
  if (typeof pem !== 'string' || !pem.includes(CERT_BEGIN)) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field} is not a PEM certificate (no "${CERT_BEGIN}" line)`, {
      field,
    });
  }
  try {
    const x509 = new X509Certificate(pem);
    return { x509, der: x509.raw };
  } catch (cause) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field} holds a PEM certificate that cannot be parsed`, {
      field,
      cause,
    });
  }
}

/** Parses an unencrypted private key (PKCS#8, PKCS#1 RSA or SEC1 EC PEM). */
export function loadPrivateKey(pem: unknown, field: string): KeyObject {
  if (typeof pem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field} is not a PEM private key (no "BEGIN ... PRIVATE KEY" line)`, {
      field,
    });
  }
  if (pem.includes('ENCRYPTED')) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field} is an encrypted private key; etcd needs unencrypted keys`, {
      field,
    });
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    // The cause is OpenSSL's decoder error (e.g. "DECODER routines::unsupported"); it never echoes input.
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field} holds a PEM private key that cannot be parsed`, {
      field,
      cause,
    });
  }
}
