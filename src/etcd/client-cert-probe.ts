/**
 * Does a running member accept a given client certificate? One TLS connection that presents it and asks
 * `GET /version` (served on etcd's client and peer listeners alike, no auth needed): an HTTP answer means
 * the member's trusted CA file, as its running process loaded it, covers the certificate's CA; a TLS alert
 * means it does not. This is how a CA rotation proves what a restarted member trusts, rather than trusting
 * the file it shipped.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { probeTls } from './tls-probe.js';

/** Options of {@link probeClientCertificate}. */
export interface ProbeClientCertificateOptions {
  /** The client certificate to present, PEM. Required. */
  certPem: string;
  /** Its private key, PEM. Required; it never leaves the process. */
  keyPem: string;
  /** Deadline of the whole probe in ms. Default: 3000. */
  timeoutMs?: number;
  /** Abort the probe. */
  signal?: AbortSignal;
}

/** `accepted`: the member answered over TLS with that certificate; `refused`: its TLS layer rejected that certificate. */
export type ClientCertificateVerdict = 'accepted' | 'refused';

/**
 * OpenSSL's codes for a TLS alert from the server about our certificate (`ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE`,
 * `..._TLSV1_ALERT_UNKNOWN_CA`, `..._TLSV13_ALERT_CERTIFICATE_REQUIRED`, ...). Any other alert (a protocol or
 * cipher mismatch, an internal error) says nothing about what the member trusts, so it is no verdict.
 */
export const CERTIFICATE_ALERT = /^ERR_SSL_\w*ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|UNSUPPORTED_CERTIFICATE|CERTIFICATE_\w+|ACCESS_DENIED)$/;

/**
 * Presents `certPem`/`keyPem` to the member at `endpoint` (`https://host:port`, a client or a peer URL) and
 * reports whether it accepts them. The server's certificate is not verified: nothing is sent but the
 * request line. With TLS 1.3 the server judges the client certificate after the client's side of the
 * handshake is done, so the verdict comes from the first read: an HTTP status line, or an alert.
 *
 * Throws `ETCD_UNREACHABLE` when nothing listens or the connection breaks without an alert about the certificate, `ETCD_TIMEOUT`
 * when there is no verdict within `timeoutMs`, `ABORTED` on `signal`.
 *
 * @example
 * ```ts
 * const verdict = await probeClientCertificate('https://10.0.0.11:2379', { certPem, keyPem });
 * if (verdict === 'refused') console.log('this member does not trust that CA (any more)');
 * ```
 */
export function probeClientCertificate(endpoint: string, options: ProbeClientCertificateOptions): Promise<ClientCertificateVerdict> {
  const probe = {
    ALPNProtocols: ['http/1.1'],
    cert: options.certPem,
    key: options.keyPem,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    abortedMessage: `probing ${endpoint} was aborted`,
    missing: 'no answer to a client certificate',
  };
  return probeTls<ClientCertificateVerdict>(endpoint, probe, (socket, settle, host) => {
    let received = '';
    const unreachable = (why: string, cause?: unknown) =>
      new EtcdKitError('ETCD_UNREACHABLE', `${endpoint}: ${why}`, { details: { endpoint }, ...(cause === undefined ? {} : { cause }) });
    socket.once('secureConnect', () => {
      socket.write(`GET /version HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.length >= 8) {
        if (received.startsWith('HTTP/1.')) settle.resolve('accepted');
        else settle.reject(unreachable('answered something other than HTTP'));
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (CERTIFICATE_ALERT.test(err.code ?? '')) settle.resolve('refused');
      else settle.reject(unreachable(`no TLS connection (${err.message})`, err));
    });
    socket.once('end', () => settle.reject(unreachable('closed the connection without an answer')));
  });
}
