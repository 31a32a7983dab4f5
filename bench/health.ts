/**
 * Health check of a healthy local 3-member mTLS cluster (etcd 3.4, started by the test helper from
 * etcd-kit's own PKI and env files), three ways, interleaved in the same loop so background load hits all
 * alike (the order rotates every round; warm-up rounds are not counted):
 *   - one-shot `checkHealth` (new connections to all 3 endpoints, TLS handshakes, close);
 *   - `checkHealth` through a warm `connectCluster` handle (connections reused);
 *   - the `etcdctl endpoint health` process over the same 3 endpoints and admin certificate.
 * etcd-kit's check asks a linearizable read and the status of every endpoint (the status lists the alarms
 * too) plus one member list; etcdctl asks a linearizable read per endpoint. After the timed rounds, a few
 * more runs of each kind count the gRPC calls the members served (etcd's own `grpc_server_started_total`).
 *
 *   node --import tsx bench/health.ts [rounds] [keyAlgorithm]     (default 30 rounds, the PKI default: ecdsa-p256)
 */
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { availableParallelism, loadavg } from 'node:os';
import { checkHealth, connectCluster } from '../src/etcd/index.js';
import { isKeyAlgorithm, type KeyAlgorithm, PKI_DEFAULTS } from '../src/pki/index.js';
import { ETCDCTL_BIN, startLocalCluster } from '../test/helpers/local-cluster.js';
import { median } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 30);
const keyAlgorithm = (process.argv[3] ?? PKI_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
if (!isKeyAlgorithm(keyAlgorithm)) throw new Error(`unknown key algorithm ${keyAlgorithm}`);
const warmUp = 3;

const p90 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)]!;
const ms = (value: number): string => `${value.toFixed(1)} ms`.padStart(9);

type Tls = { caPem: string; certPem: string; keyPem: string };

/** One member's count of the gRPC calls it started, by method, from its `/metrics` (mTLS, on the client port). */
function startedCalls(endpoint: string, tls: Tls): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}/metrics`, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const counts = new Map<string, number>();
        for (const m of body.matchAll(/^grpc_server_started_total\{grpc_method="(\w+)"[^}]*\} (\d+)$/gm)) {
          counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + Number(m[2]));
        }
        resolve(counts);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The gRPC calls the members served while `runs` runs of `run` went one after another, per run, by method. */
async function callsPerRun(run: () => Promise<unknown>, runs: number, endpoints: string[], tls: Tls): Promise<string> {
  const served = async (): Promise<Map<string, number>> => {
    const total = new Map<string, number>();
    for (const counts of await Promise.all(endpoints.map((e) => startedCalls(e, tls)))) {
      for (const [method, n] of counts) total.set(method, (total.get(method) ?? 0) + n);
    }
    return total;
  };
  const before = await served();
  for (let i = 0; i < runs; i++) await run();
  return [...(await served())]
    .map(([method, n]) => [method, (n - (before.get(method) ?? 0)) / runs] as const)
    .filter(([, n]) => n > 0)
    .map(([method, n]) => `${method} ${Number.isInteger(n) ? n : n.toFixed(1)}`)
    .join(', ');
}

function etcdctlHealth(args: string[]): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    execFile(ETCDCTL_BIN, args, { env: { ETCDCTL_API: '3' }, timeout: 20_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`etcdctl endpoint health failed: ${stderr}`));
      else resolve(performance.now() - start);
    });
  });
}

const cluster = await startLocalCluster({ size: 3, keyAlgorithm });
const handle = connectCluster({ endpoints: cluster.endpoints, tls: cluster.tls });
try {
  const { caFile, certFile, keyFile } = cluster.tlsFiles;
  const ctlArgs = [
    `--endpoints=${cluster.endpoints.join(',')}`,
    `--cacert=${caFile}`,
    `--cert=${certFile}`,
    `--key=${keyFile}`,
    'endpoint',
    'health',
  ];
  const runners: Record<'oneShot' | 'warm' | 'etcdctl', () => Promise<number>> = {
    oneShot: async () => {
      const start = performance.now();
      const health = await checkHealth({ endpoints: cluster.endpoints, tls: cluster.tls });
      if (!health.healthy || !health.endpoints.every((e) => e.healthy)) throw new Error('one-shot check not healthy');
      return performance.now() - start;
    },
    warm: async () => {
      const start = performance.now();
      const health = await handle.checkHealth();
      if (!health.healthy || !health.endpoints.every((e) => e.healthy)) throw new Error('warm check not healthy');
      return performance.now() - start;
    },
    etcdctl: () => etcdctlHealth(ctlArgs),
  };
  const names = Object.keys(runners) as (keyof typeof runners)[];
  const times: Record<keyof typeof runners, number[]> = { oneShot: [], warm: [], etcdctl: [] };

  console.log(`node ${process.version}, etcd 3.4 x3 on loopback (mTLS, ${keyAlgorithm}), ${availableParallelism()} CPUs, load ${loadavg()[0]!.toFixed(2)}`);
  console.log(`${rounds} rounds + ${warmUp} warm-up, interleaved (order rotates per round)\n`);
  for (let round = 0; round < rounds + warmUp; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      const took = await runners[name]();
      if (round >= warmUp) times[name].push(took);
    }
  }

  const labels = {
    oneShot: 'checkHealth one-shot',
    warm: 'checkHealth warm handle',
    etcdctl: 'etcdctl endpoint health',
  };
  console.log(`${'run'.padEnd(26)}${'median'.padStart(9)}${'p90'.padStart(10)}`);
  for (const name of names) {
    console.log(`${labels[name].padEnd(26)}${ms(median(times[name]))} ${ms(p90(times[name]))}`);
  }
  const ctl = median(times.etcdctl);
  const warmRatio = ctl / median(times.warm);
  const oneShotRatio = ctl / median(times.oneShot);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  console.log('\ntarget:');
  console.log(`  etcdctl / warm handle  ${warmRatio.toFixed(1)}x (medians)   target >= 3x  ${verdict(warmRatio >= 3)}`);
  console.log(`  etcdctl / one-shot     ${oneShotRatio.toFixed(1)}x (medians)   target >= 1x  ${verdict(oneShotRatio >= 1)}`);

  // What each run asks, as the members count it: the extra work one side does shows here.
  const countRuns = 10;
  console.log(`\ngRPC calls the members served per run (mean of ${countRuns} runs):`);
  for (const name of names) {
    console.log(`  ${labels[name].padEnd(26)}${await callsPerRun(runners[name], countRuns, cluster.endpoints, cluster.tls)}`);
  }
  console.log(`end load ${loadavg()[0]!.toFixed(2)}`);
} finally {
  handle.close();
  await cluster.close();
}
