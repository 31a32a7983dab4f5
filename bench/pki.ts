/**
 * createClusterPki (3 members: CA + 3 server + 3 peer + 2 client = 9 keys) against the same set made
 * with the openssl CLI (bench/pki-openssl.sh), for RSA-2048 and ECDSA P-256. Runs are interleaved
 * (etcd-kit, openssl, etcd-kit, openssl, ...) so background load hits both alike; one warm-up pair per
 * algorithm is not counted. etcd-kit is timed in-process, both with and without writing the PKI dir
 * (openssl writes its files, so "create + write" is the like-for-like number).
 *
 *   node --import tsx bench/pki.ts [rounds]      (default 9 rounds)
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KeyAlgorithm, createClusterPki, writePkiDir } from '../src/pki/index.js';

const rounds = Number(process.argv[2] ?? 9);
const script = fileURLToPath(new URL('./pki-openssl.sh', import.meta.url));
const members = [1, 2, 3].map((i) => ({ name: `etcd0${i}`, hosts: [`10.0.0.1${i}`, `etcd0${i}.example.com`] }));

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const ms = (value: number) => `${value.toFixed(value < 100 ? 1 : 0)} ms`.padStart(10);

async function etcdKit(keyAlgorithm: KeyAlgorithm, dir: string): Promise<{ create: number; total: number }> {
  const start = performance.now();
  const pki = await createClusterPki({ members, keyAlgorithm });
  const created = performance.now();
  await writePkiDir(dir, pki);
  return { create: created - start, total: performance.now() - start };
}

function opensslCli(alg: 'rsa' | 'ec', dir: string): number {
  const start = performance.now();
  execFileSync('bash', [script, dir, alg], { stdio: ['ignore', 'ignore', 'inherit'] });
  return performance.now() - start;
}

const root = await mkdtemp(join(tmpdir(), 'etcd-kit-bench-pki-'));
const opensslVersion = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
console.log(`node ${process.version}, ${opensslVersion}, ${availableParallelism()} CPUs, load ${loadavg()[0]!.toFixed(2)}`);
console.log(`UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, ${rounds} rounds + 1 warm-up, interleaved\n`);

let run = 0;
const results: string[] = [];
for (const [keyAlgorithm, alg] of [
  ['rsa-2048', 'rsa'],
  ['ecdsa-p256', 'ec'],
] as const) {
  const create: number[] = [];
  const total: number[] = [];
  const cli: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const ours = await etcdKit(keyAlgorithm, join(root, `kit-${run}`));
    const theirs = opensslCli(alg, join(root, `cli-${run++}`));
    if (round === 0) continue; // warm-up
    create.push(ours.create);
    total.push(ours.total);
    cli.push(theirs);
  }
  const [c, t, o] = [median(create), median(total), median(cli)];
  results.push(
    `${keyAlgorithm.padEnd(11)} etcd-kit create ${ms(c)}   create+write ${ms(t)}   openssl CLI ${ms(o)}   ` +
      `ratio ${(t / o).toFixed(3)}x (create only ${(c / o).toFixed(3)}x)`,
  );
  console.log(`${keyAlgorithm}: etcd-kit create+write runs: ${total.map((v) => v.toFixed(0)).join(' ')} ms`);
  console.log(`${keyAlgorithm}: openssl CLI runs:           ${cli.map((v) => v.toFixed(0)).join(' ')} ms`);
}
console.log('\nmedians (9 keys, 9 certificates each):');
for (const line of results) console.log(line);
await rm(root, { recursive: true, force: true });
