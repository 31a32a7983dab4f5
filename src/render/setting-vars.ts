/**
 * Turns resolved settings into the variables one etcd release reads: the same setting is a plain variable in one
 * release, a feature gate in the next, deprecated (left to etcd's default) in another, or absent (refused unless
 * the release does the same thing anyway). All of that is asked of the version table; nothing here knows a version.
 * @module
 */
import {
  DEFAULT_ETCD_VERSION,
  envVarToFlag,
  etcdDefault,
  etcdEnvVarSince,
  etcdFeatureGateFor,
  etcdImplicitValue,
  type ResolvedEtcdVersion,
  resolveEtcdVersion,
} from './etcd-versions.js';
import { invalidInput } from './invalid.js';
import { type EtcdSettings, resolveSettingsWithOrigin, type SettingsResolution } from './settings.js';

/**
 * The variable that carries each setting, by its 3.4 name. The release decides what becomes of it
 * (`ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK` is the gate `InitialCorruptCheck` from 3.6 on).
 */
export const SETTING_VARS: Readonly<Record<keyof EtcdSettings, string>> = {
  heartbeatMs: 'ETCD_HEARTBEAT_INTERVAL',
  electionMs: 'ETCD_ELECTION_TIMEOUT',
  snapshotCount: 'ETCD_SNAPSHOT_COUNT',
  quotaBackendBytes: 'ETCD_QUOTA_BACKEND_BYTES',
  autoCompactionMode: 'ETCD_AUTO_COMPACTION_MODE',
  autoCompactionRetention: 'ETCD_AUTO_COMPACTION_RETENTION',
  maxRequestBytes: 'ETCD_MAX_REQUEST_BYTES',
  tlsMinVersion: 'ETCD_TLS_MIN_VERSION',
  cipherSuites: 'ETCD_CIPHER_SUITES',
  metricsUrls: 'ETCD_LISTEN_METRICS_URLS',
  metrics: 'ETCD_METRICS',
  logLevel: 'ETCD_LOG_LEVEL',
  maxSnapshots: 'ETCD_MAX_SNAPSHOTS',
  maxWals: 'ETCD_MAX_WALS',
  preVote: 'ETCD_PRE_VOTE',
  initialCorruptCheck: 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK',
};

/** Settings as one release gets them. */
export interface VersionedSettings {
  /** `[name, value]` per setting this release gets as a variable. Absent key: nothing to write for it. */
  readonly vars: ReadonlyMap<keyof EtcdSettings, readonly [string, string]>;
  /** `Gate=value` entries for `ETCD_FEATURE_GATES`, sorted by gate name. Empty before 3.6. */
  readonly gates: readonly string[];
}

function text(key: keyof EtcdSettings, s: SettingsResolution['settings']): string | undefined {
  const value = s[key];
  if (Array.isArray(value)) return value.length > 0 ? value.join(',') : undefined; // empty list: etcd's own default
  return String(value);
}

/**
 * Maps every setting onto release `v`. Throws `RENDER_INVALID_INPUT` (field `settings.<name>`) for a value the
 * release cannot take: a setting it has no variable for (unless it does the same anyway, like TLS 1.2 before
 * `--tls-min-version`), or an explicit value for a variable it deprecates.
 */
export function settingsForEtcdVersion(v: ResolvedEtcdVersion, origin: SettingsResolution): VersionedSettings {
  const vars = new Map<keyof EtcdSettings, readonly [string, string]>();
  const gates = new Map<string, string>();
  for (const key of Object.keys(SETTING_VARS) as (keyof EtcdSettings)[]) {
    const value = text(key, origin.settings);
    if (value === undefined) continue;
    const name = SETTING_VARS[key];
    const field = `settings.${key}`;
    const given = origin.explicit.has(key);

    const gate = etcdFeatureGateFor(v, name);
    if (gate) {
      gates.set(gate, value);
      continue;
    }
    if (!v.envVars.has(name)) {
      const implicit = etcdImplicitValue(v, name);
      if (implicit === value) continue; // the release does exactly this without being told
      const since = etcdEnvVarSince(v.table.minor, name);
      const fixed = implicit === undefined ? '' : ` (it always uses ${implicit})`;
      const hint = since ? `; ${v.table.minor} has it from ${since}` : '';
      if (!given) throw new Error(`etcd-kit bug: default of ${field} (${value}) cannot be rendered for etcd ${v.text}`);
      throw invalidInput(field, `etcd ${v.text} has no --${envVarToFlag(name)}${fixed}, so ${JSON.stringify(value)} cannot be rendered${hint}`);
    }
    if (v.deprecatedEnvVars.has(name)) {
      const def = etcdDefault(v, name);
      if (given) {
        throw invalidInput(
          field,
          `etcd ${v.text} deprecates ${name} (it warns when the variable is set): leave ${field} unset to keep etcd's default${def === undefined ? '' : ` (${def})`}`,
        );
      }
      // Leaving the variable out only keeps behaviour when etcd's default is etcd-kit's; anything else is a table bug.
      if (def !== value) throw new Error(`etcd-kit bug: ${field} defaults to ${value} but etcd ${v.text} defaults the deprecated ${name} to ${def}`);
      continue;
    }
    vars.set(key, [name, value]);
  }
  const sortedGates = [...gates.keys()].sort().map((g) => `${g}=${gates.get(g)}`);
  return { vars, gates: sortedGates };
}

/**
 * Validates settings for one etcd release without rendering: {@link resolveSettings} plus everything that depends
 * on the release (a variable it lacks or deprecates). Throws `RENDER_INVALID_INPUT` naming `settings.<name>`, or
 * `field` for a bad version.
 *
 * @param etcdVersion - Release the settings are for, `X.Y.Z`. Default: {@link DEFAULT_ETCD_VERSION}.
 * @param field - Name of the version in the caller's input, used in errors. Default: `'etcdVersion'`.
 * @example
 * ```ts
 * checkSettingsForEtcdVersion({ maxSnapshots: 3 }, '3.5.33'); // fine
 * checkSettingsForEtcdVersion({ maxSnapshots: 3 }, '3.6.14'); // throws: settings.maxSnapshots (deprecated in 3.6)
 * ```
 */
export function checkSettingsForEtcdVersion(settings: EtcdSettings = {}, etcdVersion: string = DEFAULT_ETCD_VERSION, field = 'etcdVersion'): void {
  settingsForEtcdVersion(resolveEtcdVersion(etcdVersion, field), resolveSettingsWithOrigin(settings));
}
