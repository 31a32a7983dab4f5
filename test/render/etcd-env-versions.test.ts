import { describe, expect, it } from 'vitest';
import { assertEnvForEtcdVersion } from '../../src/render/env-guard.js';
import { GENERATED_ETCD_MINORS } from '../../src/render/etcd-flags.generated.js';
import {
  checkSettingsForEtcdVersion,
  type ClusterMember,
  DEFAULT_ETCD_VERSION,
  type EtcdSettings,
  etcdEnvVarDeprecated,
  etcdEnvVarKnown,
  parseEnvFile,
  type RenderEtcdEnvOptions,
  renderEtcdEnv,
  resolveEtcdVersion,
  resolveSettingsWithOrigin,
  SETTING_VARS,
  SUPPORTED_ETCD_MINORS,
} from '../../src/render/index.js';
import { settingsForEtcdVersion } from '../../src/render/setting-vars.js';
import { expectInvalid } from './expect-invalid.js';

const members: ClusterMember[] = [
  { name: 'etcd01', address: '192.168.35.128' },
  { name: 'etcd02', address: '192.168.35.195' },
  { name: 'etcd03', address: '192.168.35.138' },
];
const base: RenderEtcdEnvOptions = { member: 'etcd01', members, token: 'k8s-etcd-7f3a9c' };
const allReleases = SUPPORTED_ETCD_MINORS.flatMap((m) => Array.from({ length: GENERATED_ETCD_MINORS[m]!.tags }, (_, p) => `${m}.${p}`));

const names = (etcdVersion: string, settings?: EtcdSettings): string[] => Object.keys(parseEnvFile(renderEtcdEnv({ ...base, etcdVersion, ...(settings ? { settings } : {}) })));
const envOf = (etcdVersion: string, settings?: EtcdSettings): Record<string, string> =>
  parseEnvFile(renderEtcdEnv({ ...base, etcdVersion, ...(settings ? { settings } : {}) }));

// Names every release gets (members, clustering, TLS files, logging).
const COMMON = [
  'ETCD_NAME',
  'ETCD_DATA_DIR',
  'ETCD_LISTEN_PEER_URLS',
  'ETCD_LISTEN_CLIENT_URLS',
  'ETCD_INITIAL_ADVERTISE_PEER_URLS',
  'ETCD_ADVERTISE_CLIENT_URLS',
  'ETCD_INITIAL_CLUSTER',
  'ETCD_INITIAL_CLUSTER_TOKEN',
  'ETCD_INITIAL_CLUSTER_STATE',
  'ETCD_STRICT_RECONFIG_CHECK',
  'ETCD_PRE_VOTE',
  'ETCD_CERT_FILE',
  'ETCD_KEY_FILE',
  'ETCD_TRUSTED_CA_FILE',
  'ETCD_CLIENT_CERT_AUTH',
  'ETCD_PEER_CERT_FILE',
  'ETCD_PEER_KEY_FILE',
  'ETCD_PEER_TRUSTED_CA_FILE',
  'ETCD_PEER_CLIENT_CERT_AUTH',
  'ETCD_HEARTBEAT_INTERVAL',
  'ETCD_ELECTION_TIMEOUT',
  'ETCD_QUOTA_BACKEND_BYTES',
  'ETCD_AUTO_COMPACTION_MODE',
  'ETCD_AUTO_COMPACTION_RETENTION',
  'ETCD_MAX_REQUEST_BYTES',
  'ETCD_MAX_WALS',
  'ETCD_METRICS',
  'ETCD_LOGGER',
  'ETCD_LOG_OUTPUTS',
  'ETCD_LOG_LEVEL',
];

// Every optional variable set, with values every release can take.
const FULL: EtcdSettings = {
  cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  metricsUrls: ['http://127.0.0.1:2381'],
  heartbeatMs: 250,
  electionMs: 2500,
  quotaBackendBytes: 4 * 1024 ** 3,
  autoCompactionMode: 'revision',
  autoCompactionRetention: '1000',
  maxRequestBytes: 2 * 1024 * 1024,
  metrics: 'extensive',
  logLevel: 'warn',
  maxWals: 7,
  preVote: false,
  initialCorruptCheck: false,
};

describe('renderEtcdEnv per etcd minor', () => {
  it('defaults to DEFAULT_ETCD_VERSION (3.6.14)', () => {
    expect(renderEtcdEnv(base)).toBe(renderEtcdEnv({ ...base, etcdVersion: DEFAULT_ETCD_VERSION }));
    expect(renderEtcdEnv(base).split('\n')[0]).toContain('for etcd 3.6.14');
  });

  it('3.4.23: 3.4 names, ETCD_ENABLE_V2 off, the experimental corrupt check, no TLS minimum', () => {
    expect(names('3.4.23').sort()).toEqual(
      [...COMMON, 'ETCD_ENABLE_V2', 'ETCD_SNAPSHOT_COUNT', 'ETCD_MAX_SNAPSHOTS', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK'].sort(),
    );
    expect(envOf('3.4.23')).toMatchObject({ ETCD_ENABLE_V2: 'false', ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: 'true', ETCD_LOGGER: 'zap', ETCD_SNAPSHOT_COUNT: '10000' });
  });

  it('3.4.25+ have --tls-min-version: it is written there', () => {
    expect(envOf('3.4.25').ETCD_TLS_MIN_VERSION).toBe('TLS1.2');
    expect(envOf('3.4.45', { tlsMinVersion: 'TLS1.3' }).ETCD_TLS_MIN_VERSION).toBe('TLS1.3');
  });

  it('3.5.16: ETCD_TLS_MIN_VERSION, TLS 1.3 allowed, no (deprecated) ETCD_ENABLE_V2, experimental corrupt check', () => {
    expect(names('3.5.16').sort()).toEqual(
      [...COMMON, 'ETCD_TLS_MIN_VERSION', 'ETCD_SNAPSHOT_COUNT', 'ETCD_MAX_SNAPSHOTS', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK'].sort(),
    );
    expect(envOf('3.5.16').ETCD_TLS_MIN_VERSION).toBe('TLS1.2');
    expect(envOf('3.5.16', { tlsMinVersion: 'TLS1.3' }).ETCD_TLS_MIN_VERSION).toBe('TLS1.3');
    expect(envOf('3.5.16', { maxSnapshots: 3 }).ETCD_MAX_SNAPSHOTS).toBe('3');
  });

  it('3.6.14: feature gate instead of the experimental variable, no v2, no deprecated ETCD_MAX_SNAPSHOTS', () => {
    expect(names('3.6.14').sort()).toEqual([...COMMON, 'ETCD_TLS_MIN_VERSION', 'ETCD_SNAPSHOT_COUNT', 'ETCD_FEATURE_GATES'].sort());
    expect(envOf('3.6.14').ETCD_FEATURE_GATES).toBe('InitialCorruptCheck=true');
    expect(envOf('3.6.14', { initialCorruptCheck: false }).ETCD_FEATURE_GATES).toBe('InitialCorruptCheck=false');
  });

  it('3.7.1: the same as 3.6 (nothing etcd-kit writes was removed)', () => {
    expect(names('3.7.1').sort()).toEqual(names('3.6.14').sort());
    expect(renderEtcdEnv({ ...base, etcdVersion: '3.7.1' }).replace('3.7.1', '3.6.14')).toBe(renderEtcdEnv(base));
  });

  it('3.6.0-3.6.7 deprecate ETCD_SNAPSHOT_COUNT: left to etcd (same default), refused when set; 3.6.8 takes it again', () => {
    expect(names('3.6.0')).not.toContain('ETCD_SNAPSHOT_COUNT');
    expect(names('3.6.7')).not.toContain('ETCD_SNAPSHOT_COUNT');
    expect(envOf('3.6.8').ETCD_SNAPSHOT_COUNT).toBe('10000');
    const err = expectInvalid(() => renderEtcdEnv({ ...base, etcdVersion: '3.6.7', settings: { snapshotCount: 20000 } }), 'settings.snapshotCount');
    expect(err.message).toContain('deprecates ETCD_SNAPSHOT_COUNT');
    expect(envOf('3.6.8', { snapshotCount: 20000 }).ETCD_SNAPSHOT_COUNT).toBe('20000');
  });

  it('refuses an explicit maxSnapshots on 3.6+ (even the default value) and leaves the default to etcd', () => {
    for (const v of ['3.6.0', '3.6.14', '3.7.1']) {
      for (const maxSnapshots of [3, 5]) {
        const err = expectInvalid(() => renderEtcdEnv({ ...base, etcdVersion: v, settings: { maxSnapshots } }), 'settings.maxSnapshots');
        expect(err.message).toContain(`etcd ${v} deprecates ETCD_MAX_SNAPSHOTS`);
        expect(err.message).toContain("etcd's default (5)");
      }
      expect(names(v)).not.toContain('ETCD_MAX_SNAPSHOTS');
    }
    expect(envOf('3.5.33', { maxSnapshots: 5 }).ETCD_MAX_SNAPSHOTS).toBe('5');
  });

  it('refuses TLS 1.3 where the release has no --tls-min-version, explicit TLS 1.2 is fine there', () => {
    for (const v of ['3.4.0', '3.4.23', '3.4.24', '3.5.0', '3.5.7']) {
      const err = expectInvalid(() => renderEtcdEnv({ ...base, etcdVersion: v, settings: { tlsMinVersion: 'TLS1.3' } }), 'settings.tlsMinVersion');
      expect(err.message).toContain(`etcd ${v} has no --tls-min-version (it always uses TLS1.2)`);
      expect(names(v, { tlsMinVersion: 'TLS1.2' })).not.toContain('ETCD_TLS_MIN_VERSION');
    }
    expect(expectInvalid(() => renderEtcdEnv({ ...base, etcdVersion: '3.4.23', settings: { tlsMinVersion: 'TLS1.3' } }), 'settings.tlsMinVersion').message).toContain(
      '3.4 has it from 3.4.25',
    );
  });

  it('refuses cipher suites with TLS 1.3 on every release that can express TLS 1.3', () => {
    for (const v of ['3.4.45', '3.5.16', '3.6.14', '3.7.1']) {
      expectInvalid(
        () => renderEtcdEnv({ ...base, etcdVersion: v, settings: { tlsMinVersion: 'TLS1.3', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] } }),
        'settings.cipherSuites',
      );
    }
  });

  it('renders 3.5.0-3.5.2 (refusing them is the deploy\'s call) and reports their issue', () => {
    expect(envOf('3.5.1').ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK).toBe('true');
    expect(resolveEtcdVersion('3.5.1').issues).toHaveLength(1);
  });

  it('accepts a patch newer than the data, with the newest known names', () => {
    expect(renderEtcdEnv({ ...base, etcdVersion: '3.6.15' }).replace('3.6.15', '3.6.14')).toBe(renderEtcdEnv(base));
  });

  it('rejects a bad or unknown etcdVersion naming the field', () => {
    for (const etcdVersion of ['3.8.0', '3.3.27', 'v3.6.14', '3.6', 'latest', '']) {
      expectInvalid(() => renderEtcdEnv({ ...base, etcdVersion }), 'etcdVersion');
    }
    expectInvalid(() => renderEtcdEnv({ ...base, etcdVersion: 3.6 as never }), 'etcdVersion');
  });

  it('names only what that exact release reads, never deprecated, for every release tag read and every optional setting', () => {
    for (const v of [...allReleases, '3.4.46', '3.5.34', '3.6.15', '3.7.2']) {
      const lateSnapshot = !etcdEnvVarDeprecated(v, 'ETCD_SNAPSHOT_COUNT');
      const sets: EtcdSettings[] = [{}, FULL, { ...FULL, ...(lateSnapshot ? { snapshotCount: 50_000 } : {}) }];
      if (etcdEnvVarKnown(v, 'ETCD_TLS_MIN_VERSION')) sets.push({ tlsMinVersion: 'TLS1.3', metricsUrls: ['https://127.0.0.1:2381'] });
      if (!etcdEnvVarDeprecated(v, 'ETCD_MAX_SNAPSHOTS')) sets.push({ maxSnapshots: 0 });
      for (const settings of sets) {
        const env = envOf(v, settings);
        for (const name of Object.keys(env)) {
          expect(etcdEnvVarKnown(v, name), `${v}: ${name}`).toBe(true);
          expect(etcdEnvVarDeprecated(v, name), `${v}: ${name} is deprecated`).toBe(false);
        }
        // The corrupt check always reaches etcd one way or the other.
        const check = settings.initialCorruptCheck ?? true;
        if (v.startsWith('3.4.') || v.startsWith('3.5.')) expect(env.ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK).toBe(String(check));
        else expect(env.ETCD_FEATURE_GATES).toBe(`InitialCorruptCheck=${check}`);
        for (const key of ['cipherSuites', 'metricsUrls'] as const) {
          if ((settings[key] ?? []).length > 0) expect(env[SETTING_VARS[key]]).toBe(settings[key]!.join(','));
        }
      }
    }
  });
});

describe('checkSettingsForEtcdVersion', () => {
  it('validates settings for one release without rendering', () => {
    expect(() => checkSettingsForEtcdVersion({ maxSnapshots: 3 }, '3.5.33')).not.toThrow();
    expectInvalid(() => checkSettingsForEtcdVersion({ maxSnapshots: 3 }, '3.6.14'), 'settings.maxSnapshots');
    expectInvalid(() => checkSettingsForEtcdVersion({ maxSnapshots: 3 }), 'settings.maxSnapshots');
    expectInvalid(() => checkSettingsForEtcdVersion({ heartbeatMs: 0 }, '3.5.33'), 'settings.heartbeatMs');
    expectInvalid(() => checkSettingsForEtcdVersion({}, '3.9.0', 'spec.etcd.version'), 'spec.etcd.version');
  });
});

describe('settingsForEtcdVersion', () => {
  it('refuses to drop a deprecated variable whose etcd default is not etcd-kit\'s (a table bug, not bad input)', () => {
    const real = resolveEtcdVersion('3.5.33');
    // As if 3.5 deprecated --snapshot-count: its default (100000) is not etcd-kit's (10000), so leaving it out would change behaviour.
    const fake = { ...real, deprecatedEnvVars: new Map([...real.deprecatedEnvVars, ['ETCD_SNAPSHOT_COUNT', undefined]]) };
    expect(() => settingsForEtcdVersion(fake, resolveSettingsWithOrigin({}))).toThrow(/etcd-kit bug: settings.snapshotCount defaults to 10000 but etcd 3.5.33 defaults the deprecated ETCD_SNAPSHOT_COUNT to 100000/);
    // Same default (max-wals: 5): dropping it is safe.
    const fake2 = { ...real, deprecatedEnvVars: new Map([...real.deprecatedEnvVars, ['ETCD_MAX_WALS', undefined]]) };
    expect(settingsForEtcdVersion(fake2, resolveSettingsWithOrigin({})).vars.has('maxWals')).toBe(false);
  });

  it('calls a defaulted setting the release cannot take a bug', () => {
    const real = resolveEtcdVersion('3.5.33');
    const envVars = new Set(real.envVars);
    envVars.delete('ETCD_MAX_WALS');
    expect(() => settingsForEtcdVersion({ ...real, envVars }, resolveSettingsWithOrigin({}))).toThrow(/etcd-kit bug: default of settings.maxWals/);
    expectInvalid(() => settingsForEtcdVersion({ ...real, envVars }, resolveSettingsWithOrigin({ maxWals: 3 })), 'settings.maxWals');
  });
});

describe('assertEnvForEtcdVersion (the final guard)', () => {
  const v36 = resolveEtcdVersion('3.6.14');
  const guard = (entries: [string, string][], v = v36) => () => assertEnvForEtcdVersion(v, [{ title: 'x', entries }]);

  it('passes what the release reads', () => {
    expect(guard([['ETCD_NAME', 'a'], ['ETCD_FEATURE_GATES', 'InitialCorruptCheck=true,CompactHashCheck=false']])).not.toThrow();
  });

  it('throws for a name the release does not read, a deprecated one, a duplicate, a fatal value, an unknown gate', () => {
    expect(guard([['ETCD_ENABLE_V2', 'false']])).toThrow(/etcd-kit bug: refusing to render ETCD_ENABLE_V2="false" for etcd 3.6.14: this release does not read it/);
    expect(guard([['ETCD_MAX_SNAPSHOTS', '5']])).toThrow(/deprecates it/);
    expect(guard([['ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK', 'true']])).toThrow(/deprecates it/);
    expect(guard([['ETCD_NAME', 'a'], ['ETCD_NAME', 'b']])).toThrow(/written twice/);
    expect(guard([['ETCD_LOGGER', 'capnslog']])).toThrow(/capnslog/);
    expect(guard([['ETCD_FEATURE_GATES', 'NoSuchGate=true']])).toThrow(/unknown feature gate entry 'NoSuchGate=true'/);
    expect(guard([['ETCD_FEATURE_GATES', 'InitialCorruptCheck=yes']])).toThrow(/unknown feature gate/);
    expect(guard([['ETCD_TLS_MIN_VERSION', 'TLS1.2']], resolveEtcdVersion('3.4.23'))).toThrow(/does not read it/);
    expect(guard([['ETCD_FEATURE_GATES', 'InitialCorruptCheck=true']], resolveEtcdVersion('3.5.33'))).toThrow(/does not read it/);
  });
});
