/**
 * One short TLS connection to a member's URL, as the read-only probes make it (the certificate a member
 * serves, whether it accepts a client certificate): the URL's host and port, and a connection that does
 * not verify the server, settles once (on the probe's answer, at its deadline, or on abort) and is
 * destroyed then.
 * @module
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { EtcdKitError } from '../errors.js';
import { ETCD_DEFAULTS, parseEndpointUrl } from './options.js';

/** How a probe ends its connection: the first call wins, later ones do nothing. */
export interface TlsProbeSettle<T> {
  /** Settles the probe with its answer. */
  resolve(value: T): void;
  /** Settles the probe with an error. */
  reject(err: unknown): void;
}

/** What a probe's connection is, and what it says when it gives up. */
export interface TlsProbeOptions {
  /** ALPN protocols offered. */
  ALPNProtocols: string[];
  /** Client certificate presented, PEM. */
  cert?: string;
  /** Its private key, PEM. */
  key?: string;
  /** Deadline of the whole probe in ms. Default: 3000. */
  timeoutMs?: number | undefined;
  /** Abort the probe. */
  signal?: AbortSignal | undefined;
  /** Message of the `ABORTED` error (`probing https://… was aborted`). */
  abortedMessage: string;
  /** What did not happen in time, for the `ETCD_TIMEOUT` message (`no TLS handshake`). */
  missing: string;
}

/**
 * Connects to `endpoint` over TLS, the server not verified, and lets `attach` listen on the socket and
 * settle the probe. Rejects with `ABORTED` on `signal` and with `ETCD_TIMEOUT` (`details.endpoint`) when
 * nothing settled it within `timeoutMs`. A bad `endpoint` throws at once ({@link parseEndpointUrl}).
 */
export function probeTls<T>(
  endpoint: string,
  options: TlsProbeOptions,
  attach: (socket: TLSSocket, settle: TlsProbeSettle<T>, host: string) => void,
): Promise<T> {
  const { host, port } = parseEndpointUrl(endpoint);
  const timeoutMs = options.timeoutMs ?? ETCD_DEFAULTS.probeTimeoutMs;
  return new Promise<T>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new EtcdKitError('ABORTED', options.abortedMessage));
      return;
    }
    const socket = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: options.ALPNProtocols,
    });
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      fn();
    };
    const onAbort = () => finish(() => reject(new EtcdKitError('ABORTED', options.abortedMessage)));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish(() => reject(new EtcdKitError('ETCD_TIMEOUT', `${endpoint}: ${options.missing} within ${timeoutMs} ms`, { details: { endpoint } }))),
      timeoutMs,
    );
    attach(socket, { resolve: (value) => finish(() => resolve(value)), reject: (err) => finish(() => reject(err)) }, host);
  });
}
