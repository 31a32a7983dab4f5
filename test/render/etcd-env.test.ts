import { describe, expect, it } from 'vitest';
import { type ClusterMember, parseEnvFile, type RenderEtcdEnvOptions, renderEtcdEnv } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

const members: ClusterMember[] = [
  { name: 'etcd01', address: '192.168.35.128' },
  { name: 'etcd02', address: '192.168.35.195' },
  { name: 'etcd03', address: '192.168.35.138' },
];
const base: RenderEtcdEnvOptions = { member: 'etcd01', members, token: 'k8s-etcd-7f3a9c' };
// Debian 12's etcd: the tests that pin names are about the 3.4 file (test/render/etcd-env-versions.test.ts covers the others).
const v34: RenderEtcdEnvOptions = { ...base, etcdVersion: '3.4.23' };

describe('renderEtcdEnv', () => {
  it('renders the recipe cluster for etcd 3.4.23 with mTLS and safe defaults, byte for byte', () => {
    expect(renderEtcdEnv(v34)).toBe(`# etcd etcd01: rendered by etcd-kit for etcd 3.4.23. Edit the inputs and re-render; hand edits are overwritten.

#[Member]
ETCD_NAME="etcd01"
ETCD_DATA_DIR="/var/lib/etcd"
ETCD_LISTEN_PEER_URLS="https://192.168.35.128:2380"
ETCD_LISTEN_CLIENT_URLS="https://192.168.35.128:2379,https://127.0.0.1:2379"

#[Clustering]
ETCD_INITIAL_ADVERTISE_PEER_URLS="https://192.168.35.128:2380"
ETCD_ADVERTISE_CLIENT_URLS="https://192.168.35.128:2379"
ETCD_INITIAL_CLUSTER="etcd01=https://192.168.35.128:2380,etcd02=https://192.168.35.195:2380,etcd03=https://192.168.35.138:2380"
ETCD_INITIAL_CLUSTER_TOKEN="k8s-etcd-7f3a9c"
ETCD_INITIAL_CLUSTER_STATE="new"
ETCD_STRICT_RECONFIG_CHECK="true"
ETCD_PRE_VOTE="true"
ETCD_ENABLE_V2="false"

#[Security]
ETCD_CERT_FILE="/opt/etcd/ssl/server.crt"
ETCD_KEY_FILE="/opt/etcd/ssl/server.key"
ETCD_TRUSTED_CA_FILE="/opt/etcd/ssl/ca.crt"
ETCD_CLIENT_CERT_AUTH="true"
ETCD_PEER_CERT_FILE="/opt/etcd/ssl/peer.crt"
ETCD_PEER_KEY_FILE="/opt/etcd/ssl/peer.key"
ETCD_PEER_TRUSTED_CA_FILE="/opt/etcd/ssl/ca.crt"
ETCD_PEER_CLIENT_CERT_AUTH="true"

#[Tuning]
ETCD_HEARTBEAT_INTERVAL="100"
ETCD_ELECTION_TIMEOUT="1000"
ETCD_SNAPSHOT_COUNT="10000"
ETCD_QUOTA_BACKEND_BYTES="2147483648"
ETCD_AUTO_COMPACTION_MODE="periodic"
ETCD_AUTO_COMPACTION_RETENTION="1h"
ETCD_MAX_REQUEST_BYTES="1572864"
ETCD_MAX_SNAPSHOTS="5"
ETCD_MAX_WALS="5"
ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK="true"

#[Monitoring]
ETCD_METRICS="basic"

#[Logging]
ETCD_LOGGER="zap"
ETCD_LOG_OUTPUTS="stderr"
ETCD_LOG_LEVEL="info"
`);
  });

  it('is deterministic and does not mutate its input', () => {
    const opts: RenderEtcdEnvOptions = {
      ...base,
      settings: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], metricsUrls: ['http://127.0.0.1:2381'] },
    };
    const frozen = JSON.stringify(opts);
    const first = renderEtcdEnv(opts);
    expect(renderEtcdEnv(structuredClone(opts))).toBe(first);
    expect(JSON.stringify(opts)).toBe(frozen);
  });

  it('never writes a plaintext client or peer listener', () => {
    for (const m of members) {
      const env = parseEnvFile(renderEtcdEnv({ ...base, member: m.name, settings: { metricsUrls: ['http://127.0.0.1:2381'] } }));
      for (const key of ['ETCD_LISTEN_PEER_URLS', 'ETCD_LISTEN_CLIENT_URLS', 'ETCD_ADVERTISE_CLIENT_URLS', 'ETCD_INITIAL_ADVERTISE_PEER_URLS', 'ETCD_INITIAL_CLUSTER']) {
        expect(env[key]).toBeDefined();
        expect(env[key]).not.toContain('http://');
      }
      expect(env.ETCD_CLIENT_CERT_AUTH).toBe('true');
      expect(env.ETCD_PEER_CLIENT_CERT_AUTH).toBe('true');
      expect(env.ETCD_NAME).toBe(m.name);
    }
  });

  it('renders each member its own URLs and the same initial cluster', () => {
    const e2 = parseEnvFile(renderEtcdEnv({ ...base, member: 'etcd02' }));
    const e3 = parseEnvFile(renderEtcdEnv({ ...base, member: 'etcd03' }));
    expect(e2.ETCD_LISTEN_PEER_URLS).toBe('https://192.168.35.195:2380');
    expect(e2.ETCD_ADVERTISE_CLIENT_URLS).toBe('https://192.168.35.195:2379');
    expect(e3.ETCD_INITIAL_ADVERTISE_PEER_URLS).toBe('https://192.168.35.138:2380');
    expect(e2.ETCD_INITIAL_CLUSTER).toBe(e3.ETCD_INITIAL_CLUSTER);
  });

  it('honours state, layout, ports, listenLocalhost and tunables (etcd 3.4.23)', () => {
    const env = parseEnvFile(
      renderEtcdEnv({
        etcdVersion: '3.4.23',
        member: 'b',
        members: [
          { name: 'a', address: '127.0.0.1', clientPort: 32379, peerPort: 32380 },
          { name: 'b', address: '127.0.0.1', clientPort: 42379, peerPort: 42380 },
        ],
        token: 'tok',
        state: 'existing',
        layout: { sslDir: '/tmp/x/ssl', dataDir: '/tmp/x/data' },
        listenLocalhost: true,
        settings: {
          heartbeatMs: 250,
          electionMs: 5000,
          snapshotCount: 100000,
          quotaBackendBytes: 4 * 1024 ** 3,
          autoCompactionMode: 'revision',
          autoCompactionRetention: '5000',
          maxRequestBytes: 2097152,
          cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
          metricsUrls: ['http://127.0.0.1:42381', 'https://127.0.0.1:42382'],
          metrics: 'extensive',
          logLevel: 'debug',
          maxSnapshots: 3,
          maxWals: 7,
          preVote: false,
          initialCorruptCheck: false,
        },
      }),
    );
    expect(env).toMatchObject({
      ETCD_INITIAL_CLUSTER_STATE: 'existing',
      // Already on 127.0.0.1: no second localhost listener.
      ETCD_LISTEN_CLIENT_URLS: 'https://127.0.0.1:42379',
      ETCD_LISTEN_PEER_URLS: 'https://127.0.0.1:42380',
      ETCD_INITIAL_CLUSTER: 'a=https://127.0.0.1:32380,b=https://127.0.0.1:42380',
      ETCD_DATA_DIR: '/tmp/x/data',
      ETCD_CERT_FILE: '/tmp/x/ssl/server.crt',
      ETCD_PEER_TRUSTED_CA_FILE: '/tmp/x/ssl/ca.crt',
      ETCD_HEARTBEAT_INTERVAL: '250',
      ETCD_ELECTION_TIMEOUT: '5000',
      ETCD_SNAPSHOT_COUNT: '100000',
      ETCD_QUOTA_BACKEND_BYTES: '4294967296',
      ETCD_AUTO_COMPACTION_MODE: 'revision',
      ETCD_AUTO_COMPACTION_RETENTION: '5000',
      ETCD_MAX_REQUEST_BYTES: '2097152',
      ETCD_CIPHER_SUITES: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      ETCD_LISTEN_METRICS_URLS: 'http://127.0.0.1:42381,https://127.0.0.1:42382',
      ETCD_METRICS: 'extensive',
      ETCD_LOG_LEVEL: 'debug',
      ETCD_MAX_SNAPSHOTS: '3',
      ETCD_MAX_WALS: '7',
      ETCD_PRE_VOTE: 'false',
      ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: 'false',
    });
    expect(parseEnvFile(renderEtcdEnv({ ...base, listenLocalhost: false })).ETCD_LISTEN_CLIENT_URLS).toBe('https://192.168.35.128:2379');
  });

  it('never emits ETCD_TLS_MIN_VERSION for etcd 3.4.23, which does not know it', () => {
    expect(renderEtcdEnv({ ...v34, settings: { tlsMinVersion: 'TLS1.2' } })).not.toContain('TLS_MIN_VERSION');
    expect(renderEtcdEnv(v34)).not.toContain('TLS_MIN_VERSION');
  });

  it('brackets IPv6 everywhere and binds the IPv6 address', () => {
    const env = parseEnvFile(
      renderEtcdEnv({
        member: 'v6a',
        members: [
          { name: 'v6a', address: 'fd00::a' },
          { name: 'v6b', address: 'fd00::b' },
        ],
        token: 'v6',
      }),
    );
    expect(env.ETCD_LISTEN_PEER_URLS).toBe('https://[fd00::a]:2380');
    expect(env.ETCD_LISTEN_CLIENT_URLS).toBe('https://[fd00::a]:2379,https://127.0.0.1:2379');
    expect(env.ETCD_ADVERTISE_CLIENT_URLS).toBe('https://[fd00::a]:2379');
    expect(env.ETCD_INITIAL_CLUSTER).toBe('v6a=https://[fd00::a]:2380,v6b=https://[fd00::b]:2380');
  });

  it('binds 0.0.0.0 for a DNS-named member unless listenAddress is given, and advertises the name', () => {
    const dns: ClusterMember[] = [
      { name: 'a', address: 'etcd-a.example.com' },
      { name: 'b', address: 'etcd-b.example.com' },
    ];
    const env = parseEnvFile(renderEtcdEnv({ member: 'a', members: dns, token: 't' }));
    expect(env.ETCD_LISTEN_CLIENT_URLS).toBe('https://0.0.0.0:2379');
    expect(env.ETCD_LISTEN_PEER_URLS).toBe('https://0.0.0.0:2380');
    expect(env.ETCD_ADVERTISE_CLIENT_URLS).toBe('https://etcd-a.example.com:2379');
    const bound = parseEnvFile(renderEtcdEnv({ member: 'a', members: dns, token: 't', listenAddress: '10.1.2.3' }));
    expect(bound.ETCD_LISTEN_CLIENT_URLS).toBe('https://10.1.2.3:2379,https://127.0.0.1:2379');
    expect(bound.ETCD_LISTEN_PEER_URLS).toBe('https://10.1.2.3:2380');
  });

  it('rejects bad input naming the field', () => {
    expectInvalid(() => renderEtcdEnv({ ...base, member: 'etcd09' }), 'member');
    expectInvalid(() => renderEtcdEnv({ ...base, member: undefined as never }), 'member');
    expectInvalid(() => renderEtcdEnv({ ...base, members: [] }), 'members');
    expectInvalid(() => renderEtcdEnv({ ...base, members: [...members, { name: 'etcd02', address: '10.0.0.4' }] }), 'members[3].name');
    expectInvalid(() => renderEtcdEnv({ ...base, members: [...members, { name: 'etcd04', address: '192.168.35.195' }] }), 'members[3].peerPort');
    for (const token of ['', 'a b', 'tok"en', 'tok$en', 'tok\\en', 'tok`en', 'tok\nen', 'x'.repeat(129)]) {
      expectInvalid(() => renderEtcdEnv({ ...base, token }), 'token');
    }
    expectInvalid(() => renderEtcdEnv({ ...base, state: 'old' as never }), 'state');
    expectInvalid(() => renderEtcdEnv({ ...base, listenLocalhost: 'yes' as never }), 'listenLocalhost');
    expectInvalid(() => renderEtcdEnv({ ...base, listenAddress: 'etcd.example.com' }), 'listenAddress');
    expectInvalid(() => renderEtcdEnv({ ...base, layout: { dataDir: 'data' } }), 'layout.dataDir');
    expectInvalid(() => renderEtcdEnv({ ...base, layout: { sslDir: '/ssl\u0007' } }), 'layout.sslDir');
    expectInvalid(() => renderEtcdEnv({ ...base, settings: { heartbeatMs: 500 } }), 'settings.electionMs');
    expectInvalid(() => renderEtcdEnv({ ...base, settings: { metricsUrls: ['http://192.168.35.128:2381'] } }), 'settings.metricsUrls[0]');
    // A metrics listener on the member's own client socket would fail to bind.
    expectInvalid(() => renderEtcdEnv({ ...base, settings: { metricsUrls: ['https://192.168.35.128:2379'] } }), 'settings.metricsUrls[0]');
    expectInvalid(() => renderEtcdEnv({ ...base, settings: { metricsUrls: ['http://127.0.0.1:2379'] } }), 'settings.metricsUrls[0]');
    expectInvalid(() => renderEtcdEnv(null as never), 'options');
  });
});
