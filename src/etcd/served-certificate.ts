// The certificate a member serves on its client URL, read from one TLS handshake that sends no client
// certificate and trusts nothing: it only reads, so it works whatever CA the member trusts. What that
// certificate chains to tells which CA the running member belongs to (see src/deploy/ca-rules.ts).
import { createHash, X509Certificate } from 'node:crypto';
import { EtcdKitError } from '../errors.js';
import { probeTls } from './tls-probe.js';

/** A CA certificate as the CA checks compare it. */
export interface CaIdentity {
  /** SHA-256 fingerprint of the certificate (DER), `AA:BB:…` as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
  /** Subject DN, one RDN a line as node:crypto prints it. */
  subject: string;
  /** Hex SHA-256 of the public key (SPKI, DER): a CA certificate re-issued with the same key and name signs the same leaves. */
  publicKeySha256: string;
}

/** What {@link readServedCertificate} saw. */
export interface ServedCertificate {
  /** The client URL handshaken with. */
  endpoint: string;
  /** The leaf the member serves, PEM. */
  certPem: string;
  /** Further certificates the member sent along (usually none: etcd serves the leaf only), PEM. */
  chainPem: string[];
  /** Issuer DN of the leaf. */
  issuer: string;
  /** SHA-256 fingerprint of the leaf, `AA:BB:…`. */
  fingerprint: string;
}

/** Options of {@link readServedCertificate}. */
export interface ReadServedCertificateOptions {
  /** Handshake deadline in ms. Default: 3000. */
  timeoutMs?: number;
  /** Abort the handshake. */
  signal?: AbortSignal;
}

/** The identity of CA certificate `pem`. Throws `PKI_MALFORMED_PEM` for text that is no certificate. */
export function caIdentity(pem: string): CaIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', 'not a PEM certificate', { cause: err });
  }
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return { fingerprint: cert.fingerprint256, subject: cert.subject, publicKeySha256: createHash('sha256').update(spki).digest('hex') };
}

function toPem(der: Buffer): string {
  return new X509Certificate(der).toString();
}

/**
 * One TLS handshake with `endpoint` (`https://host:port`) that reads the certificate the member serves.
 * No client certificate is sent and the server is not verified (nothing is trusted on the strength of
 * this answer; it is only compared with known CA certificates). Read-only.
 *
 * Throws `ETCD_UNREACHABLE` when no handshake completes (refused, reset, no TLS) and `ETCD_TIMEOUT` when
 * none completes within `timeoutMs`.
 *
 * @example
 * ```ts
 * const served = await readServedCertificate('https://10.0.0.11:2379');
 * console.log(served.issuer, served.fingerprint);
 * ```
 */
export function readServedCertificate(endpoint: string, options: ReadServedCertificateOptions = {}): Promise<ServedCertificate> {
  const probe = {
    ALPNProtocols: ['h2'],
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    abortedMessage: `reading the certificate of ${endpoint} was aborted`,
    missing: 'no TLS handshake',
  };
  return probeTls<ServedCertificate>(endpoint, probe, (socket, settle) => {
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate(true);
      if (!peer?.raw) {
        settle.reject(new EtcdKitError('ETCD_UNREACHABLE', `${endpoint}: the TLS handshake showed no certificate`, { details: { endpoint } }));
        return;
      }
      const certPem = toPem(peer.raw);
      const chainPem: string[] = [];
      const seen = new Set([peer.fingerprint256]);
      for (let c = peer.issuerCertificate; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        chainPem.push(toPem(c.raw));
      }
      const leaf = new X509Certificate(peer.raw);
      settle.resolve({ endpoint, certPem, chainPem, issuer: leaf.issuer, fingerprint: leaf.fingerprint256 });
    });
    socket.once('error', (err) =>
      settle.reject(new EtcdKitError('ETCD_UNREACHABLE', `${endpoint}: no TLS handshake (${err.message})`, { cause: err, details: { endpoint } })),
    );
  });
}
