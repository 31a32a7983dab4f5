/**
 * Restore benchmark (issue "Disaster recovery", part 6): a 3-member cluster rebuilt from a ~100 MB
 * snapshot on testbed hosts (systemd-nspawn + sshd on this machine, veth links), etcd the newest cached 3.6:
 *   (a) etcd-kit: restoreEtcdCluster(spec, { snapshot, replaceRunning: true }) over the running cluster;
 *   (b) recipe: bench/recipe-restore.sh, etcd's documented procedure (etcd.io/docs/v3.6/op-guide/recovery/)
 *       scripted with plain ssh/scp, every host concurrently in each phase: scp the snapshot to every host;
 *       per host one ssh: `systemctl stop etcd`, `etcdutl snapshot restore` into a new dir (--name,
 *       --initial-cluster, a new --initial-cluster-token, --initial-advertise-peer-urls), old data dir moved
 *       aside, the new one into place, chown etcd:etcd; `systemctl start --no-block etcd` everywhere; poll
 *       `etcdctl endpoint health --cluster` (mTLS, admin cert, every 0.25 s) until every member answers;
 *   (b') with --tuned: the same script knowing two etcd behaviours the procedure does not mention
 *       (LEADER_LAST=1: followers stopped before the leader; NO_FIRST_CHECK=1: the first start without the
 *       InitialCorruptCheck feature gate etcd-kit renders, via a drop-in in /run removed once healthy; see
 *       the script's header), for reference: what etcd-kit could get to.
 * Every run gets a freshly booted testbed (same id: same IPs, so one PKI dir serves every run) with etcd
 * deployed by etcd-kit, then — untimed — the key space filled to ~100 MB (--keys x --value-kb random
 * values, 8 puts in flight, bench/lib/restore-keyspace.ts; the db size is read from the endpoint status),
 * a snapshot saved with saveSnapshot (its revision read back with the release's `etcdutl snapshot status`),
 * and the "disaster": 100 of the snapshot's keys deleted and 50 new ones written. The restore then runs
 * over that running cluster. Measured: wall time of the call / the script until every member is healthy,
 * and its phases: (b) copy (scp to all), stop (until etcd is down on the last host), restore (etcdutl and
 * the swap, slowest host), start -> healthy; (a) the same cut from its timestamped onProgress events:
 * before the stop (snapshot read + checked, connect, inspect, files, snapshot upload), stop, restore,
 * start -> healthy (until the call returns). "Down" = from the first stop until healthy. After each run
 * every endpoint must hold the snapshot's keys (count, none of the later ones, 5 values byte for byte) at
 * the snapshot's revision, else the bench fails.
 * Rounds rotate the order ((a)(b), (b)(a), ...; with (b'): (a)(b)(b'), (b)(b')(a), ...) so background load
 * hits all alike; the binaries memo of the tarball is filled before the rounds; no warm-up run. It prints
 * per-round numbers and (a)/(b) ratios (back to back, same load), medians, the CPU a run cost (controller
 * + hosts' cgroups), and where etcd-kit's time goes (stages of every (a) run, and the events of the median
 * one). Other processes share this 2-core machine: wall times are noisy, the per-round ratios less so; the
 * recipe's own times swing with two etcd races (see recipe-restore.sh). One round takes ~45 s
 * (default 5 rounds: 4-6 min; --tuned adds ~15 s a round). Needs root.
 *
 *   node --import tsx bench/restore.ts [--rounds 5] [--id 213] [--keys 1000] [--value-kb 100] [--tuned]
 *        [--only ab|a|b] [--kit-module <path to a module exporting restoreEtcdCluster>]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareTarballCached } from '../src/deploy/binaries-cache.js';
import { binariesCacheDir } from '../src/deploy/prepare.js';
import * as kit from '../src/index.js';
import {
  type ClusterHealth,
  type ClusterSpecInput,
  connectCluster,
  type DeployProgressEvent,
  deployEtcdCluster,
  type EtcdTlsOptions,
  readPkiDir,
  saveSnapshot,
} from '../src/index.js';
import { pkiPaths } from '../src/pki/index.js';
import { etcdRelease } from '../test/helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../test/testbed/index.js';
import { formatTimeline, recordEvents, type TimedEvent } from './lib/deploy-timeline.js';
import { hostsCpuMs } from './lib/host-cpu.js';
import { cpuMsOf, runRecipe } from './lib/run-recipe.js';
import { currentRevision, damageKeyspace, fillKeyspace, type Keyspace, verifyKeyspace } from './lib/restore-keyspace.js';
import { load, median, s } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    id: { type: 'string', default: '213' },
    keys: { type: 'string', default: '1000' },
    'value-kb': { type: 'string', default: '100' },
    only: { type: 'string', default: 'ab' },
    tuned: { type: 'boolean', default: false },
    'kit-module': { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const testbedId = Number(values.id);
const keyCount = Number(values.keys);
const valueBytes = Number(values['value-kb']) * 1000;
if (!['ab', 'a', 'b'].includes(values.only)) throw new Error(`--only must be ab, a or b, got ${values.only}`);
const RECIPE_SCRIPT = fileURLToPath(new URL('./recipe-restore.sh', import.meta.url));
const PREFIX = '/bench-restore/';
const TARGET = 0.8;

/** restoreEtcdCluster as src/index.ts will export it (typed here so the bench compiles before it lands). */
type RestoreFn = (
  spec: ClusterSpecInput,
  options: {
    snapshot: string;
    replaceRunning?: boolean;
    bumpRevision?: number;
    markCompacted?: boolean;
    onProgress?: (e: DeployProgressEvent) => void;
    signal?: AbortSignal;
    healthTimeoutMs?: number;
  },
) => Promise<{
  clusterId: string;
  revision: string;
  members: { name: string; host: string; memberId: string; movedAside?: string }[];
  health: ClusterHealth;
  durationMs: number;
  snapshot: { path: string; sha256: string; bytes: number };
}>;

async function findRestore(): Promise<{ fn: RestoreFn | undefined; from: string }> {
  const path = values['kit-module'];
  const mod: Record<string, unknown> = path
    ? await import(pathToFileURL(isAbsolute(path) ? path : resolve(path)).href)
    : (kit as unknown as Record<string, unknown>);
  const fn = mod['restoreEtcdCluster'];
  return { fn: typeof fn === 'function' ? (fn as RestoreFn) : undefined, from: path ?? 'src/index.ts' };
}

const release = etcdRelease('3.6');
if (!release.etcdutl) throw new Error(`etcd ${release.version} has no etcdutl`);
const etcdutl = release.etcdutl;
const work = await mkdtemp(join(tmpdir(), 'etcd-kit-bench-restore-'));
const pkiDir = join(work, 'pki');
const adminDir = join(work, 'admin');
const snapshotPath = join(work, 'snapshot.db');

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function specFor(tb: Testbed): ClusterSpecInput {
  return {
    members: tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, host: h.ip })),
    ssh: { privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath },
    etcd: { tarball: release.tarball },
    pki: { dir: pkiDir },
  };
}

/** The running cluster a run restores over, and the snapshot to restore. */
interface Cluster {
  tb: Testbed;
  endpoints: string[];
  tls: EtcdTlsOptions;
  names: string[];
  keyspace: Keyspace;
  snapshot: { bytes: number; sha256: string; revision: string; totalKeys: number };
  /** db size each member reported after the fill, bytes. */
  dbSizes: number[];
  /** Revision after the damage (what the restore rolls back from). */
  revisionBefore: string;
  /** Leader's name before the restore. */
  leader: string;
}

/** Untimed time outside the measured runs. */
const overhead = { boot: 0, deploy: 0, fill: 0, snapshot: 0, verify: 0, destroy: 0 };

function snapshotStatus(path: string): { revision: string; totalKey: number } {
  const out = execFileSync(etcdutl, ['snapshot', 'status', path, '-w', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const j = JSON.parse(out) as { revision: number; totalKey: number };
  return { revision: String(j.revision), totalKey: j.totalKey };
}

/** A fresh testbed, etcd deployed, filled, snapshotted and damaged (see the header); destroyed after `fn`. */
async function withCluster<T>(fn: (c: Cluster) => Promise<T>): Promise<T> {
  let t = performance.now();
  const tb = await startTestbed({ hosts: 3, id: testbedId });
  try {
    await Promise.all(tb.hosts.map((h) => tb.exec(h.name, 'systemctl is-system-running --wait', { allowFailure: true })));
    overhead.boot += performance.now() - t;
    t = performance.now();
    const deployed = await deployEtcdCluster(specFor(tb));
    const pki = await readPkiDir(pkiDir);
    const admin = pki.clients['admin']!;
    const tls: EtcdTlsOptions = { caPem: pki.ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };
    const endpoints = deployed.endpoints;
    overhead.deploy += performance.now() - t;
    t = performance.now();
    const keyspace = await fillKeyspace(endpoints, tls, { prefix: PREFIX, count: keyCount, valueBytes });
    const handle = connectCluster({ endpoints, tls });
    let health: ClusterHealth;
    try {
      health = await handle.waitForHealthy({ timeoutMs: 30_000, mustAnswer: 'all' });
    } finally {
      handle.close();
    }
    const dbSizes = health.endpoints.map((e) => e.status?.dbSizeBytes ?? 0);
    overhead.fill += performance.now() - t;
    t = performance.now();
    await rm(snapshotPath, { force: true });
    const saved = await saveSnapshot({ endpoints, tls, path: snapshotPath });
    const status = snapshotStatus(snapshotPath);
    if (saved.revision !== undefined && saved.revision !== status.revision) throw new Error(`saveSnapshot says revision ${saved.revision}, etcdutl ${status.revision}`);
    overhead.snapshot += performance.now() - t;
    await damageKeyspace(endpoints, tls, keyspace);
    const revisionBefore = await currentRevision(endpoints, tls);
    return await fn({
      tb,
      endpoints,
      tls,
      names: tb.hosts.map((_, i) => `etcd0${i + 1}`),
      keyspace,
      snapshot: { bytes: saved.bytes, sha256: saved.sha256, revision: status.revision, totalKeys: status.totalKey },
      dbSizes,
      revisionBefore,
      leader: health.leader?.name ?? '?',
    });
  } finally {
    t = performance.now();
    await tb.destroy();
    overhead.destroy += performance.now() - t;
  }
}

/** Every endpoint holds the snapshot's key space at its revision (throws otherwise); untimed. */
async function verify(c: Cluster): Promise<string> {
  const t = performance.now();
  const handle = connectCluster({ endpoints: c.endpoints, tls: c.tls });
  try {
    await handle.waitForHealthy({ timeoutMs: 30_000, mustAnswer: 'all' });
  } finally {
    handle.close();
  }
  const revision = await verifyKeyspace(c.endpoints, c.tls, c.keyspace, c.snapshot.revision);
  overhead.verify += performance.now() - t;
  return revision;
}

/** The phases of a run, ms, in order; their sum is the total. */
type Phases = [pre: number, stop: number, restore: number, start: number];

type Kind = 'a' | 'b' | 'c';
/** (b') is kind 'c'. */
const label = (k: Kind) => (k === 'c' ? "(b')" : `(${k})`);

interface Run {
  kind: Kind;
  round: number;
  ms: number;
  phases: Phases;
  /** From the first stop until every member is healthy, ms. */
  downMs: number;
  cpuMs: number | undefined;
  revision: string;
  leader: string;
  snapshotBytes: number;
  dbBytes: number;
  /** (b): per host, stop and restore ms. */
  hosts?: { name: string; stopMs: number; restoreMs: number }[];
  /** (a): events and the result's revision. */
  events?: TimedEvent[];
}

// ----- (a) etcd-kit ---------------------------------------------------------------------------------------

/** Cuts etcd-kit's events into the phases of {@link Phases} (see the header). */
function kitPhases(events: TimedEvent[], totalMs: number): Phases {
  const at = (i: number, fallback: number) => (i === -1 ? fallback : events[i]!.at);
  // The step as a string: 'restore' joins DeployStep with restoreEtcdCluster.
  const is = (e: TimedEvent, step: string) => (e.step as string) === step;
  const stop = events.findIndex((e) => is(e, 'restore') && e.member === undefined && /stop/i.test(e.message ?? ''));
  const firstRestore = events.findIndex((e) => is(e, 'restore'));
  const iStop = stop === -1 ? firstRestore : stop;
  const restoring = events.findIndex((e, i) => i > iStop && is(e, 'restore') && /restor/i.test(e.message ?? ''));
  const start = events.findIndex((e, i) => i > Math.max(iStop, restoring) && is(e, 'start'));
  const tStop = at(iStop, totalMs);
  const tRestore = Math.max(tStop, at(restoring, tStop));
  const tStart = Math.max(tRestore, at(start, totalMs));
  return [tStop, tRestore - tStop, tStart - tRestore, totalMs - tStart];
}

async function runKit(round: number, restore: RestoreFn): Promise<Run> {
  return withCluster(async (c) => {
    const rec = recordEvents();
    const hostsBefore = hostsCpuMs(c.tb);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const result = await restore(specFor(c.tb), { snapshot: snapshotPath, replaceRunning: true, onProgress: rec.onProgress });
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpuBefore);
    const hostsAfter = hostsCpuMs(c.tb);
    if (result.revision !== c.snapshot.revision) throw new Error(`restoreEtcdCluster says revision ${result.revision}, the snapshot's is ${c.snapshot.revision}`);
    if (!result.health.endpoints.every((e) => e.healthy) || result.health.endpoints.length !== 3) throw new Error('restoreEtcdCluster returned without every member healthy');
    if (result.snapshot.sha256 !== c.snapshot.sha256) throw new Error('restoreEtcdCluster reports another snapshot SHA-256 than saveSnapshot');
    const revision = await verify(c);
    const phases = kitPhases(rec.events, ms);
    return {
      kind: 'a',
      round,
      ms,
      phases,
      downMs: ms - phases[0],
      cpuMs: hostsBefore === undefined || hostsAfter === undefined ? undefined : (used.user + used.system) / 1000 + hostsAfter - hostsBefore,
      revision,
      leader: c.leader,
      snapshotBytes: c.snapshot.bytes,
      dbBytes: Math.max(...c.dbSizes),
      events: rec.events,
    };
  });
}

// ----- (b) recipe -----------------------------------------------------------------------------------------

function recipeRun(round: number, tuned: boolean): Promise<Run> {
  return withCluster(async (c) => {
    const hostsBefore = hostsCpuMs(c.tb);
    const start = performance.now();
    const args = [snapshotPath, adminDir, ...c.tb.hosts.map((h, i) => `${c.names[i]}=${h.ip}`)];
    const env = { SSH_KEY: c.tb.rootKeyPath, KNOWN_HOSTS: c.tb.knownHostsPath, ETCDCTL: release.etcdctl, LEADER_LAST: tuned ? '1' : '', NO_FIRST_CHECK: tuned ? '1' : '' };
    const out = await runRecipe(RECIPE_SCRIPT, args, env, { timed: true });
    if (out.code !== 0) throw new Error(`recipe-restore.sh exited ${out.code}:\n${out.stderr.slice(-4000)}${out.stdout}`);
    const ms = performance.now() - start;
    const hostsAfter = hostsCpuMs(c.tb);
    const p = /^phases start ([\d.]+) copied ([\d.]+) restored ([\d.]+) healthy ([\d.]+) end ([\d.]+)$/m.exec(out.stdout);
    const hosts = [...out.stdout.matchAll(/^host (\S+) (\S+) copied ([\d.]+) stopped ([\d.]+) restored ([\d.]+)$/gm)];
    const cpu = cpuMsOf(out);
    if (!p || hosts.length !== 3) throw new Error(`recipe-restore.sh printed no phases:\n${out.stdout}`);
    const [t0, copied, restored, healthy, end] = [p[1], p[2], p[3], p[4], p[5]].map((x) => Number(x) * 1000) as [number, number, number, number, number];
    const revision = await verify(c);
    const scriptMs = end - t0;
    // The script's own clock from its start; the spawn and exit (~10 ms) go to the first phase.
    const pre = copied - t0 + (ms - scriptMs);
    const allStopped = Math.max(...hosts.map((h) => Number(h[4]) * 1000));
    return {
      kind: tuned ? 'c' : 'b',
      round,
      ms,
      phases: [pre, allStopped - copied, restored - allStopped, end - restored],
      downMs: healthy - copied,
      cpuMs: cpu !== undefined && hostsBefore !== undefined && hostsAfter !== undefined ? cpu + hostsAfter - hostsBefore : undefined,
      revision,
      leader: c.leader,
      snapshotBytes: c.snapshot.bytes,
      dbBytes: Math.max(...c.dbSizes),
      hosts: hosts.map((h) => ({ name: h[1]!, stopMs: Number(h[4]) * 1000 - copied, restoreMs: (Number(h[5]) - Number(h[4])) * 1000 })),
    };
  });
}

// ----- where etcd-kit's time goes -------------------------------------------------------------------------

/**
 * etcd-kit's run cut at the first event of each stage (see restoreAll in src/deploy/restore.ts): the time
 * from one boundary to the next is that stage's. A boundary that is not found takes the previous one's
 * time (its stage shows 0), so a change in the events shows up as zeros, not as wrong numbers elsewhere.
 */
const KIT_STAGES: { label: string; starts: (e: TimedEvent) => boolean }[] = [
  { label: 'read + check the snapshot file (validate)', starts: () => true },
  { label: 'binaries memo, PKI dir', starts: (e) => e.step === 'binaries' },
  { label: 'connect (3 SSH sessions)', starts: (e) => e.step === 'connect' },
  // No events between the inspect and the stop: the observe, the file install and the snapshot upload
  // (all hosts at once, before the stop) are one stage here.
  { label: 'inspect, observe, install files, upload snapshot', starts: (e) => e.step === 'inspect' },
  { label: 'stop etcd on every member', starts: (e) => (e.step as string) === 'restore' && e.member === undefined && /stop/i.test(e.message ?? '') },
  { label: 'sha256sum, etcdutl, swap on every member', starts: (e) => (e.step as string) === 'restore' && /restoring/i.test(e.message ?? '') },
  { label: 'start every member', starts: (e) => e.step === 'start' },
  { label: 'wait until healthy', starts: (e) => e.step === 'wait-healthy' },
  { label: 'read cluster identity, close', starts: (e) => e.step === 'done' },
];

function kitStages(events: TimedEvent[], totalMs: number): number[] {
  const at: number[] = [];
  for (const stage of KIT_STAGES) {
    const previous = at.at(-1) ?? 0;
    const e = events.find((x) => x.at >= previous && stage.starts(x));
    at.push(at.length === 0 ? 0 : (e?.at ?? previous));
  }
  return at.map((t, i) => (i + 1 < at.length ? at[i + 1]! : totalMs) - t);
}

/** Per member: from its "restoring" event to its "moved aside" one (hash check, etcdutl, swap), ms. */
function memberRestoreMs(events: TimedEvent[]): Map<string, number> {
  const spans = new Map<string, number>();
  for (const e of events) {
    if ((e.step as string) !== 'restore' || e.member === undefined) continue;
    if (/restoring/i.test(e.message ?? '')) spans.set(e.member, -e.at);
    else if (/moved aside/i.test(e.message ?? '') && (spans.get(e.member) ?? 0) < 0) spans.set(e.member, e.at + spans.get(e.member)!);
  }
  return spans;
}

// ----- main -----------------------------------------------------------------------------------------------

const { fn: restoreFn, from: restoreFrom } = await findRestore();
const kinds: Kind[] = [...(values.only.includes('a') ? (['a'] as const) : []), ...(values.only.includes('b') ? (['b'] as const) : []), ...(values.tuned ? (['c'] as const) : [])];
if (kinds.includes('a') && !restoreFn) {
  console.log(`restoreEtcdCluster is not exported by ${restoreFrom} yet: measuring the recipe only (run again once it lands, or pass --kit-module).\n`);
}
const measure = kinds.filter((k) => k !== 'a' || restoreFn !== undefined);
if (measure.length === 0) throw new Error('nothing to measure');

console.log(`etcd-kit restore benchmark — node ${process.version}, ${availableParallelism()} cores, load ${load()} (start)`);
console.log(`testbed ${testbedId}: 3 systemd-nspawn Debian 12 hosts on veth, fresh per run; etcd ${release.version} (${release.source}); restoreEtcdCluster from ${restoreFrom}`);
console.log(
  `key space: ${keyCount} keys x ${valueBytes / 1000} kB random values, snapshot saved per run, then 100 keys deleted + 50 added; restore over the running cluster; rounds: ${rounds}, order ${measure.map(label).join('')} rotated each round; boot, deploy, fill, snapshot, verify untimed\n`,
);

const runs: Run[] = [];
const wallStart = performance.now();
try {
  await prepareTarballCached(release.tarball, binariesCacheDir({}));
  await mkdir(adminDir, { recursive: true });
  const paths = pkiPaths(pkiDir);
  await symlink(paths.caCert, join(adminDir, 'ca.crt'));
  await symlink(paths.client('admin').cert, join(adminDir, 'admin.crt'));
  await symlink(paths.client('admin').key, join(adminDir, 'admin.key'));

  for (let round = 1; round <= rounds; round++) {
    const shift = (round - 1) % measure.length;
    const order = [...measure.slice(shift), ...measure.slice(0, shift)];
    for (const kind of order) {
      const run = kind === 'a' ? await runKit(round, restoreFn!) : await recipeRun(round, kind === 'c');
      runs.push(run);
      process.stderr.write(
        `round ${round}/${rounds} ${label(kind)} ${s(run.ms)} s [${run.phases.map((p) => s(p)).join(' / ')}] down ${s(run.downMs)} s, rev ${run.revision} — ${((performance.now() - wallStart) / 1000).toFixed(0)} s so far\n`,
      );
    }
  }

  const A = runs.filter((r) => r.kind === 'a');
  const B = runs.filter((r) => r.kind === 'b');
  const C = runs.filter((r) => r.kind === 'c');
  const cols = (cells: string[], widths: number[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('');
  const widths = [8, 5, 9, 10, 8, 11, 11, 8, 8, 9, 9, 10];
  const head = ['round', 'run', 'total s', 'pre/copy', 'stop', 'restore', 'start->ok', 'down s', 'cpu s', 'snap MB', 'db MB', 'revision'];
  const row = (label: string, kind: string, r: { ms: number; phases: number[]; downMs: number; cpuMs: number | undefined; snapshotBytes: number; dbBytes: number; revision: string }) =>
    cols([label, kind, s(r.ms, 2), ...r.phases.map((p) => s(p, 2)), s(r.downMs, 2), s(r.cpuMs), mb(r.snapshotBytes), mb(r.dbBytes), r.revision], widths);
  console.log('per run, s. (a) pre = before the stop (snapshot read + checked, connect, inspect, files, snapshot upload), stop = until the first member restores,');
  console.log('restore = hash check + etcdutl + data dir swap, start->ok = start until the call returns. (b) pre/copy = scp to all hosts, stop = until');
  console.log('etcd is down on the last host, restore = then until the last host restored (etcdutl, swap), start->ok = start --no-block + health');
  console.log("poll (for (b'): and the drop-in removed again). down = first stop -> healthy.");
  console.log(cols(head, widths));
  for (const r of runs) console.log(row(String(r.round), label(r.kind), r));
  const med = (rs: Run[]) => ({
    ms: median(rs.map((r) => r.ms)),
    phases: [0, 1, 2, 3].map((i) => median(rs.map((r) => r.phases[i]!))),
    downMs: median(rs.map((r) => r.downMs)),
    cpuMs: rs.some((r) => r.cpuMs === undefined) ? undefined : median(rs.map((r) => r.cpuMs!)),
    snapshotBytes: median(rs.map((r) => r.snapshotBytes)),
    dbBytes: median(rs.map((r) => r.dbBytes)),
    revision: [...new Set(rs.map((r) => r.revision))].join(','),
  });
  if (A.length > 0) console.log(row('median', '(a)', med(A)));
  if (B.length > 0) console.log(row('median', '(b)', med(B)));
  if (C.length > 0) console.log(row('median', "(b')", med(C)));
  console.log('recipe per host: stop s (from the end of the copy) / etcdutl + swap s; * = the leader before the restore:');
  for (const r of [...B, ...C]) console.log(`  round ${r.round} ${label(r.kind).padEnd(4)}: ${r.hosts!.map((h) => `${h.name}${h.name === r.leader ? '*' : ''} ${s(h.stopMs, 2)}/${s(h.restoreMs, 2)}`).join(', ')}`);

  if (A.length > 0 && B.length > 0) {
    const byRound = A.map((a) => a.ms / B.find((x) => x.round === a.round)!.ms);
    const ratio = median(A.map((r) => r.ms)) / median(B.map((r) => r.ms));
    const downRatio = median(A.map((r) => r.downMs)) / median(B.map((r) => r.downMs));
    console.log('\ntarget:');
    console.log(`  (a)/(b) total  ${ratio.toFixed(2)}x (medians)   target <= ${TARGET}x  ${ratio <= TARGET ? 'met' : 'NOT met'}`);
    console.log(`  info: (a)/(b) per round, same load: ${byRound.map((r) => r.toFixed(2)).join(' ')} -> median ${median(byRound).toFixed(2)}x`);
    console.log(`  info: (a)/(b) down time (first stop -> healthy): ${downRatio.toFixed(2)}x (medians)`);
    if (C.length > 0) {
      const byRoundC = A.map((a) => a.ms / C.find((x) => x.round === a.round)!.ms);
      console.log(`  info: (a)/(b') ${(median(A.map((r) => r.ms)) / median(C.map((r) => r.ms))).toFixed(2)}x (medians); per round ${byRoundC.map((r) => r.toFixed(2)).join(' ')}`);
    }
  }

  if (A.length > 0) {
    console.log(`\nwhere etcd-kit's time goes (median over ${A.length} (a) runs, s; stages cut at their first progress event):`);
    const stages = A.map((r) => kitStages(r.events!, r.ms));
    KIT_STAGES.forEach((st, i) => {
      console.log(`  ${st.label.padEnd(50)}${s(median(stages.map((x) => x[i]!)), 2).padStart(7)}   ${stages.map((x) => s(x[i]!, 2)).join(' ')}`);
    });
    console.log(`  ${'total'.padEnd(50)}${s(median(A.map((r) => r.ms)), 2).padStart(7)}`);
    const spans = A.map((r) => memberRestoreMs(r.events!));
    const names = [...new Set(spans.flatMap((m) => [...m.keys()]))].sort();
    console.log(`  per member, "restoring" -> "moved aside" (sha256sum, etcdutl, chown, swap, sync): ${names.map((n) => `${n} ${s(median(spans.map((m) => m.get(n) ?? Number.NaN)), 2)}`).join(', ')}`);
    const mid = [...A].sort((x, y) => x.ms - y.ms)[(A.length - 1) >> 1]!;
    console.log(`\nevent timeline of the median (a) run (round ${mid.round}, ${s(mid.ms, 2)} s):`);
    console.log(formatTimeline(mid.events!, mid.ms));
    console.log('\n  its events (upload progress: first and last per file only):');
    const evs = mid.events!;
    const isProgress = (e: TimedEvent) => e.bytes !== undefined && e.file !== undefined;
    const sameFile = (x: TimedEvent | undefined, e: TimedEvent) => x !== undefined && isProgress(x) && x.member === e.member && x.file === e.file;
    evs.forEach((e, i) => {
      const inner = isProgress(e) && evs.slice(0, i).some((x) => sameFile(x, e)) && evs.slice(i + 1).some((x) => sameFile(x, e));
      if (inner) return;
      const what = [e.message, e.file, e.bytes !== undefined ? `${mb(e.bytes)}/${e.totalBytes === undefined ? '?' : mb(e.totalBytes)} MB` : undefined].filter((x) => x !== undefined).join('  ');
      console.log(`  ${e.at.toFixed(0).padStart(7)}  ${e.step.padEnd(12)} ${(e.member ?? '').padEnd(7)} ${what}`);
    });
  }
  const o = overhead;
  console.log(
    `\nload ${load()} (end), total ${((performance.now() - wallStart) / 1000).toFixed(0)} s, of which untimed: boot ${s(o.boot, 0)} s, deploy ${s(o.deploy, 0)} s, fill ${s(o.fill, 0)} s, snapshot ${s(o.snapshot, 0)} s, verify ${s(o.verify, 0)} s, destroy ${s(o.destroy, 0)} s`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
