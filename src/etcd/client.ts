/**
 * Building etcd3 clients with etcd-kit's mutual-TLS settings: the raw multi-endpoint client for users, and
 * the single-endpoint, single-attempt clients the health checks need.
 * @module
 */
import { Etcd3, type IOptions } from 'etcd3';
import { type CreateEtcdClientOptions, ETCD_DEFAULTS, type EtcdTlsOptions, resolveClientOptions } from './options.js';

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

const neverAborted = new AbortController().signal;
const noSubscription = () => ({ dispose: (): void => undefined });

/**
 * A policy that runs the call once and lets its error through: cockatiel's `noop` rebuilt structurally,
 * because cockatiel is etcd3's dependency, not ours. Without it etcd3 retries a failed call on another
 * host, which would make a dead member look healthy.
 */
const singleAttempt = {
  onSuccess: noSubscription,
  onFailure: noSubscription,
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    fn({ signal: signal ?? neverAborted }),
} satisfies Omit<FaultPolicy, '_altReturn'> as unknown as FaultPolicy;

function credentials(tls: EtcdTlsOptions): NonNullable<IOptions['credentials']> {
  return {
    rootCertificate: Buffer.from(tls.caPem),
    certChain: Buffer.from(tls.certPem),
    privateKey: Buffer.from(tls.keyPem),
  };
}

/**
 * Creates a raw `etcd3` client speaking mutual TLS to the given endpoints, for everything etcd-kit does
 * not wrap (KV, leases, watches, locks). Input is validated first (`INVALID_ARGUMENT` naming the field).
 * Call `client.close()` when done.
 *
 * @example
 * ```ts
 * const client = createEtcdClient({ endpoints: ['https://10.0.0.11:2379'], tls: { caPem, certPem, keyPem } });
 * try {
 *   await client.put('greeting').value('hello');
 * } finally {
 *   client.close();
 * }
 * ```
 */
export function createEtcdClient(options: CreateEtcdClientOptions): Etcd3 {
  const resolved = resolveClientOptions(options);
  return new Etcd3({
    hosts: resolved.endpoints.map((e) => e.url),
    credentials: credentials(resolved.tls),
    ...(resolved.retry ? {} : { faultHandling: { global: singleAttempt, host: () => singleAttempt } }),
  });
}

/**
 * One client bound to one endpoint, every call a single attempt: what a per-member health check needs.
 * gRPC's reconnect backoff is capped so a restarted member is noticed within about a second.
 *
 * IP endpoints make Node print DEP0123 once per process: grpc-js always sends the target host as TLS
 * ServerName, and its only knob (`grpc.ssl_target_name_override`) changes the name the certificate is
 * checked against too, so avoiding the warning would weaken the SAN check. It is left alone.
 */
export function createEndpointClient(endpointUrl: string, tls: EtcdTlsOptions): Etcd3 {
  return new Etcd3({
    hosts: [endpointUrl],
    credentials: credentials(tls),
    faultHandling: { global: singleAttempt, host: () => singleAttempt },
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': ETCD_DEFAULTS.maxReconnectBackoffMs,
    },
  });
}
