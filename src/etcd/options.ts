/**
 * Options of the etcd client layer, their defaults (resolved here and only here) and input validation.
 * Validation runs before any connection is made, so bad input fails with a field name, not a gRPC error.
 * @module
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { EtcdKitError } from '../errors.js';
import { DEFAULT_CLIENT_PORT } from '../render/index.js';

/**
 * Mutual-TLS material for talking to etcd's client port. All three are PEM strings.
 * @category etcd client
 */
export interface EtcdTlsOptions {
  /** CA certificate(s) that signed the etcd server certificates, PEM. */
  caPem: string;
  /** Client certificate signed by the cluster CA (EKU clientAuth), PEM. */
  certPem: string;
  /** Private key of `certPem`, PEM (PKCS#8 or PKCS#1/SEC1). Never logged. */
  keyPem: string;
}

/**
 * Where the cluster is and how to authenticate to it.
 * @category etcd client
 */
export interface EtcdConnectOptions {
  /**
   * Client URLs of the members, `https://IP:2379` or `https://name:2379` (port defaults to 2379). `http://`
   * is refused: etcd-kit never talks plaintext. At least one; no duplicates.
   */
  endpoints: string[];
  /** Client certificate, key and the CA to trust. */
  tls: EtcdTlsOptions;
}

/**
 * Options of one health check.
 * @category etcd client
 */
export interface CheckHealthOptions {
  /**
   * Budget in ms for each endpoint; endpoints are checked concurrently, so a dead or hung member costs at
   * most this much in total. Default: 2000.
   */
  timeoutMs?: number;
  /** Cancels the check; it then rejects with code `ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Options of a wait until the cluster is healthy.
 * @category etcd client
 */
export interface WaitForHealthyOptions {
  /** Total time in ms to wait before giving up with `ETCD_UNHEALTHY`. Default: 60000. */
  timeoutMs?: number;
  /** Pause in ms after the first failed check; grows by half after each further failure. Default: 200. */
  intervalMs?: number;
  /** Upper bound in ms of the pause between checks. Default: 2000. */
  maxIntervalMs?: number;
  /** Per-endpoint budget in ms of each check (capped by the time left). Default: 2000. */
  checkTimeoutMs?: number;
  /**
   * What counts as healthy: `'quorum'` (the cluster serves linearizable reads), `'all'` (every endpoint
   * does, what a rolling change waits for), or the listed endpoints (and a quorum). Default: `'quorum'`.
   */
  mustAnswer?: 'quorum' | 'all' | readonly string[];
  /** Cancels the wait promptly; it then rejects with code `ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Options shared by the membership calls.
 * @category etcd client
 */
export interface MembershipCallOptions {
  /** Deadline in ms of each request. Default: 5000. */
  timeoutMs?: number;
  /** Cancels the call; it then rejects with code `ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Options of the calls that change the membership (add, promote, remove).
 * @category etcd client
 */
export interface MembershipChangeOptions extends MembershipCallOptions {
  /**
   * How long in ms to keep retrying while etcd refuses the change for a passing reason it reports before
   * applying anything: a learner that has not caught up with the leader yet (promote), or a member that
   * has not been connected to every peer for 5 s, e.g. right after a (re)start (etcd's strict reconfig
   * check). Default: 0 (one attempt).
   */
  retryTimeoutMs?: number;
  /** Pause in ms between those retries. Default: 250. */
  retryIntervalMs?: number;
}

/**
 * Options of {@link EtcdCluster.addMember}.
 * @category etcd client
 */
export interface AddMemberOptions extends MembershipChangeOptions {
  /** Peer URLs of the new member, `https://IP:2380`. At least one; `http://` is refused. */
  peerUrls: string[];
  /** Add the member as a non-voting learner (etcd >= 3.4), to promote once it has caught up. Default: false. */
  isLearner?: boolean;
}

/** Options of {@link createEtcdClient}. */
export interface CreateEtcdClientOptions extends EtcdConnectOptions {
  /**
   * Keep etcd3's own fault handling: retry a failed call up to 3 times on another endpoint and open a
   * circuit breaker per endpoint. `false` makes every call a single attempt on one endpoint. Default: true.
   */
  retry?: boolean;
}

/** A validated endpoint. */
export interface ParsedEndpoint {
  /** Canonical URL, `https://host:port`. */
  url: string;
  /** Host name or IP as written (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

/** Connection settings after validation and defaults. */
export interface ResolvedConnectOptions {
  endpoints: ParsedEndpoint[];
  tls: EtcdTlsOptions;
}

/** Every default of this module, in one place. */
export const ETCD_DEFAULTS = {
  clientPort: DEFAULT_CLIENT_PORT,
  checkTimeoutMs: 2000,
  waitTimeoutMs: 60_000,
  waitIntervalMs: 200,
  waitMaxIntervalMs: 2000,
  membershipTimeoutMs: 5000,
  membershipRetryTimeoutMs: 0,
  membershipRetryIntervalMs: 250,
  retry: true,
  /** Cap of gRPC's reconnect backoff so a restarted member is seen again within about a second. */
  maxReconnectBackoffMs: 1000,
  /** Deadline of a one-connection TLS probe (served certificate, client certificate accepted). */
  probeTimeoutMs: 3000,
} as const;

/** Validates endpoints and TLS material. Throws `INVALID_ARGUMENT` naming the field. */
export function resolveConnectOptions(options: EtcdConnectOptions): ResolvedConnectOptions {
  if (options === null || typeof options !== 'object') {
    throw new EtcdKitError('INVALID_ARGUMENT', 'options must be an object with endpoints and tls');
  }
  return { endpoints: parseEndpoints(options.endpoints), tls: validateTls(options.tls) };
}

/** Resolves {@link CheckHealthOptions}. */
export function resolveCheckOptions(options: CheckHealthOptions = {}): { timeoutMs: number; signal: AbortSignal | undefined } {
  return {
    timeoutMs: positiveMs(options.timeoutMs, ETCD_DEFAULTS.checkTimeoutMs, 'timeoutMs'),
    signal: options.signal,
  };
}

/** Resolves {@link WaitForHealthyOptions}. */
export function resolveWaitOptions(options: WaitForHealthyOptions = {}): Required<Omit<WaitForHealthyOptions, 'signal'>> & {
  signal: AbortSignal | undefined;
} {
  const mustAnswer = options.mustAnswer ?? 'quorum';
  if (mustAnswer !== 'quorum' && mustAnswer !== 'all' && !(Array.isArray(mustAnswer) && mustAnswer.every((e) => typeof e === 'string'))) {
    throw new EtcdKitError('INVALID_ARGUMENT', "mustAnswer must be 'quorum', 'all' or a list of endpoint URLs", { field: 'mustAnswer' });
  }
  return {
    mustAnswer,
    timeoutMs: positiveMs(options.timeoutMs, ETCD_DEFAULTS.waitTimeoutMs, 'timeoutMs'),
    intervalMs: positiveMs(options.intervalMs, ETCD_DEFAULTS.waitIntervalMs, 'intervalMs'),
    maxIntervalMs: positiveMs(options.maxIntervalMs, ETCD_DEFAULTS.waitMaxIntervalMs, 'maxIntervalMs'),
    checkTimeoutMs: positiveMs(options.checkTimeoutMs, ETCD_DEFAULTS.checkTimeoutMs, 'checkTimeoutMs'),
    signal: options.signal,
  };
}

/** Resolves {@link MembershipCallOptions}. */
export function resolveMembershipOptions(options: MembershipCallOptions = {}): {
  timeoutMs: number;
  signal: AbortSignal | undefined;
} {
  return {
    timeoutMs: positiveMs(options.timeoutMs, ETCD_DEFAULTS.membershipTimeoutMs, 'timeoutMs'),
    signal: options.signal,
  };
}

/** Resolves {@link MembershipChangeOptions}. */
export function resolveChangeOptions(options: MembershipChangeOptions = {}): {
  timeoutMs: number;
  signal: AbortSignal | undefined;
  retryTimeoutMs: number;
  retryIntervalMs: number;
} {
  const retryTimeoutMs = options.retryTimeoutMs ?? ETCD_DEFAULTS.membershipRetryTimeoutMs;
  if (typeof retryTimeoutMs !== 'number' || !Number.isFinite(retryTimeoutMs) || retryTimeoutMs < 0) {
    throw new EtcdKitError('INVALID_ARGUMENT', 'retryTimeoutMs must be a number >= 0', { field: 'retryTimeoutMs' });
  }
  return {
    ...resolveMembershipOptions(options),
    retryTimeoutMs,
    retryIntervalMs: positiveMs(options.retryIntervalMs, ETCD_DEFAULTS.membershipRetryIntervalMs, 'retryIntervalMs'),
  };
}

/** Resolves {@link CreateEtcdClientOptions}. */
export function resolveClientOptions(options: CreateEtcdClientOptions): ResolvedConnectOptions & { retry: boolean } {
  return { ...resolveConnectOptions(options), retry: options.retry ?? ETCD_DEFAULTS.retry };
}

/** Validates peer URLs for a new member: `https://host:port`, at least one. Returns them canonical. */
export function resolvePeerUrls(peerUrls: unknown): string[] {
  if (!Array.isArray(peerUrls) || peerUrls.length === 0) {
    throw new EtcdKitError('INVALID_ARGUMENT', 'peerUrls must list at least one https:// URL', { field: 'peerUrls' });
  }
  return peerUrls.map((url, i) => parseHttpsUrl(url, `peerUrls[${i}]`, undefined).url);
}

function parseEndpoints(endpoints: unknown): ParsedEndpoint[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new EtcdKitError('INVALID_ARGUMENT', 'endpoints must list at least one https:// client URL', {
      field: 'endpoints',
    });
  }
  const seen = new Set<string>();
  return endpoints.map((raw, i) => {
    const field = `endpoints[${i}]`;
    const parsed = parseHttpsUrl(raw, field, ETCD_DEFAULTS.clientPort);
    if (seen.has(parsed.url)) {
      throw new EtcdKitError('INVALID_ARGUMENT', `duplicate endpoint ${parsed.url}`, { field });
    }
    seen.add(parsed.url);
    return parsed;
  });
}

/**
 * Host (IPv6 without brackets) and port of one member URL, `https://host[:port]` (no port: etcd's client
 * port), by the same rules as the endpoints of a connection. Throws `INVALID_ARGUMENT` naming `field`.
 */
export function parseEndpointUrl(raw: string, field = 'endpoint'): ParsedEndpoint {
  return parseHttpsUrl(raw, field, ETCD_DEFAULTS.clientPort);
}

function parseHttpsUrl(raw: unknown, field: string, defaultPort: number | undefined): ParsedEndpoint {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} must be a URL like https://10.0.0.1:2379`, { field });
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} is not a URL: ${JSON.stringify(raw)}`, { field });
  }
  if (url.protocol === 'http:') {
    throw new EtcdKitError(
      'INVALID_ARGUMENT',
      `${field} uses http:// (${raw}); etcd-kit only talks to etcd over mutual TLS: use https://`,
      { field },
    );
  }
  if (url.protocol !== 'https:') {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} must use https:// (got ${url.protocol})`, { field });
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} must be just https://host:port, without path or credentials`, {
      field,
    });
  }
  // WHATWG URL drops a port equal to the scheme default, so an explicit :443 must be read from the text.
  const explicit443 = /^https:\/\/(\[[^\]]*\]|[^/]*?):443\/?$/i.test(raw.trim());
  const port = url.port !== '' ? Number(url.port) : explicit443 ? 443 : defaultPort;
  if (port === undefined) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} needs an explicit port`, { field });
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  return { url: `https://${hostPart}:${port}`, host, port };
}

function validateTls(tls: unknown): EtcdTlsOptions {
  if (tls === null || typeof tls !== 'object') {
    throw new EtcdKitError('INVALID_ARGUMENT', 'tls must hold caPem, certPem and keyPem', { field: 'tls' });
  }
  const { caPem, certPem, keyPem } = tls as Partial<EtcdTlsOptions>;
  const cert = parseCert(certPem, 'tls.certPem');
  parseCert(caPem, 'tls.caPem');
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem as string);
  } catch {
    // The cause would quote parser internals only, but the key itself must never reach a message.
    throw new EtcdKitError('INVALID_ARGUMENT', 'tls.keyPem is not a readable unencrypted PEM private key', {
      field: 'tls.keyPem',
    });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new EtcdKitError('INVALID_ARGUMENT', 'tls.keyPem does not belong to tls.certPem', { field: 'tls.keyPem' });
  }
  return { caPem: caPem as string, certPem: certPem as string, keyPem: keyPem as string };
}

function parseCert(pem: unknown, field: string): X509Certificate {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} must be a PEM certificate`, { field });
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} is not a readable PEM certificate`, { field, cause: err });
  }
}

function positiveMs(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} must be a positive number of milliseconds`, { field });
  }
  return value;
}
