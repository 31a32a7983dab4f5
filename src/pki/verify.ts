/** verifyCertificate, keyMatchesCert and who issued a certificate: checks that do not need the CA key. @module */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { EtcdKitError } from '../errors.js';
import { readCertificate } from './inspect.js';
import { OID } from './oids.js';
import { loadCertificate, loadPrivateKey } from './pem.js';

/** Options of {@link verifyCertificate}. */
export interface VerifyCertificateOptions {
  /** IP address the certificate must be valid for (an IP SAN). Default: not checked. */
  ip?: string;
  /** DNS name the certificate must be valid for (a DNS SAN; wildcards honoured, CN ignored as Go does). Default: not checked. */
  dns?: string;
  /**
   * Role the certificate must allow: `'server'` needs EKU serverAuth, `'client'` clientAuth, `'peer'` both.
   * A certificate without an extendedKeyUsage extension allows every role (RFC 5280, Go). Default: not checked.
   */
  usage?: 'server' | 'client' | 'peer';
  /** Point in time the certificate and the CA must be valid at. Default: now. */
  at?: Date;
}

/** Outcome of {@link verifyCertificate}. */
export interface VerifyResult {
  /** True when `errors` is empty. */
  valid: boolean;
  /** Every problem found, one sentence each (e.g. `certificate expired on 2031-01-01T00:00:00.000Z`). */
  errors: string[];
}

/**
 * Checks a certificate against its CA the way a TLS peer would: issued and signed by the CA, the CA is a
 * CA, both within their validity period, and optionally valid for an IP, a DNS name and a role.
 *
 * Problems with the certificate are reported, not thrown, so expiry checks can collect them; only
 * unusable input throws.
 *
 * @throws EtcdKitError PKI_MALFORMED_PEM (field `certPem` / `caPem`), PKI_INVALID_INPUT (field `ip`,
 * `dns`, `usage`, `at`).
 * @example
 * ```ts
 * const { valid, errors } = verifyCertificate(server.certPem, ca.certPem, { ip: '10.0.0.11', usage: 'server' });
 * ```
 */
export function verifyCertificate(certPem: string, caPem: string, opts: VerifyCertificateOptions = {}): VerifyResult {
  const cert = readCertificate(certPem, 'certPem');
  const ca = readCertificate(caPem, 'caPem');
  const at = opts.at ?? new Date();
  checkVerifyOptions(opts);

  const errors: string[] = [];
  if (!ca.parsed.basicConstraints?.isCA) errors.push('the issuer certificate is not a CA (basicConstraints CA:TRUE missing)');
  if (!cert.x509.checkIssued(ca.x509)) {
    errors.push('certificate was not issued by this CA (issuer name or authority key identifier differs)');
  } else if (!cert.x509.verify(ca.x509.publicKey)) {
    errors.push('certificate signature does not verify with the CA public key');
  }
  for (const [what, parsed] of [
    ['certificate', cert.parsed],
    ['CA certificate', ca.parsed],
  ] as const) {
    if (at < parsed.notBefore) errors.push(`${what} is not valid before ${parsed.notBefore.toISOString()}`);
    if (at > parsed.notAfter) errors.push(`${what} expired on ${parsed.notAfter.toISOString()}`);
  }
  if (opts.ip !== undefined && cert.x509.checkIP(opts.ip) === undefined) {
    errors.push(`certificate is not valid for IP ${opts.ip} (IP SANs: ${cert.parsed.sans.ip.join(', ') || 'none'})`);
  }
  if (opts.dns !== undefined && cert.x509.checkHost(opts.dns, { subject: 'never' }) === undefined) {
    errors.push(`certificate is not valid for DNS name ${opts.dns} (DNS SANs: ${cert.parsed.sans.dns.join(', ') || 'none'})`);
  }
  if (opts.usage !== undefined && cert.parsed.extendedKeyUsage !== undefined) {
    const needed = { server: [OID.serverAuth], client: [OID.clientAuth], peer: [OID.serverAuth, OID.clientAuth] }[opts.usage];
    const names = { [OID.serverAuth]: 'serverAuth', [OID.clientAuth]: 'clientAuth' };
    for (const oid of needed) {
      if (!cert.parsed.extendedKeyUsage.includes(oid)) {
        errors.push(`certificate lacks extended key usage ${names[oid]} needed for ${opts.usage} use`);
      }
    }
  }
  return { valid: errors.length === 0, errors };
}

function checkVerifyOptions(opts: VerifyCertificateOptions): void {
  const invalid = (field: string, message: string) => new EtcdKitError('PKI_INVALID_INPUT', `${field}: ${message}`, { field });
  if (opts.ip !== undefined && (typeof opts.ip !== 'string' || isIP(opts.ip) === 0)) throw invalid('ip', 'not an IP address');
  if (opts.dns !== undefined && (typeof opts.dns !== 'string' || opts.dns === '')) throw invalid('dns', 'not a DNS name');
  if (opts.usage !== undefined && !['server', 'client', 'peer'].includes(opts.usage)) {
    throw invalid('usage', `expected 'server', 'client' or 'peer'`);
  }
  if (opts.at !== undefined && (!(opts.at instanceof Date) || Number.isNaN(opts.at.getTime()))) {
    throw invalid('at', 'not a valid Date');
  }
}

/**
 * True when `keyPem` is the private key of the certificate in `certPem` (any key type).
 *
 * @throws EtcdKitError PKI_MALFORMED_PEM (field `certPem` / `keyPem`) when either cannot be parsed:
 * unreadable input is not the same answer as "a different key".
 */
export function keyMatchesCert(certPem: string, keyPem: string): boolean {
  const cert = loadCertificate(certPem, 'certPem');
  return cert.x509.checkPrivateKey(loadPrivateKey(keyPem, 'keyPem'));
}

/** True when `ca` issued `cert`: its subject is the certificate's issuer and its key verifies the signature. */
export function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/**
 * Which of the `candidates` (CA certificates, PEM) issued `leafPem`: the first whose subject is the leaf's
 * issuer and whose key verifies its signature; `undefined` when none did (a candidate that is no certificate
 * never did). Pure.
 */
export function issuingCa(leafPem: string, candidates: readonly string[]): string | undefined {
  const leaf = new X509Certificate(leafPem);
  return candidates.find((pem) => {
    try {
      return signedBy(leaf, new X509Certificate(pem));
    } catch {
      return false;
    }
  });
}
