import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterPki, type KeyAlgorithm, pkiPaths, writePkiDir } from '../../src/pki/index.js';
import { parseEnvFile, renderEtcdctlEnv, renderEtcdEnv } from '../../src/render/index.js';
import { type EtcdctlResult, type LocalCluster, runEtcdctl, startLocalCluster } from '../helpers/local-cluster.js';

const sh = promisify(execFile);
const UNRECOGNIZED = 'unrecognized environment variable';

/** The environment a live process really runs with, from /proc. */
async function processEnv(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** What the members logged while `action` ran: proves a refusal was a TLS rejection, not a timeout. */
async function newLogLines(cluster: LocalCluster, action: () => Promise<void>): Promise<string> {
  const before = await Promise.all(cluster.members.map((m) => cluster.readLog(m.name).then((l) => l.length)));
  await action();
  const after = await Promise.all(cluster.members.map((m, i) => cluster.readLog(m.name).then((l) => l.slice(before[i]))));
  return after.join('\n');
}

function healthyLines(stdout: string, stderr: string): string[] {
  return `${stdout}\n${stderr}`.split('\n').filter((l) => l.includes('is healthy'));
}

describe.each<KeyAlgorithm>(['rsa-2048', 'ecdsa-p256'])('3-member etcd 3.4 cluster on rendered env files (%s)', (keyAlgorithm) => {
  let cluster: LocalCluster;
  let foreignDir: string;

  beforeAll(async () => {
    cluster = await startLocalCluster({ size: 3, keyAlgorithm });
    foreignDir = await mkdtemp(join(tmpdir(), 'etcd-kit-foreign-'));
    // A complete, valid PKI for the same member names and addresses, but from another CA.
    const foreign = await createClusterPki({
      members: cluster.members.map((m) => ({ name: m.name, hosts: [m.address] })),
      keyAlgorithm,
    });
    await writePkiDir(foreignDir, foreign);
  });

  afterAll(async () => {
    await cluster?.close();
    if (foreignDir) await rm(foreignDir, { recursive: true, force: true });
  });

  it('passes endpoint health on all three members with the admin client certificate', async () => {
    const res = await cluster.etcdctl(['endpoint', 'health']);
    expect(res.code).toBe(0);
    const healthy = healthyLines(res.stdout, res.stderr);
    for (const url of cluster.endpoints) expect(healthy.some((l) => l.startsWith(`${url} is healthy`))).toBe(true);
    expect(healthy).toHaveLength(3);
  });

  it('forms one cluster of three https peers and serves reads and writes', async () => {
    const list = await cluster.etcdctl(['member', 'list', '-w', 'json']);
    expect(list.code).toBe(0);
    const peers = (JSON.parse(list.stdout) as { members: { name: string; peerURLs: string[]; clientURLs: string[] }[] }).members;
    expect(peers.map((p) => p.name).sort()).toEqual(cluster.members.map((m) => m.name).sort());
    for (const p of peers) {
      const m = cluster.member(p.name);
      expect(p.peerURLs).toEqual([m.peerUrl]);
      expect(p.clientURLs).toEqual([m.clientUrl]);
    }
    expect((await cluster.etcdctl(['put', 'etcd-kit/render', keyAlgorithm])).code).toBe(0);
    const get = await cluster.etcdctl(['get', 'etcd-kit/render', '--print-value-only'], { endpoints: [cluster.endpoints[2]!] });
    expect(get.stdout.trim()).toBe(keyAlgorithm);
  });

  it('refuses a client that presents no certificate', async () => {
    let res: EtcdctlResult | undefined;
    const logged = await newLogLines(cluster, async () => {
      res = await runEtcdctl([
        `--endpoints=${cluster.endpoints.join(',')}`,
        `--cacert=${cluster.tlsFiles.caFile}`,
        '--dial-timeout=3s',
        '--command-timeout=3s',
        'endpoint',
        'health',
      ]);
    });
    expect(res!.code).not.toBe(0);
    expect(healthyLines(res!.stdout, res!.stderr)).toEqual([]);
    expect(logged).toMatch(/"rejected connection".*"tls: client didn't provide a certificate"/);
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    let res: EtcdctlResult | undefined;
    const logged = await newLogLines(cluster, async () => {
      res = await runEtcdctl([
        `--endpoints=${cluster.endpoints.join(',')}`,
        `--cacert=${cluster.tlsFiles.caFile}`,
        `--cert=${pkiPaths(foreignDir).client('admin').cert}`,
        `--key=${pkiPaths(foreignDir).client('admin').key}`,
        '--dial-timeout=3s',
        '--command-timeout=3s',
        'endpoint',
        'health',
      ]);
    });
    expect(res!.code).not.toBe(0);
    expect(healthyLines(res!.stdout, res!.stderr)).toEqual([]);
    expect(logged).toMatch(/"rejected connection".*certificate signed by unknown authority/);
  });

  it('accepts every variable it was given: no unrecognized-variable warning in any log', async () => {
    for (const m of cluster.members) {
      const log = await cluster.readLog(m.name);
      // Positive control: the log does carry etcd's env-var report, so the absence below is meaningful.
      expect(log).toContain('recognized and used environment variable ETCD_CLIENT_CERT_AUTH=true');
      expect(log).toContain('recognized and used environment variable ETCD_PEER_CLIENT_CERT_AUTH=true');
      expect(log).not.toContain(UNRECOGNIZED);
    }
  });

  it('drives etcdctl through a rendered etcdctl env file loaded by a POSIX shell', async () => {
    const file = join(foreignDir, 'etcdctl.env');
    await writeFile(
      file,
      renderEtcdctlEnv({
        endpoints: cluster.endpoints,
        caFile: cluster.tlsFiles.caFile,
        certFile: cluster.tlsFiles.certFile,
        keyFile: cluster.tlsFiles.keyFile,
      }),
    );
    const { stdout, stderr } = await sh('/bin/sh', ['-c', 'set -a; . "$1"; set +a; exec etcdctl endpoint health', 'sh', file], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(healthyLines(stdout, stderr)).toHaveLength(3);
  });

  it('runs each member on exactly the env file renderEtcdEnv produced, unedited', async () => {
    for (const m of cluster.members) {
      const onDisk = await readFile(m.envFile, 'utf8');
      expect(onDisk).toBe(renderEtcdEnv(m.renderOptions));
      const fileEnv = parseEnvFile(onDisk);
      expect(fileEnv.ETCD_NAME).toBe(m.name);
      const live = await processEnv(m.process!.pid!);
      const etcdVars = Object.fromEntries(Object.entries(live).filter(([k]) => k.startsWith('ETCD')));
      expect(etcdVars).toEqual(fileEnv);
    }
  });
});

describe('optional listeners and tunables on a real etcd 3.4', () => {
  let cluster: LocalCluster;
  let metricsPort: number;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      size: 1,
      // The spare port is picked with the cluster's own ports, so the metrics listener never collides with them.
      settings: ({ sparePort }) => {
        metricsPort = sparePort;
        return {
          metricsUrls: [`http://127.0.0.1:${sparePort}`],
          cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
          heartbeatMs: 50,
          electionMs: 500,
          autoCompactionMode: 'revision',
          autoCompactionRetention: '1000',
          metrics: 'extensive',
          logLevel: 'debug',
          preVote: false,
          initialCorruptCheck: false,
        };
      },
    });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('accepts metrics URLs, cipher suites and every tunable without warnings', async () => {
    const log = await cluster.readLog(cluster.members[0]!.name);
    for (const v of ['ETCD_LISTEN_METRICS_URLS', 'ETCD_CIPHER_SUITES', 'ETCD_METRICS=extensive', 'ETCD_PRE_VOTE=false', 'ETCD_AUTO_COMPACTION_MODE=revision']) {
      expect(log).toContain(`recognized and used environment variable ${v}`);
    }
    expect(log).not.toContain(UNRECOGNIZED);
  });

  it('serves /metrics and /health on the loopback metrics listener, but not the KV API', async () => {
    const base = `http://127.0.0.1:${metricsPort}`;
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('etcd_server_has_leader 1');
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(await health.text())).toMatchObject({ health: 'true' });
    const kv = await fetch(`${base}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'Zm9v' }) });
    expect(kv.status).toBe(404);
  });
});

describe('IPv6 members on a real etcd 3.4', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startLocalCluster({ size: 3, addresses: ['::1', '::1', '::1'], keyAlgorithm: 'ecdsa-p256' });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('brackets the addresses so etcd binds, advertises and reaches quorum over [::1]', async () => {
    expect(cluster.endpoints.every((e) => e.startsWith('https://[::1]:'))).toBe(true);
    const res = await cluster.etcdctl(['endpoint', 'health']);
    expect(res.code).toBe(0);
    expect(healthyLines(res.stdout, res.stderr)).toHaveLength(3);
    for (const m of cluster.members) expect(await cluster.readLog(m.name)).not.toContain(UNRECOGNIZED);
  });
});
