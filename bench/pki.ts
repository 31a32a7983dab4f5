/**
 * createClusterPki (3 members: CA + 3 server + 3 peer + 2 client = 9 keys) against the same set made
 * with the openssl CLI (bench/pki-openssl.sh), for RSA-2048 and ECDSA P-256. Runs are interleaved
 * (etcd-kit, openssl, etcd-kit, openssl, ...) so background load hits both alike; one warm-up pair per
 * algorithm is not counted. etcd-kit is timed in-process, both with and without writing the PKI dir
 * (openssl writes its files, so "create + write" is the like-for-like number). CPU time is reported too:
 * it shows the work each side does, independent of how many cores it got.
 *
 *   node --import tsx bench/pki.ts [rounds]      (default 9 rounds)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KeyAlgorithm, createClusterPki, writePkiDir } from '../src/pki/index.js';

const rounds = Number(process.argv[2] ?? 9);
const script = fileURLToPath(new URL('./pki-openssl.sh', import.meta.url));
const members = [1, 2, 3].map((i) => ({ name: `etcd0${i}`, hosts: [`10.0.0.1${i}`, `etcd0${i}.example.com`] }));

interface Sample {
  /** Wall time of createClusterPki alone, ms. */
  create: number;
  /** Wall time of the whole job (create + write files), ms. */
  wall: number;
  /** CPU time (user + system, all threads / child processes), ms. */
  cpu: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (value: number) => `${value.toFixed(value < 100 ? 1 : 0)} ms`;

async function etcdKit(keyAlgorithm: KeyAlgorithm, dir: string): Promise<Sample> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const pki = await createClusterPki({ members, keyAlgorithm });
  const created = performance.now();
  await writePkiDir(dir, pki);
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { create: created - start, wall, cpu: (used.user + used.system) / 1000 };
}

function opensslCli(alg: 'rsa' | 'ec', dir: string): Sample {
  const start = performance.now();
  // bash's `time` reports the CPU of every openssl child; TIMEFORMAT prints just "user system" seconds.
  const result = spawnSync('bash', ['-c', 'TIMEFORMAT="%U %S"; time bash "$0" "$1" "$2" >/dev/null', script, dir, alg], {
    encoding: 'utf8',
  });
  const wall = performance.now() - start;
  if (result.status !== 0) throw new Error(`pki-openssl.sh failed: ${result.stderr}`);
  const [user = 0, system = 0] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { create: wall, wall, cpu: (user + system) * 1000 };
}

const root = await mkdtemp(join(tmpdir(), 'etcd-kit-bench-pki-'));
const opensslVersion = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
console.log(`node ${process.version} (OpenSSL ${process.versions.openssl}), CLI ${opensslVersion}`);
console.log(`${availableParallelism()} CPUs, load average ${loadavg()[0]!.toFixed(2)} at start`);
console.log(`UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ${rounds} rounds + 1 warm-up, interleaved\n`);

let run = 0;
const summary: string[] = [];
for (const [keyAlgorithm, alg] of [
  ['rsa-2048', 'rsa'],
  ['ecdsa-p256', 'ec'],
] as const) {
  const ours: Sample[] = [];
  const theirs: Sample[] = [];
  for (let round = 0; round <= rounds; round++) {
    const a = await etcdKit(keyAlgorithm, join(root, `kit-${run}`));
    const b = opensslCli(alg, join(root, `cli-${run++}`));
    if (round === 0) continue; // warm-up
    ours.push(a);
    theirs.push(b);
  }
  const col = (samples: Sample[], key: keyof Sample) => samples.map((s) => s[key]);
  console.log(`${keyAlgorithm}  etcd-kit wall: ${col(ours, 'wall').map((v) => v.toFixed(0)).join(' ')} ms`);
  console.log(`${keyAlgorithm}  openssl  wall: ${col(theirs, 'wall').map((v) => v.toFixed(0)).join(' ')} ms`);
  const [create, wall, cpu] = [median(col(ours, 'create')), median(col(ours, 'wall')), median(col(ours, 'cpu'))];
  const [cliWall, cliCpu] = [median(col(theirs, 'wall')), median(col(theirs, 'cpu'))];
  const paired = median(ours.map((s, i) => s.wall / theirs[i]!.wall));
  summary.push(
    `${keyAlgorithm}:`,
    `  etcd-kit  create ${fmt(create)}, create+write ${fmt(wall)} (CPU ${fmt(cpu)})`,
    `  openssl   ${fmt(cliWall)} (CPU ${fmt(cliCpu)})`,
    `  ratio     ${(wall / cliWall).toFixed(3)}x of openssl (create only ${(create / cliWall).toFixed(3)}x; ` +
      `median of per-round ratios ${paired.toFixed(3)}x; CPU ${(cpu / cliCpu).toFixed(2)}x)`,
  );
}
console.log(`\nmedians over ${rounds} rounds, load average ${loadavg()[0]!.toFixed(2)} at end:`);
for (const line of summary) console.log(line);
await rm(root, { recursive: true, force: true });
