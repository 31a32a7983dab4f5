/**
 * Deploy benchmark (issue #5 part 6) on testbed hosts (systemd-nspawn + sshd on this machine, veth links):
 *   (a)  deployEtcdCluster on 3 fresh hosts until every member is healthy, PKI dir created beforehand;
 *   (b)  the same done the recipe's way by bench/recipe-deploy.sh (ssh + one scp + ssh per host, all hosts
 *        in parallel, then `etcdctl endpoint health` polled every 0.25 s), copying the very files etcd-kit
 *        installs (same certificates, env file, unit; mTLS on), so etcd does the same work;
 *   (b') the recipe script with OpenSSH ControlMaster (one TCP/SSH session per host), for reference;
 *   (a') etcd-kit including the creation of the PKI (ecdsa-p256, rsa-2048);
 *   (c)  no-change re-run of etcd-kit on the deployed cluster (host hash cache warm), and (c0) the same right
 *        after the deploy (files younger than 2 s are re-hashed on the host);
 *   (d)  etcd-kit deploy of 5 and 7 fresh hosts.
 * "Fresh" = a newly booted testbed per measured run (same id, so same IPs and certificates), boot excluded.
 * etcd: a cached release tarball (scripts/etcd-releases.sh); ETCD_KIT_BENCH_ETCD picks it ('X.Y' or 'X.Y.Z',
 * default the newest 3.6).
 * Runs are interleaved and the order rotates per round, so background load hits all alike; one warm-up
 * (a) and (b) are not counted. Other processes share this 2-core machine, so besides wall times it prints
 * per-round (a)/(b) ratios (each pair ran back to back under the same load) and the CPU time each run cost
 * (controller + hosts' cgroups). Ends with a per-step breakdown of the median (a) and (d7) runs. Needs root.
 *
 *   node --import tsx bench/deploy.ts [--rounds 5] [--extra-rounds 3] [--scale-rounds 3] [--id 211]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareDeploy } from '../src/deploy/prepare.js';
import { type ClusterSpecInput, deployEtcdCluster, ensureClusterPki, type DeployResult, resolveClusterSpec } from '../src/index.js';
import { defaultDownloadCacheDir } from '../src/deploy/index.js';
import type { KeyAlgorithm } from '../src/pki/index.js';
import { etcdRelease } from '../test/helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../test/testbed/index.js';
import { formatTimeline, recordEvents, type TimedEvent } from './lib/deploy-timeline.js';
import { hostsCpuMs } from './lib/host-cpu.js';
import { cpuMsOf, runRecipe } from './lib/run-recipe.js';
import { writeRecipeStage } from './lib/recipe-stage.js';
import { load, median, sleep } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'extra-rounds': { type: 'string', default: '3' },
    'scale-rounds': { type: 'string', default: '3' },
    id: { type: 'string', default: '211' },
  },
});
const rounds = Number(values.rounds);
const extraRounds = Math.min(rounds, Number(values['extra-rounds']));
const scaleRounds = Number(values['scale-rounds']);
const testbedId = Number(values.id);
const NO_CHANGE_RUNS = 5;
// The host's hash cache skips files changed within the last 2 s (see src/remote/facts.ts).
const HASH_CACHE_SETTLE_MS = 2500;
const RECIPE_SCRIPT = fileURLToPath(new URL('./recipe-deploy.sh', import.meta.url));


const release = etcdRelease(process.env['ETCD_KIT_BENCH_ETCD'] ?? '3.6');
const work = await mkdtemp(join(tmpdir(), 'etcd-kit-bench-deploy-'));
const pkiDirFor = (count: number) => join(work, `pki-${count}`);
const stageDir = join(work, 'recipe-stage');
let stageHosts: string[] = [];

function specFor(tb: Testbed, count: number, pkiDir: string, keyAlgorithm?: KeyAlgorithm): ClusterSpecInput {
  return {
    members: tb.hosts.slice(0, count).map((h, i) => ({ name: `etcd0${i + 1}`, host: h.ip })),
    ssh: { privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath },
    etcd: { tarball: release.tarball },
    pki: { dir: pkiDir, ...(keyAlgorithm ? { keyAlgorithm } : {}) },
  };
}

/** Time spent booting + settling and destroying testbeds (not measured, but part of the bench's run time). */
const overhead: { what: 'boot' | 'destroy'; ms: number }[] = [];

/** A freshly booted testbed, settled (systemd `running` everywhere), destroyed after `fn`. */
async function withFreshHosts<T>(hosts: number, fn: (tb: Testbed) => Promise<T>): Promise<T> {
  let t = performance.now();
  const tb = await startTestbed({ hosts, id: testbedId });
  try {
    await Promise.all(tb.hosts.map((h) => tb.exec(h.name, 'systemctl is-system-running --wait', { allowFailure: true })));
    overhead.push({ what: 'boot', ms: performance.now() - t });
    return await fn(tb);
  } finally {
    t = performance.now();
    await tb.destroy();
    overhead.push({ what: 'destroy', ms: performance.now() - t });
  }
}

/** Creates the PKI dir for `count` members before any timed run (not timed). */
async function ensurePki(tb: Testbed, count: number): Promise<void> {
  const dir = pkiDirFor(count);
  if (!existsSync(dir)) await ensureClusterPki(resolveClusterSpec(specFor(tb, count, dir)));
}

interface KitRun {
  ms: number;
  /** CPU ms: this process plus the testbed hosts (undefined without cgroup v2 accounting). */
  cpuMs: number | undefined;
  events: TimedEvent[];
  result: DeployResult;
}

async function kitDeploy(tb: Testbed, count: number, pkiDir: string, keyAlgorithm?: KeyAlgorithm): Promise<KitRun> {
  const spec = specFor(tb, count, pkiDir, keyAlgorithm);
  const { events, onProgress } = recordEvents();
  const hostsBefore = hostsCpuMs(tb);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const result = await deployEtcdCluster(spec, { onProgress });
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpuBefore);
  const hostsAfter = hostsCpuMs(tb);
  const cpuMs = hostsBefore === undefined || hostsAfter === undefined ? undefined : (used.user + used.system) / 1000 + hostsAfter - hostsBefore;
  const allHealthy = result.health?.healthy && result.health.endpoints.every((e) => e.healthy) && result.health.endpoints.length === count;
  if (!allHealthy) throw new Error(`deploy of ${count} returned without every member healthy`);
  return { ms, cpuMs, events, result };
}

interface RecipeRun {
  ms: number;
  /** CPU ms: the script and its children (ssh, scp, etcdctl; not a daemonised ControlMaster) plus the hosts. */
  cpuMs: number | undefined;
  /** ms until every host was set up and told to start etcd (the script's own clock). */
  hostsReadyMs: number;
}

async function recipeDeploy(tb: Testbed, sshOpts = ''): Promise<RecipeRun> {
  const hostsBefore = hostsCpuMs(tb);
  const start = performance.now();
  const out = await runRecipe(RECIPE_SCRIPT, [stageDir, ...stageHosts], { SSH_KEY: tb.rootKeyPath, KNOWN_HOSTS: tb.knownHostsPath, RECIPE_SSH_OPTS: sshOpts }, { timed: true });
  const ms = performance.now() - start;
  const ready = /hosts-ready ([\d.]+)/.exec(out.stdout);
  const cpu = cpuMsOf(out);
  const hostsAfter = hostsCpuMs(tb);
  const cpuMs = cpu !== undefined && hostsBefore !== undefined && hostsAfter !== undefined ? cpu + hostsAfter - hostsBefore : undefined;
  if (out.code !== 0 || !ready) throw new Error(`recipe-deploy.sh exited ${out.code}: ${out.stderr}`);
  return { ms, cpuMs, hostsReadyMs: Number(ready[1]) * 1000 };
}

async function recipeWithControlMaster(tb: Testbed): Promise<RecipeRun> {
  const cmDir = await mkdtemp(join(work, 'cm-'));
  const opts = `-o ControlMaster=auto -o ControlPath=${cmDir}/%C -o ControlPersist=60`;
  try {
    return await recipeDeploy(tb, opts);
  } finally {
    for (const ip of stageHosts) {
      try {
        execFileSync('ssh', ['-o', `ControlPath=${cmDir}/%C`, '-O', 'exit', `root@${ip}`], { stdio: 'ignore' });
      } catch {
        // Master already gone.
      }
    }
  }
}

const samples: Record<string, number[]> = {};
const add = (key: string, ms: number | undefined) => {
  if (ms !== undefined) samples[key] = [...(samples[key] ?? []), ms];
};
const kitRuns: KitRun[] = [];
const noChangeRuns: KitRun[] = [];
const d7Runs: KitRun[] = [];

const etcdVersion = `${release.version} (${release.source})`;
const sshVersion = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim() || 'OpenSSH';
console.log(`etcd-kit deploy benchmark — node ${process.version}, ${availableParallelism()} cores, load ${load()} (start)`);
console.log(`testbed ${testbedId}: systemd-nspawn Debian 12 hosts on veth, fresh per measured run (boot excluded); etcd ${etcdVersion}`);

const wallStart = performance.now();
try {
  // Warm-up (not counted): PKI dir and recipe stage for 3 members, page cache, the binaries memo.
  await withFreshHosts(3, async (tb) => {
    await ensurePki(tb, 3);
    const prepared = await prepareDeploy(resolveClusterSpec(specFor(tb, 3, pkiDirFor(3))), {}, false);
    stageHosts = await writeRecipeStage(stageDir, prepared);
    const sizes = prepared.binaries.files.map((f) => `${f.name} ${(f.data.length / 1e6).toFixed(1)} MB`).join(' + ');
    console.log(`binaries per host: ${sizes}; PKI (${prepared.spec.pki.keyAlgorithm}, spec default) created once before the rounds`);
    await kitDeploy(tb, 3, pkiDirFor(3));
  });
  await withFreshHosts(3, (tb) => recipeDeploy(tb));
  console.log(`recipe script: ${sshVersion.split(',')[0]}, BatchMode, 3 connections per host, health poll every 0.25 s\n`);

  for (let round = 0; round < rounds; round++) {
    const lastRound = round === rounds - 1;
    const jobs: [string, () => Promise<void>][] = [
      [
        'a',
        () =>
          withFreshHosts(3, async (tb) => {
            const run = await kitDeploy(tb, 3, pkiDirFor(3));
            add('a', run.ms);
            add('a-cpu', run.cpuMs);
            add('a-ready', run.events.find((e) => e.step === 'wait-healthy')!.at);
            kitRuns.push(run);
            if (!lastRound) return;
            // (c) on this cluster: once right away, then with the host hash cache warm.
            const spec = specFor(tb, 3, pkiDirFor(3));
            const noChange = async (key: string) => {
              const { events, onProgress } = recordEvents();
              const start = performance.now();
              const result = await deployEtcdCluster(spec, { onProgress });
              if (result.changed) throw new Error('no-change re-run reported changes');
              const ms = performance.now() - start;
              add(key, ms);
              if (key === 'c') noChangeRuns.push({ ms, cpuMs: undefined, events, result });
            };
            await noChange('c0');
            await sleep(HASH_CACHE_SETTLE_MS);
            for (let i = 0; i < NO_CHANGE_RUNS; i++) await noChange('c');
          }),
      ],
      [
        'b',
        () =>
          withFreshHosts(3, async (tb) => {
            const run = await recipeDeploy(tb);
            add('b', run.ms);
            add('b-cpu', run.cpuMs);
            add('b-ready', run.hostsReadyMs);
          }),
      ],
    ];
    if (round < extraRounds) {
      jobs.push(
        ['bcm', () => withFreshHosts(3, async (tb) => add('bcm', (await recipeWithControlMaster(tb)).ms))],
        ...(['ecdsa-p256', 'rsa-2048'] as const).map((alg): [string, () => Promise<void>] => [
          `a-${alg}`,
          () =>
            withFreshHosts(3, async (tb) => {
              const dir = join(await mkdtemp(join(work, `fresh-pki-${alg}-`)), 'pki');
              add(`a-${alg}`, (await kitDeploy(tb, 3, dir, alg)).ms);
            }),
        ]),
      );
    }
    for (let i = 0; i < jobs.length; i++) await jobs[(round + i) % jobs.length]![1]();
    process.stderr.write(`round ${round + 1}/${rounds} done, ${((performance.now() - wallStart) / 1000).toFixed(0)} s\n`);
  }

  for (let round = 0; round < scaleRounds; round++) {
    const sizes = round % 2 === 0 ? [5, 7] : [7, 5];
    for (const n of sizes) {
      await withFreshHosts(n, async (tb) => {
        await ensurePki(tb, n);
        const run = await kitDeploy(tb, n, pkiDirFor(n));
        add(`d${n}`, run.ms);
        add(`d${n}-cpu`, run.cpuMs);
        if (n === 7) d7Runs.push(run);
      });
    }
  }

  // What a new process (the CLI) pays instead of the in-process binaries memo: read + hash the disk cache.
  const tarSha = createHash('sha256').update(await readFile(release.tarball)).digest('hex');
  const cacheDir = join(defaultDownloadCacheDir(), '..', 'binaries', tarSha);
  let diskCacheMs: number | undefined;
  if (existsSync(join(cacheDir, 'etcd'))) {
    const start = performance.now();
    for (const name of ['etcd', 'etcdctl', 'etcdutl']) {
      if (existsSync(join(cacheDir, name))) createHash('sha256').update(await readFile(join(cacheDir, name))).digest('hex');
    }
    diskCacheMs = performance.now() - start;
  }

  const labels: [key: string, short: string, label: string][] = [
    ['a', '(a)', '(a)  etcd-kit deploy, 3 fresh hosts'],
    ['b', '(b)', '(b)  recipe script (ssh/scp), 3 hosts'],
    ['bcm', "(b')", "(b') recipe script + ControlMaster"],
    ['a-ecdsa-p256', "(a'e)", "(a') etcd-kit + PKI creation, ecdsa-p256"],
    ['a-rsa-2048', "(a'r)", "(a') etcd-kit + PKI creation, rsa-2048"],
    ['c', '(c)', '(c)  no-change re-run (hash cache warm)'],
    ['c0', '(c0)', '(c0) no-change re-run right after deploy'],
    ['d5', '(d5)', '(d5) etcd-kit deploy, 5 fresh hosts'],
    ['d7', '(d7)', '(d7) etcd-kit deploy, 7 fresh hosts'],
  ];
  const row = (label: string, v: number[]) =>
    `${label.padEnd(42)}${median(v).toFixed(0).padStart(7)}${Math.min(...v).toFixed(0).padStart(7)}${Math.max(...v).toFixed(0).padStart(7)}${String(v.length).padStart(4)}`;
  console.log(`${'ms'.padEnd(42)}${'median'.padStart(7)}${'min'.padStart(7)}${'max'.padStart(7)}${'n'.padStart(4)}`);
  for (const [key, , label] of labels) if (samples[key]) console.log(row(label, samples[key]));
  console.log('\nsamples in run order (ms):');
  for (const [key, short] of labels) if (samples[key]) console.log(`  ${short.padEnd(6)} ${samples[key].map((v) => v.toFixed(0)).join(' ')}`);

  const m = (k: string) => median(samples[k] ?? [Number.NaN]);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const ab = m('a') / m('b');
  const d7a = m('d7') / m('a');
  console.log('\ntargets:');
  console.log(`  (a)/(b)   ${ab.toFixed(2)}x        target <= 0.70x   ${verdict(ab <= 0.7)}`);
  console.log(`  (c)       ${m('c').toFixed(0)} ms       target <= 1000 ms  ${verdict(m('c') <= 1000)}`);
  console.log(`  (d7)/(a)  ${d7a.toFixed(2)}x        target <= 1.30x   ${verdict(d7a <= 1.3)}`);
  const paired = (samples['a'] ?? []).map((a, i) => a / (samples['b']?.[i] ?? Number.NaN));
  console.log(`  info: (a)/(b) per round, same load: ${paired.map((r) => r.toFixed(2)).join(' ')} -> median ${median(paired).toFixed(2)}x`);
  console.log(`  info: (d5)/(a) ${(m('d5') / m('a')).toFixed(2)}x`);
  if (samples['a-cpu'] && samples['b-cpu']) {
    const cpu = (k: string) => `${(m(k) / 1000).toFixed(2)} s`;
    console.log(
      `  info: CPU per run, controller + hosts (median): (a) ${cpu('a-cpu')}, (b) ${cpu('b-cpu')}, (d5) ${cpu('d5-cpu')}, (d7) ${cpu('d7-cpu')};` +
        ` (a)/(b) ${(m('a-cpu') / m('b-cpu')).toFixed(2)}x, (d7)/(a) ${(m('d7-cpu') / m('a-cpu')).toFixed(2)}x — the hosts share this machine's ${availableParallelism()} cores`,
    );
  }
  if (samples['d7-cpu'] && samples['a']) {
    // On this machine the controller and every host share the same cores: CPU seconds / cores is a floor
    // on wall time, whatever the scheduling.
    const floor = m('d7-cpu') / availableParallelism();
    console.log(
      `  info: (d7) costs ${(m('d7-cpu') / 1000).toFixed(2)} s of CPU here: on ${availableParallelism()} shared cores no schedule finishes it in under ${(floor / 1000).toFixed(2)} s = ${(floor / m('a')).toFixed(2)}x (a)`,
    );
  }
  if (samples['bcm']) console.log(`  info: (b')/(b) ${(m('bcm') / m('b')).toFixed(2)}x, (a)/(b') ${(m('a') / m('bcm')).toFixed(2)}x`);
  console.log(
    `  info: until every host is set up and etcd started: (a) ${m('a-ready').toFixed(0)} ms, (b) ${m('b-ready').toFixed(0)} ms;` +
      ` then until healthy: (a) ${(m('a') - m('a-ready')).toFixed(0)} ms (incl. finalize), (b) ${(m('b') - m('b-ready')).toFixed(0)} ms`,
  );
  if (diskCacheMs !== undefined) {
    console.log(`  info: (a) reuses the in-process binaries memo; a new process (CLI) reads + hashes the disk cache instead: ${diskCacheMs.toFixed(0)} ms`);
  }

  for (const [label, runs] of [['(a)', kitRuns], ['(c)', noChangeRuns], ['(d7)', d7Runs]] as const) {
    if (runs.length === 0) continue;
    const mid = [...runs].sort((x, y) => x.ms - y.ms)[(runs.length - 1) >> 1]!;
    console.log(`\nper-step breakdown of the median ${label} run (${mid.ms.toFixed(0)} ms):`);
    console.log(formatTimeline(mid.events, mid.ms));
  }
  const sum = (what: string) => overhead.filter((o) => o.what === what).reduce((acc, o) => acc + o.ms, 0) / 1000;
  const worst = Math.max(...overhead.map((o) => o.ms)) / 1000;
  console.log(`\nload ${load()} (end), total ${((performance.now() - wallStart) / 1000).toFixed(0)} s, of which testbed boot ${sum('boot').toFixed(0)} s + destroy ${sum('destroy').toFixed(0)} s (slowest ${worst.toFixed(1)} s)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
