/**
 * Health check of a healthy local 3-member mTLS cluster (etcd 3.4, started by the test helper from
 * etcd-kit's own PKI and env files), three ways, interleaved in the same loop so background load hits all
 * alike (the order rotates every round; warm-up rounds are not counted):
 *   - one-shot `checkHealth` (new connections to all 3 endpoints, TLS handshakes, close);
 *   - `checkHealth` through a warm `connectCluster` handle (connections reused);
 *   - the `etcdctl endpoint health` process over the same 3 endpoints and admin certificate.
 * etcd-kit's check does more per endpoint than etcdctl (linearizable read + status + member list, plus
 * the alarm list once); etcdctl does a linearizable read per endpoint plus an alarm list per endpoint.
 *
 *   node --import tsx bench/health.ts [rounds] [keyAlgorithm]     (default 30 rounds, the PKI default: ecdsa-p256)
 */
import { execFile } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { checkHealth, connectCluster } from '../src/etcd/index.js';
import { isKeyAlgorithm, type KeyAlgorithm, PKI_DEFAULTS } from '../src/pki/index.js';
import { ETCDCTL_BIN, startLocalCluster } from '../test/helpers/local-cluster.js';

const rounds = Number(process.argv[2] ?? 30);
const keyAlgorithm = (process.argv[3] ?? PKI_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
if (!isKeyAlgorithm(keyAlgorithm)) throw new Error(`unknown key algorithm ${keyAlgorithm}`);
const warmUp = 3;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const p90 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.9)]!;
const ms = (value: number): string => `${value.toFixed(1)} ms`.padStart(9);

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
  console.log(`\netcdctl / warm handle : ${warmRatio.toFixed(1)}x  (target >= 3x: ${warmRatio >= 3 ? 'met' : 'NOT met'})`);
  console.log(`etcdctl / one-shot    : ${oneShotRatio.toFixed(1)}x  (target >= 1x: ${oneShotRatio >= 1 ? 'met' : 'NOT met'})`);
  console.log(`end load ${loadavg()[0]!.toFixed(2)}`);
} finally {
  handle.close();
  await cluster.close();
}
