import { describe, expect, it } from 'vitest';
import { resolveSettings, resolveSettingsWithOrigin } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

describe('resolveSettings', () => {
  it('fills the documented defaults', () => {
    expect(resolveSettings()).toEqual({
      heartbeatMs: 100,
      electionMs: 1000,
      snapshotCount: 10000,
      quotaBackendBytes: 2147483648,
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '1h',
      maxRequestBytes: 1572864,
      tlsMinVersion: 'TLS1.2',
      cipherSuites: [],
      metricsUrls: [],
      metrics: 'basic',
      logLevel: 'info',
      maxSnapshots: 5,
      maxWals: 5,
      preVote: true,
      initialCorruptCheck: true,
    });
  });

  it('keeps given values and defaults the retention per mode', () => {
    const s = resolveSettings({
      heartbeatMs: 250,
      electionMs: 5000,
      snapshotCount: 100000,
      quotaBackendBytes: 8 * 1024 ** 3,
      autoCompactionMode: 'revision',
      maxRequestBytes: 10 * 1024 * 1024,
      cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
      metricsUrls: ['http://[::1]:2381', 'https://10.0.0.1:2381/'],
      metrics: 'extensive',
      logLevel: 'warn',
      maxSnapshots: 0,
      maxWals: 0,
      preVote: false,
      initialCorruptCheck: false,
    });
    expect(s.autoCompactionRetention).toBe('10000');
    expect(s.metricsUrls).toEqual(['http://[::1]:2381', 'https://10.0.0.1:2381']);
    expect(s.heartbeatMs).toBe(250);
    expect(s.preVote).toBe(false);
    expect(resolveSettings({ autoCompactionRetention: '8' }).autoCompactionRetention).toBe('8');
    expect(resolveSettings({ autoCompactionRetention: '1h30m' }).autoCompactionRetention).toBe('1h30m');
    expect(resolveSettings({ metricsUrls: ['http://localhost:2381', 'http://127.0.0.2:2381'] }).metricsUrls).toHaveLength(2);
  });

  it('enforces election ≥ 5 × heartbeat and the ranges', () => {
    expectInvalid(() => resolveSettings({ heartbeatMs: 300 }), 'settings.electionMs');
    expect(resolveSettings({ heartbeatMs: 200 }).electionMs).toBe(1000);
    expectInvalid(() => resolveSettings({ electionMs: 50001 }), 'settings.electionMs');
    expectInvalid(() => resolveSettings({ heartbeatMs: 0 }), 'settings.heartbeatMs');
    expectInvalid(() => resolveSettings({ heartbeatMs: 1.5 }), 'settings.heartbeatMs');
    expectInvalid(() => resolveSettings({ snapshotCount: 0 }), 'settings.snapshotCount');
    expectInvalid(() => resolveSettings({ quotaBackendBytes: 8 * 1024 ** 3 + 1 }), 'settings.quotaBackendBytes');
    expectInvalid(() => resolveSettings({ quotaBackendBytes: 1000 }), 'settings.quotaBackendBytes');
    expectInvalid(() => resolveSettings({ maxRequestBytes: 10 * 1024 * 1024 + 1 }), 'settings.maxRequestBytes');
    expectInvalid(() => resolveSettings({ maxSnapshots: -1 }), 'settings.maxSnapshots');
    expectInvalid(() => resolveSettings({ maxWals: Number.NaN }), 'settings.maxWals');
  });

  it('rejects bad enums, retention and booleans', () => {
    expectInvalid(() => resolveSettings({ autoCompactionMode: 'hourly' as never }), 'settings.autoCompactionMode');
    expectInvalid(() => resolveSettings({ autoCompactionRetention: '1d' }), 'settings.autoCompactionRetention');
    expectInvalid(() => resolveSettings({ autoCompactionRetention: '1h"' }), 'settings.autoCompactionRetention');
    expectInvalid(() => resolveSettings({ autoCompactionMode: 'revision', autoCompactionRetention: '1h' }), 'settings.autoCompactionRetention');
    expectInvalid(() => resolveSettings({ logLevel: 'trace' as never }), 'settings.logLevel');
    expectInvalid(() => resolveSettings({ metrics: 'full' as never }), 'settings.metrics');
    expectInvalid(() => resolveSettings({ preVote: 'yes' as never }), 'settings.preVote');
    expectInvalid(() => resolveSettings({ heartbeat: 100 } as never), 'settings.heartbeat');
  });

  it('accepts TLS 1.3 as minimum (whether a release can express it is the renderer\'s check), but not with cipher suites', () => {
    expect(resolveSettings({ tlsMinVersion: 'TLS1.3' }).tlsMinVersion).toBe('TLS1.3');
    expectInvalid(() => resolveSettings({ tlsMinVersion: 'TLS1.1' as never }), 'settings.tlsMinVersion');
    // etcd: "cipher suites cannot be configured when only TLS1.3 is enabled".
    const err = expectInvalid(
      () => resolveSettings({ tlsMinVersion: 'TLS1.3', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] }),
      'settings.cipherSuites',
    );
    expect(err.message).toContain('TLS 1.3');
    expect(resolveSettings({ tlsMinVersion: 'TLS1.2', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] }).cipherSuites).toHaveLength(1);
  });

  it('remembers which settings were given and which are defaults', () => {
    expect([...resolveSettingsWithOrigin().explicit]).toEqual([]);
    const r = resolveSettingsWithOrigin({ maxWals: 5, heartbeatMs: 200, logLevel: undefined });
    // Given with the default value still counts as given; undefined counts as not given.
    expect([...r.explicit].sort()).toEqual(['heartbeatMs', 'maxWals']);
    expect(r.settings).toEqual(resolveSettings({ maxWals: 5, heartbeatMs: 200 }));
    expect(r.settings.logLevel).toBe('info');
  });

  it('accepts only ECDHE+AEAD cipher suites, once each', () => {
    expectInvalid(() => resolveSettings({ cipherSuites: ['TLS_RSA_WITH_AES_128_CBC_SHA'] }), 'settings.cipherSuites[0]');
    expectInvalid(
      () => resolveSettings({ cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA'] }),
      'settings.cipherSuites[1]',
    );
    expectInvalid(
      () => resolveSettings({ cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] }),
      'settings.cipherSuites[1]',
    );
    expectInvalid(() => resolveSettings({ cipherSuites: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' as never }), 'settings.cipherSuites');
  });

  it('allows plaintext metrics listeners on loopback only', () => {
    for (const url of ['http://10.0.0.1:2381', 'http://0.0.0.0:2381', 'http://[::]:2381', 'http://etcd.example.com:2381']) {
      expectInvalid(() => resolveSettings({ metricsUrls: [url] }), 'settings.metricsUrls[0]');
    }
    for (const url of ['ftp://127.0.0.1:2381', 'http://127.0.0.1', 'http://127.0.0.1:2381/metrics', 'not a url', 'http://127.0.0.1:2381,http://127.0.0.1:2382']) {
      expectInvalid(() => resolveSettings({ metricsUrls: ['http://127.0.0.1:2399', url] }), 'settings.metricsUrls[1]');
    }
    expectInvalid(() => resolveSettings({ metricsUrls: ['http://127.0.0.1:2381', 'http://127.0.0.1:2381/'] }), 'settings.metricsUrls[1]');
  });
});
