import { isIP } from 'node:net';
import { assertIntInRange, assertSafeValue, invalidInput } from './invalid.js';

/**
 * etcd log levels accepted by `--log-level`.
 * @category Rendering
 */
export type EtcdLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal';

/**
 * Cluster-wide etcd tunables. Every field is optional; {@link resolveSettings} holds the defaults.
 * Use the same settings on every member (etcd requires matching heartbeat/election across members).
 * @category Rendering
 */
export interface EtcdSettings {
  /** Raft heartbeat interval in ms (`ETCD_HEARTBEAT_INTERVAL`), ≈ 0.5–1.5 × peer RTT. Range 1–10000. Default: 100. */
  heartbeatMs?: number;
  /** Raft election timeout in ms (`ETCD_ELECTION_TIMEOUT`), ≥ 5 × heartbeatMs, ≤ 50000. Default: 1000. */
  electionMs?: number;
  /**
   * Committed transactions between snapshots (`ETCD_SNAPSHOT_COUNT`). Range 1–10000000. Default: 10000 (etcd 3.6's
   * default; less memory than the 100000 of 3.4 and 3.5, which get it written out). etcd 3.6.0–3.6.7 mark the
   * variable deprecated: there the default is left to etcd (also 10000) and an explicit value is refused.
   */
  snapshotCount?: number;
  /** Backend size in bytes that raises the NOSPACE alarm (`ETCD_QUOTA_BACKEND_BYTES`). Range 1 MiB–8 GiB (etcd's recommended maximum). Default: 2147483648 (2 GiB). */
  quotaBackendBytes?: number;
  /** How `autoCompactionRetention` is read (`ETCD_AUTO_COMPACTION_MODE`). Default: `'periodic'`. */
  autoCompactionMode?: 'periodic' | 'revision';
  /**
   * History kept by auto compaction (`ETCD_AUTO_COMPACTION_RETENTION`): a Go duration (`'1h'`, `'30m'`) or whole
   * hours (`'8'`) in periodic mode, a revision count in revision mode; `'0'` disables. Default: `'1h'` periodic, `'10000'` revision.
   */
  autoCompactionRetention?: string;
  /** Largest client request in bytes (`ETCD_MAX_REQUEST_BYTES`). Range 1–10485760 (10 MiB). Default: 1572864 (1.5 MiB). */
  maxRequestBytes?: number;
  /**
   * Lowest TLS version on client and peer listeners (`ETCD_TLS_MIN_VERSION`). Default: `'TLS1.2'`. Releases without
   * `--tls-min-version` (3.4 before 3.4.25, 3.5 before 3.5.8) always enforce TLS 1.2: for them `'TLS1.2'` emits
   * nothing and `'TLS1.3'` is refused. `'TLS1.3'` cannot be combined with `cipherSuites` (etcd refuses to start:
   * TLS 1.3 suites are not configurable).
   */
  tlsMinVersion?: 'TLS1.2' | 'TLS1.3';
  /**
   * TLS 1.2 cipher suites (`ETCD_CIPHER_SUITES`), Go names. Only ECDHE suites with AEAD ciphers (GCM, ChaCha20-Poly1305)
   * are accepted. Default: `[]`, Go's own secure default list (nothing emitted).
   */
  cipherSuites?: string[];
  /**
   * Extra listeners for `/metrics` and `/health` (`ETCD_LISTEN_METRICS_URLS`), e.g. `http://127.0.0.1:2381`.
   * They do not serve the KV API. `http://` is only allowed on loopback addresses; `https://` uses the client
   * TLS settings. Default: `[]` (metrics are still served on the client URL, behind mTLS).
   */
  metricsUrls?: string[];
  /** Detail of exported metrics (`ETCD_METRICS`). Default: `'basic'`. */
  metrics?: 'basic' | 'extensive';
  /** Log level (`ETCD_LOG_LEVEL`). Default: `'info'`. */
  logLevel?: EtcdLogLevel;
  /**
   * Snapshot files kept, 0 = unlimited (`ETCD_MAX_SNAPSHOTS`). Range 0–1000. Default: 5 (etcd's own default).
   * Deprecated from etcd 3.6 on: there the default is left to etcd and an explicit value is refused.
   */
  maxSnapshots?: number;
  /** WAL files kept, 0 = unlimited (`ETCD_MAX_WALS`). Range 0–1000. Default: 5. */
  maxWals?: number;
  /** Raft pre-vote, which stops a partitioned member from disrupting the leader on rejoin (`ETCD_PRE_VOTE`). Default: true (etcd 3.5's default). */
  preVote?: boolean;
  /**
   * Check the data against peers before serving: `ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK` up to 3.5, the feature gate
   * `InitialCorruptCheck` in `ETCD_FEATURE_GATES` from 3.6 on. Default: true (as kubeadm).
   */
  initialCorruptCheck?: boolean;
}

/** {@link EtcdSettings} with every default filled in. */
export type ResolvedEtcdSettings = Required<EtcdSettings>;

/** What {@link resolveSettingsWithOrigin} returns: the values, and which of them the caller gave. */
export interface SettingsResolution {
  /** Every setting, defaults filled in: the same object {@link resolveSettings} returns. */
  settings: ResolvedEtcdSettings;
  /**
   * Settings the caller gave (a key set to `undefined` counts as not given); every other value is etcd-kit's
   * default. The renderer needs the difference: a default may be left to etcd where a release deprecates the
   * variable, an explicit value must then be refused rather than dropped.
   */
  explicit: ReadonlySet<keyof EtcdSettings>;
}

// Cipher suites every supported etcd (Go 1.19+) knows that give forward secrecy and authenticated encryption.
const ALLOWED_CIPHER_SUITES: readonly string[] = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
];

const LOG_LEVELS: readonly EtcdLogLevel[] = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'];
const SETTING_KEYS: readonly (keyof EtcdSettings)[] = [
  'heartbeatMs',
  'electionMs',
  'snapshotCount',
  'quotaBackendBytes',
  'autoCompactionMode',
  'autoCompactionRetention',
  'maxRequestBytes',
  'tlsMinVersion',
  'cipherSuites',
  'metricsUrls',
  'metrics',
  'logLevel',
  'maxSnapshots',
  'maxWals',
  'preVote',
  'initialCorruptCheck',
];

const GIB = 1024 * 1024 * 1024;
const GO_DURATION = /^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$/;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidInput(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalidInput(field, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && new URL(`http://[${host}]`).hostname === '[::1]';
}

function checkMetricsUrl(raw: unknown, field: string): string {
  if (typeof raw !== 'string') throw invalidInput(field, 'must be a URL string');
  assertSafeValue(raw, field);
  if (raw.includes(',') || /\s/.test(raw)) throw invalidInput(field, 'must be a single URL without commas or spaces');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidInput(field, `not a URL: '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidInput(field, `must be http:// or https://, got '${raw}'`);
  if (url.port === '') throw invalidInput(field, `must name a port, got '${raw}'`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw invalidInput(field, `must be scheme://host:port only, got '${raw}'`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol === 'http:' && !isLoopback(host)) {
    throw invalidInput(field, `plaintext http:// metrics listeners are only allowed on loopback (127.0.0.1, ::1), got '${raw}'`);
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * Fills in every default of {@link EtcdSettings} and validates the values. Throws `RENDER_INVALID_INPUT` with
 * `field` = `settings.<name>`. Checks that depend on the etcd release (a variable it lacks or deprecates) are
 * the renderer's (and `checkSettingsForEtcdVersion`'s).
 *
 * @example
 * ```ts
 * resolveSettings({ heartbeatMs: 250, electionMs: 2500 }).quotaBackendBytes; // 2147483648
 * ```
 */
export function resolveSettings(s: EtcdSettings = {}): ResolvedEtcdSettings {
  return resolveSettingsWithOrigin(s).settings;
}

/**
 * {@link resolveSettings} that also reports which settings were given and which are defaults. The one place
 * the defaults live. Throws `RENDER_INVALID_INPUT` with `field` = `settings.<name>`.
 *
 * @example
 * ```ts
 * resolveSettingsWithOrigin({ maxWals: 5 }).explicit.has('maxWals'); // true, although 5 is the default
 * ```
 */
export function resolveSettingsWithOrigin(s: EtcdSettings = {}): SettingsResolution {
  if (s === null || typeof s !== 'object') throw invalidInput('settings', 'must be an object');
  for (const key of Object.keys(s)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key) && (s as Record<string, unknown>)[key] !== undefined) {
      throw invalidInput(`settings.${key}`, 'unknown setting');
    }
  }
  const heartbeatMs = s.heartbeatMs ?? 100;
  const electionMs = s.electionMs ?? 1000;
  assertIntInRange(heartbeatMs, 'settings.heartbeatMs', 1, 10_000, 'ms');
  assertIntInRange(electionMs, 'settings.electionMs', 5, 50_000, 'ms');
  if (electionMs < 5 * heartbeatMs) {
    throw invalidInput('settings.electionMs', `must be at least 5 × heartbeatMs (${5 * heartbeatMs} ms), got ${electionMs} ms`);
  }
  const snapshotCount = s.snapshotCount ?? 10_000;
  assertIntInRange(snapshotCount, 'settings.snapshotCount', 1, 10_000_000, 'transactions');
  const quotaBackendBytes = s.quotaBackendBytes ?? 2 * GIB;
  assertIntInRange(quotaBackendBytes, 'settings.quotaBackendBytes', 1024 * 1024, 8 * GIB, 'bytes');

  const autoCompactionMode = oneOf(s.autoCompactionMode ?? 'periodic', ['periodic', 'revision'], 'settings.autoCompactionMode');
  const autoCompactionRetention = s.autoCompactionRetention ?? (autoCompactionMode === 'periodic' ? '1h' : '10000');
  if (typeof autoCompactionRetention !== 'string') throw invalidInput('settings.autoCompactionRetention', 'must be a string');
  const retentionOk =
    autoCompactionMode === 'revision' ? /^[0-9]+$/.test(autoCompactionRetention) : /^[0-9]+$/.test(autoCompactionRetention) || GO_DURATION.test(autoCompactionRetention);
  if (!retentionOk) {
    throw invalidInput(
      'settings.autoCompactionRetention',
      autoCompactionMode === 'revision'
        ? `must be a whole number of revisions in revision mode, got ${JSON.stringify(autoCompactionRetention)}`
        : `must be whole hours ('8') or a Go duration ('1h', '30m') in periodic mode, got ${JSON.stringify(autoCompactionRetention)}`,
    );
  }

  const maxRequestBytes = s.maxRequestBytes ?? 1_572_864;
  assertIntInRange(maxRequestBytes, 'settings.maxRequestBytes', 1, 10 * 1024 * 1024, 'bytes');

  // Whether the release can express TLS 1.3 is the renderer's check: it depends on the etcd version.
  const tlsMinVersion = oneOf(s.tlsMinVersion ?? 'TLS1.2', ['TLS1.2', 'TLS1.3'], 'settings.tlsMinVersion');

  const cipherSuites = s.cipherSuites ?? [];
  if (!Array.isArray(cipherSuites)) throw invalidInput('settings.cipherSuites', 'must be an array of cipher suite names');
  const seenSuites = new Set<string>();
  cipherSuites.forEach((suite, i) => {
    const field = `settings.cipherSuites[${i}]`;
    if (typeof suite !== 'string' || !ALLOWED_CIPHER_SUITES.includes(suite)) {
      throw invalidInput(field, `must be one of the ECDHE+AEAD suites ${ALLOWED_CIPHER_SUITES.join(', ')}; got ${JSON.stringify(suite)}`);
    }
    if (seenSuites.has(suite)) throw invalidInput(field, `duplicate cipher suite '${suite}'`);
    seenSuites.add(suite);
  });
  // etcd exits with "cipher suites cannot be configured when only TLS1.3 is enabled" (Go fixes the 1.3 suites).
  if (tlsMinVersion === 'TLS1.3' && cipherSuites.length > 0) {
    throw invalidInput('settings.cipherSuites', "must be empty with tlsMinVersion 'TLS1.3': etcd refuses cipher suites when only TLS 1.3 is enabled");
  }

  const rawMetricsUrls = s.metricsUrls ?? [];
  if (!Array.isArray(rawMetricsUrls)) throw invalidInput('settings.metricsUrls', 'must be an array of URLs');
  const metricsUrls = rawMetricsUrls.map((u, i) => checkMetricsUrl(u, `settings.metricsUrls[${i}]`));
  const dup = metricsUrls.findIndex((u, i) => metricsUrls.indexOf(u) !== i);
  if (dup >= 0) throw invalidInput(`settings.metricsUrls[${dup}]`, `duplicate metrics URL '${metricsUrls[dup]}'`);

  const metrics = oneOf(s.metrics ?? 'basic', ['basic', 'extensive'], 'settings.metrics');
  const logLevel = oneOf(s.logLevel ?? 'info', LOG_LEVELS, 'settings.logLevel');
  const maxSnapshots = s.maxSnapshots ?? 5;
  assertIntInRange(maxSnapshots, 'settings.maxSnapshots', 0, 1000, 'files');
  const maxWals = s.maxWals ?? 5;
  assertIntInRange(maxWals, 'settings.maxWals', 0, 1000, 'files');
  const preVote = bool(s.preVote ?? true, 'settings.preVote');
  const initialCorruptCheck = bool(s.initialCorruptCheck ?? true, 'settings.initialCorruptCheck');

  const explicit = new Set(SETTING_KEYS.filter((key) => s[key] !== undefined));
  const settings: ResolvedEtcdSettings = {
    heartbeatMs,
    electionMs,
    snapshotCount,
    quotaBackendBytes,
    autoCompactionMode,
    autoCompactionRetention,
    maxRequestBytes,
    tlsMinVersion,
    cipherSuites: [...cipherSuites],
    metricsUrls,
    metrics,
    logLevel,
    maxSnapshots,
    maxWals,
    preVote,
    initialCorruptCheck,
  };
  return { settings, explicit };
}
