/** inspectCertificate: the facts of one certificate as plain data. @module */
import { EtcdKitError } from '../errors.js';
import { type ParsedCertificate, parseCertificateDer } from './certificate-parse.js';
import { keyAlgorithmOf } from './keys.js';
import { OID, SIGNATURE_ALGORITHM_NAMES } from './oids.js';
import { type LoadedCertificate, loadCertificate } from './pem.js';
import type { CertificateInfo, ExtendedKeyUsage } from './types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Parses certificate PEM into node's view and our DER reading; PKI_MALFORMED_PEM naming `field` on failure. */
export function readCertificate(pem: unknown, field: string): LoadedCertificate & { parsed: ParsedCertificate } {
  const loaded = loadCertificate(pem, field);
  try {
    return { ...loaded, parsed: parseCertificateDer(loaded.der) };
  } catch (cause) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field}: certificate structure cannot be read`, { field, cause });
  }
}

/** Serial INTEGER content bytes as lower-case hex without a leading sign byte. */
function serialHex(bytes: Buffer): string {
  const magnitude = bytes.length > 1 && bytes[0] === 0 ? bytes.subarray(1) : bytes;
  return magnitude.toString('hex');
}

/**
 * Reports subject, issuer, SANs, serial, validity (with whole days left), key and signature algorithm,
 * CA flag, key usages and key identifiers of a PEM certificate (the first one, if several).
 * Works for any X.509 certificate, not only those etcd-kit issued.
 *
 * @throws EtcdKitError PKI_MALFORMED_PEM (field `certPem`).
 * @example
 * ```ts
 * const info = inspectCertificate(pki.members.etcd01.server.certPem);
 * if (info.daysLeft < 30) console.warn(`${info.subject.commonName} expires ${info.notAfter.toISOString()}`);
 * ```
 */
export function inspectCertificate(certPem: string): CertificateInfo {
  const { x509, parsed } = readCertificate(certPem, 'certPem');
  const extendedKeyUsage = (parsed.extendedKeyUsage ?? []).flatMap((oid): ExtendedKeyUsage[] =>
    oid === OID.serverAuth ? ['serverAuth'] : oid === OID.clientAuth ? ['clientAuth'] : [],
  );
  return {
    subject: parsed.subject,
    issuer: parsed.issuer,
    sans: parsed.sans,
    serial: serialHex(parsed.serialBytes),
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    daysLeft: Math.floor((parsed.notAfter.getTime() - Date.now()) / DAY_MS),
    keyAlgorithm: keyAlgorithmOf(x509.publicKey),
    signatureAlgorithm: SIGNATURE_ALGORITHM_NAMES[parsed.signatureAlgorithmOid] ?? parsed.signatureAlgorithmOid,
    isCA: parsed.basicConstraints?.isCA ?? false,
    pathLength: parsed.basicConstraints?.pathLength,
    keyUsage: parsed.keyUsage ?? [],
    extendedKeyUsage,
    subjectKeyId: parsed.subjectKeyId?.toString('hex'),
    authorityKeyId: parsed.authorityKeyId?.toString('hex'),
    fingerprint256: x509.fingerprint256,
  };
}
