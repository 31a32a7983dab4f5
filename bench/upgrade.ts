/**
 * Rolling-upgrade benchmark: a 3-member cluster from etcd 3.4.23 to the newest cached 3.5, under a
 * continuous writer, on testbed hosts (systemd-nspawn + sshd on this machine, veth links):
 *   (a) etcd-kit: deployEtcdCluster with the 3.5 tarball on a cluster etcd-kit deployed with 3.4.23. It
 *       takes a checked snapshot to the controller, then restarts one member at a time, its files placed
 *       at its own turn, followers first, leadership moved off the leader before the leader goes last, each
 *       member healthy and caught up with the leader before the next one;
 *   (b) recipe: bench/recipe-upgrade.sh on a cluster deployed the same way: per host in spec order, scp
 *       etcd + etcdctl, ssh `systemctl stop etcd`, move the binaries over, drop ETCD_ENABLE_V2 (3.5 warns
 *       that it is deprecated; the script says why), `systemctl start etcd`, poll `etcdctl endpoint health`
 *       on that endpoint every 0.25 s until it answers, then the next host. No snapshot, no leader handling.
 * Measured: wall time of the upgrade call / the script; per member, the time of its turn (etcd-kit: from
 * the end of the previous member's turn, or its first staged file, until it is healthy and caught up; the
 * recipe: from its scp until its endpoint is healthy); writes that failed (error or timeout) while it ran;
 * lost writes (acknowledged, then not in the cluster after the upgrade: a fresh client reads the prefix);
 * the longest stretch without an acknowledged write. Where etcd-kit's time goes comes from its onProgress
 * events (see src/deploy/rolling-restart.ts and deploy.ts), and the snapshot alone is timed once per (a)
 * round on the same cluster right before the upgrade (outside the measured call).
 * Writers (bench/lib/upgrade-writer.ts, child processes), two at once, each: one put in flight, one started
 * every --write-interval-ms (default 10), deadline --write-timeout-ms (default 1000), over mTLS with the
 * admin client certificate of the PKI dir, one client for all three endpoints. `kit` uses etcd-kit's
 * createEtcdClient as an application would (etcd3's per-member circuit breakers: 3 failures, 5 s open);
 * `nb` the same client without those breakers, so its failures are the cluster's own unavailability.
 * Before each run the leader is moved to etcd01 (--leader first; `last` = etcd03, `any` = as elected), so
 * the recipe restarts the leader first and etcd-kit has to hand leadership over; the same in (a) and (b).
 * Every run gets a freshly booted testbed (same id: same IPs, so the same PKI dir serves every run); boot,
 * the 3.4.23 deploy, the leader move and the writers' first acks are untimed, and the writers run 0.5 s
 * before and after. Rounds alternate the order of (a) and (b) (ab, ba, ...) so background load hits both
 * alike; the binaries memo of both tarballs is filled before the rounds; no warm-up run. One round takes
 * about 25 s here (default 5 rounds: 2-3 min). Other processes share this 2-core machine, so it also
 * prints each round's (a)/(b) ratio (back to back, same load) and the CPU a run cost (controller + hosts'
 * cgroups, the writers excluded). Needs root.
 *
 *   node --import tsx bench/upgrade.ts [--rounds 5] [--id 212] [--leader first|last|any]
 *        [--write-interval-ms 10] [--write-timeout-ms 1000]
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareTarballCached } from '../src/deploy/binaries-cache.js';
import { binariesCacheDir } from '../src/deploy/prepare.js';
import {
  type ClusterSpecInput,
  connectCluster,
  type DeployResult,
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
import { lostWrites, nowEpochMs, startWriter, type WriterReport } from './lib/upgrade-writer.js';
import { load, median, s, sleep } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    id: { type: 'string', default: '212' },
    leader: { type: 'string', default: 'first' },
    'write-interval-ms': { type: 'string', default: '10' },
    'write-timeout-ms': { type: 'string', default: '1000' },
  },
});
const rounds = Number(values.rounds);
const testbedId = Number(values.id);
const leaderAt = values.leader;
if (!['first', 'last', 'any'].includes(leaderAt)) throw new Error(`--leader must be first, last or any, got ${leaderAt}`);
const writeIntervalMs = Number(values['write-interval-ms']);
const writeTimeoutMs = Number(values['write-timeout-ms']);
const RECIPE_SCRIPT = fileURLToPath(new URL('./recipe-upgrade.sh', import.meta.url));
const PREFIX = '/bench-upgrade/';
/** The writer runs this long before the upgrade starts (after its first ack) and after it returns. */
const WRITER_MARGIN_MS = 500;

const from = etcdRelease('3.4');
const to = etcdRelease('3.5');
const work = await mkdtemp(join(tmpdir(), 'etcd-kit-bench-upgrade-'));
const pkiDir = join(work, 'pki');
const adminDir = join(work, 'admin');
const backupDir = join(work, 'backups');


function specFor(tb: Testbed, tarball: string): ClusterSpecInput {
  return {
    members: tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, host: h.ip })),
    ssh: { privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath },
    etcd: { tarball },
    pki: { dir: pkiDir },
  };
}

/** One member's turn in a roll, ms. */
interface Turn {
  member: string;
  /** Was the leader when the roll started. */
  wasLeader: boolean;
  /** Epoch ms when the turn started and ended. */
  from: number;
  to: number;
  /** Phases of the turn, ms: etcd-kit move-leader/stage/restart/caught-up; recipe copy/swap/wait-healthy. */
  phases: Record<string, number>;
}

const WRITERS = ['kit', 'no-breaker'] as const;
type WriterKind = (typeof WRITERS)[number];

/** What one writer saw in one run. */
interface WriteStats {
  acked: number;
  /** Failed writes while the upgrade ran, and writer start to stop. */
  failed: number;
  failedTotal: number;
  /** Failed writes in each turn. */
  failedPerTurn: number[];
  lost: number;
  /** Longest stretch without an ack while the upgrade ran, ms. */
  maxGapMs: number;
  /** Failed writes grouped into bursts (failures < 250 ms apart): start ms from the upgrade start, span ms, count. */
  bursts: { at: number; span: number; count: number }[];
  /** Failed puts by error. */
  errors: Record<string, number>;
}

interface Run {
  kind: 'a' | 'b';
  round: number;
  /** Epoch ms when the upgrade call / the script started. */
  startedAt: number;
  ms: number;
  turns: Turn[];
  writes: Record<WriterKind, WriteStats>;
  /** Controller (this process; for (b) also the script and its children) + hosts, ms; the writers excluded. */
  cpuMs: number | undefined;
  /** etcd-kit only: events, and the phases before and after the roll. */
  events?: TimedEvent[];
  outside?: Record<string, number>;
  /** etcd-kit only: the standalone snapshot right before the upgrade, ms. */
  snapshotAloneMs?: number;
  /** The version every member reports afterwards. */
  versions: string[];
  /** etcd warnings mentioning "deprecat" on the hosts since the upgrade began. */
  deprecationWarnings: number;
}

interface Cluster {
  tb: Testbed;
  endpoints: string[];
  tls: EtcdTlsOptions;
  /** Names in spec order and the leader's name before the upgrade. */
  names: string[];
  leader: string;
}

/** Time spent outside the measured runs (boot, 3.4 deploy, destroy). */
const overhead = { boot: 0, deploy: 0, destroy: 0 };

/** A fresh testbed with etcd 3.4.23 deployed by etcd-kit and the leader where --leader says; destroyed after `fn`. */
async function withOldCluster<T>(fn: (c: Cluster) => Promise<T>): Promise<T> {
  let t = performance.now();
  const tb = await startTestbed({ hosts: 3, id: testbedId });
  try {
    await Promise.all(tb.hosts.map((h) => tb.exec(h.name, 'systemctl is-system-running --wait', { allowFailure: true })));
    overhead.boot += performance.now() - t;
    t = performance.now();
    const first: DeployResult = await deployEtcdCluster(specFor(tb, from.tarball));
    const pki = await readPkiDir(pkiDir);
    const admin = pki.clients['admin']!;
    const tls: EtcdTlsOptions = { caPem: pki.ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };
    const names = tb.hosts.map((_, i) => `etcd0${i + 1}`);
    const handle = connectCluster({ endpoints: first.endpoints, tls });
    let leader: string;
    try {
      const health = await handle.waitForHealthy({ timeoutMs: 30_000 });
      const want = leaderAt === 'first' ? 0 : leaderAt === 'last' ? names.length - 1 : -1;
      if (want >= 0 && health.leader?.name !== names[want]) {
        await handle.moveLeader(health.endpoints[want]!.status!.memberId, { retryTimeoutMs: 10_000 });
      }
      const after = await handle.waitForHealthy({ timeoutMs: 30_000 });
      leader = after.leader!.name;
      if (want >= 0 && leader !== names[want]) throw new Error(`leader is ${leader}, wanted ${names[want]}`);
      if (!after.endpoints.every((e) => e.status?.version === from.version)) throw new Error('3.4 deploy: not every member runs 3.4');
    } finally {
      handle.close();
    }
    overhead.deploy += performance.now() - t;
    return await fn({ tb, endpoints: first.endpoints, tls, names, leader });
  } finally {
    t = performance.now();
    await tb.destroy();
    overhead.destroy += performance.now() - t;
  }
}

/** Versions every member reports now (via a fresh health check). */
async function versionsNow(c: Cluster): Promise<string[]> {
  const handle = connectCluster({ endpoints: c.endpoints, tls: c.tls });
  try {
    const health = await handle.waitForHealthy({ timeoutMs: 30_000 });
    return health.endpoints.map((e) => e.status?.version ?? '?');
  } finally {
    handle.close();
  }
}

/** etcd warnings mentioning "deprecat" in the hosts' journals since `sinceEpochMs`. */
async function deprecationWarnings(c: Cluster, sinceEpochMs: number): Promise<number> {
  const since = `@${Math.floor(sinceEpochMs / 1000)}`;
  const counts = await Promise.all(
    c.tb.hosts.map(async (h) => {
      const r = await c.tb.exec(h.name, `journalctl -u etcd --since ${since} -o cat | grep -ci deprecat`, { allowFailure: true });
      return Number(r.stdout.trim() || 0);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Writes failed in [from, to) epoch ms, and the longest stretch without an ack over that window. */
function writesIn(w: WriterReport, fromMs: number, toMs: number): { failed: number; maxGapMs: number } {
  const failed = w.failedAt.filter((t) => t >= fromMs && t < toMs).length;
  let maxGapMs = 0;
  let previous = fromMs;
  for (const t of w.ackAt) {
    if (t < fromMs) continue;
    const at = Math.min(t, toMs);
    maxGapMs = Math.max(maxGapMs, at - previous);
    previous = at;
    if (t >= toMs) break;
  }
  return { failed, maxGapMs: Math.max(maxGapMs, toMs - previous) };
}

/** Failures less than 250 ms apart form one burst; times relative to `originMs`. */
function failureBursts(w: WriterReport, originMs: number): WriteStats['bursts'] {
  const bursts: WriteStats['bursts'] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const t of w.failedAt) {
    const current = bursts.at(-1);
    if (current && t - last < 250) {
      current.span = t - originMs - current.at;
      current.count++;
    } else bursts.push({ at: t - originMs, span: 0, count: 1 });
    last = t;
  }
  return bursts;
}

function writeStats(w: WriterReport, lost: number, startedAt: number, endedAt: number, turns: Turn[]): WriteStats {
  const during = writesIn(w, startedAt, endedAt);
  return {
    acked: w.acked.length,
    failed: during.failed,
    failedTotal: w.failedAt.length,
    failedPerTurn: turns.map((t) => writesIn(w, t.from, t.to).failed),
    lost,
    maxGapMs: during.maxGapMs,
    bursts: failureBursts(w, startedAt),
    errors: w.errors,
  };
}

interface Measured {
  startedAt: number;
  endedAt: number;
  reports: Record<WriterKind, WriterReport>;
  lost: Record<WriterKind, number>;
  cpuMs: number | undefined;
  versions: string[];
  warnings: number;
}

/** Runs `upgrade` under both writers (see bench/lib/upgrade-writer.ts) and measures it. */
async function underWriters(c: Cluster, upgrade: () => Promise<{ startedAt: number; endedAt: number; cpuExtraMs?: number | undefined }>): Promise<Measured> {
  const writers = WRITERS.map((client) =>
    startWriter({ endpoints: c.endpoints, tls: c.tls, prefix: `${PREFIX}${client}/`, intervalMs: writeIntervalMs, timeoutMs: writeTimeoutMs, client }),
  );
  let stopped = false;
  try {
    let timer: NodeJS.Timeout | undefined;
    const noAck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('a writer got no write acknowledged within 30 s')), 30_000);
    });
    try {
      await Promise.race([Promise.all(writers.map((w) => w.ready)), noAck]);
    } finally {
      clearTimeout(timer);
    }
    await sleep(WRITER_MARGIN_MS);
    const hostsBefore = hostsCpuMs(c.tb);
    const cpuBefore = process.cpuUsage();
    const { startedAt, endedAt, cpuExtraMs } = await upgrade();
    const used = process.cpuUsage(cpuBefore);
    const hostsAfter = hostsCpuMs(c.tb);
    await sleep(WRITER_MARGIN_MS);
    const got = await Promise.all(writers.map((w) => w.stop()));
    stopped = true;
    const reports = Object.fromEntries(WRITERS.map((k, i) => [k, got[i]!])) as Record<WriterKind, WriterReport>;
    const lostList = await Promise.all(WRITERS.map((k) => lostWrites(c.endpoints, c.tls, `${PREFIX}${k}/`, reports[k].acked)));
    const lost = Object.fromEntries(WRITERS.map((k, i) => [k, lostList[i]!.length])) as Record<WriterKind, number>;
    const cpuMs =
      hostsBefore === undefined || hostsAfter === undefined ? undefined : (used.user + used.system) / 1000 + hostsAfter - hostsBefore + (cpuExtraMs ?? 0);
    return { startedAt, endedAt, reports, lost, cpuMs, versions: await versionsNow(c), warnings: await deprecationWarnings(c, startedAt) };
  } finally {
    if (!stopped) await Promise.all(writers.map((w) => w.stop().catch(() => undefined)));
  }
}

function allWriteStats(m: Measured, turns: Turn[]): Record<WriterKind, WriteStats> {
  return Object.fromEntries(WRITERS.map((k) => [k, writeStats(m.reports[k], m.lost[k], m.startedAt, m.endedAt, turns)])) as Record<WriterKind, WriteStats>;
}

// ----- (a) etcd-kit ---------------------------------------------------------------------------------------

/** Splits etcd-kit's events into turns (see the header; `from`/`to` in epoch ms) and the phases outside the roll. */
function kitTurns(events: TimedEvent[], totalMs: number, leader: string, epochStart: number): { turns: Turn[]; outside: Record<string, number> } {
  const isRestart = (e: TimedEvent) => e.step === 'restart' && e.member !== undefined && e.message === undefined;
  const restarts: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (isRestart(e) && !restarts.some((j) => events[j]!.member === e.member)) restarts.push(i);
  }
  const preRoll = events.findIndex((e) => e.step === 'wait-healthy' && e.member === undefined && e.message?.startsWith('cluster must be healthy'));
  const snapshot = events.findIndex((e) => e.step === 'snapshot');
  const lastInspect = events.reduce((acc, e, i) => (e.step === 'inspect' && (snapshot === -1 || i < snapshot) ? i : acc), -1);
  const at = (i: number) => events[i]!.at;
  const turns: Turn[] = [];
  // A member's staging events are looked for after the roll began (the pre-roll health check; should its
  // message change, the snapshot or the last inspect), never among its connect/inspect events.
  let after = Math.max(preRoll, snapshot, lastInspect);
  let turnStart: number | undefined;
  for (const r of restarts) {
    const member = events[r]!.member!;
    let move: number | undefined;
    let stage = r;
    for (let i = after + 1; i < r; i++) {
      const e = events[i]!;
      if (e.leadership !== undefined) move ??= i;
      else if (e.member === member && stage === r) stage = i;
    }
    // The turn ends with the next event after its wait: the next member's first, or the final health check.
    const wait = events.findIndex((e, i) => i > r && e.step === 'wait-healthy' && e.member === member);
    const end = wait === -1 || wait + 1 >= events.length ? totalMs : at(wait + 1);
    const start = turnStart ?? at(move ?? stage);
    const waitAt = wait === -1 ? end : at(wait);
    turns.push({
      member,
      wasLeader: member === leader,
      from: epochStart + start,
      to: epochStart + end,
      phases: {
        'move-leader': move === undefined ? 0 : at(stage) - at(move),
        stage: at(r) - at(stage) + (move === undefined ? at(stage) - start : 0),
        restart: waitAt - at(r),
        'caught-up': end - waitAt,
      },
    });
    turnStart = end;
    after = wait === -1 ? r : wait;
  }
  const rollStart = turns.length > 0 ? turns[0]!.from - epochStart : totalMs;
  const rollEnd = turns.length > 0 ? turns.at(-1)!.to - epochStart : totalMs;
  const inspected = lastInspect === -1 ? 0 : at(lastInspect);
  const snapped = snapshot === -1 ? inspected : at(snapshot);
  const outside: Record<string, number> = {
    'validate, binaries, pki, connect (until the last inspect starts)': inspected,
    'inspect, observe (CAs, versions, members), snapshot': snapped - inspected,
    'health checks before the roll': rollStart - snapped,
    'final health check, reports, close': totalMs - rollEnd,
  };
  return { turns, outside };
}

async function runKit(round: number): Promise<Run> {
  return withOldCluster(async (c) => {
    // The snapshot alone, on this cluster, outside the timed call: how much of the upgrade it is.
    await mkdir(backupDir, { recursive: true, mode: 0o700 });
    const snapStart = performance.now();
    await saveSnapshot({ endpoints: c.endpoints, tls: c.tls, path: join(backupDir, 'alone.db') });
    const snapshotAloneMs = performance.now() - snapStart;
    let events: TimedEvent[] = [];
    let ms = 0;
    let result: DeployResult | undefined;
    const m = await underWriters(c, async () => {
      const rec = recordEvents();
      const startedAt = nowEpochMs();
      const start = performance.now();
      result = await deployEtcdCluster(specFor(c.tb, to.tarball), { onProgress: rec.onProgress, backupDir });
      ms = performance.now() - start;
      events = rec.events;
      return { startedAt, endedAt: startedAt + ms };
    });
    if (!result?.snapshot) throw new Error('etcd-kit took no snapshot');
    const { turns, outside } = kitTurns(events, ms, c.leader, m.startedAt);
    if (turns.length !== 3) throw new Error(`expected 3 restarts, saw ${turns.length}`);
    await rm(backupDir, { recursive: true, force: true });
    return {
      kind: 'a',
      round,
      startedAt: m.startedAt,
      ms,
      turns,
      writes: allWriteStats(m, turns),
      cpuMs: m.cpuMs,
      events,
      outside,
      snapshotAloneMs,
      versions: m.versions,
      deprecationWarnings: m.warnings,
    };
  });
}

// ----- (b) recipe -----------------------------------------------------------------------------------------

interface RecipeHost {
  ip: string;
  start: number;
  copied: number;
  swapped: number;
  healthy: number;
}

async function recipeUpgrade(c: Cluster): Promise<{ startedAt: number; endedAt: number; hosts: RecipeHost[]; cpuMs: number | undefined }> {
  const startedAt = nowEpochMs();
  const out = await runRecipe(RECIPE_SCRIPT, [to.binDir, adminDir, ...c.tb.hosts.map((h) => h.ip)], { SSH_KEY: c.tb.rootKeyPath, KNOWN_HOSTS: c.tb.knownHostsPath }, { timed: true });
  const endedAt = nowEpochMs();
  const hosts = [...out.stdout.matchAll(/^host (\S+) start ([\d.]+) copied ([\d.]+) swapped ([\d.]+) healthy ([\d.]+)$/gm)].map((h) => ({
    ip: h[1]!,
    start: Number(h[2]) * 1000,
    copied: Number(h[3]) * 1000,
    swapped: Number(h[4]) * 1000,
    healthy: Number(h[5]) * 1000,
  }));
  if (out.code !== 0 || hosts.length !== c.tb.hosts.length) throw new Error(`recipe-upgrade.sh exited ${out.code}: ${out.stderr}${out.stdout}`);
  return { startedAt, endedAt, hosts, cpuMs: cpuMsOf(out) };
}

async function recipeRun(round: number): Promise<Run> {
  return withOldCluster(async (c) => {
    let hosts: RecipeHost[] = [];
    const m = await underWriters(c, async () => {
      const r = await recipeUpgrade(c);
      hosts = r.hosts;
      return { startedAt: r.startedAt, endedAt: r.endedAt, cpuExtraMs: r.cpuMs };
    });
    const envLeft = await Promise.all(c.tb.hosts.map((h) => c.tb.exec(h.name, 'grep -c ^ETCD_ENABLE_V2= /opt/etcd/cfg/etcd.env', { allowFailure: true })));
    if (envLeft.some((r) => r.stdout.trim() !== '0')) throw new Error('recipe left ETCD_ENABLE_V2 in an env file');
    const turns: Turn[] = hosts.map((h, i) => ({
      member: c.names[i]!,
      wasLeader: c.names[i] === c.leader,
      from: h.start,
      to: h.healthy,
      phases: { copy: h.copied - h.start, 'stop+swap+start': h.swapped - h.copied, 'wait-healthy': h.healthy - h.swapped },
    }));
    return {
      kind: 'b',
      round,
      startedAt: m.startedAt,
      ms: m.endedAt - m.startedAt,
      turns,
      writes: allWriteStats(m, turns),
      cpuMs: m.cpuMs,
      versions: m.versions,
      deprecationWarnings: m.warnings,
    };
  });
}

// ----- main -----------------------------------------------------------------------------------------------

console.log(`etcd-kit rolling-upgrade benchmark — node ${process.version}, ${availableParallelism()} cores, load ${load()} (start)`);
console.log(
  `testbed ${testbedId}: 3 systemd-nspawn Debian 12 hosts on veth, fresh per run; etcd ${from.version} (${from.source}) -> ${to.version} (${to.source})`,
);
console.log(
  `writers: 2 at once, each 1 put in flight, one per ${writeIntervalMs} ms, ${writeTimeoutMs} ms deadline, mTLS admin cert, 3 endpoints:` +
    ' kit = etcd-kit createEtcdClient (etcd3 defaults: 3 retries, per-member circuit breaker 3 failures -> 5 s open), nb = same without the breakers',
);
console.log(
  `leader before the upgrade: ${leaderAt === 'any' ? 'as elected' : `etcd0${leaderAt === 'first' ? 1 : 3} (--leader ${leaderAt})`}; rounds: ${rounds}, order (a)(b), (b)(a), ...; boot, 3.4 deploy, leader move untimed\n`,
);

const runs: Run[] = [];
const wallStart = performance.now();
try {
  // The binaries memo of both tarballs, so no run pays for unpacking + hashing (a CLI process would, once).
  for (const r of [from, to]) await prepareTarballCached(r.tarball, binariesCacheDir({}));
  await mkdir(adminDir, { recursive: true });
  const paths = pkiPaths(pkiDir);
  await symlink(paths.caCert, join(adminDir, 'ca.crt'));
  await symlink(paths.client('admin').cert, join(adminDir, 'admin.crt'));
  await symlink(paths.client('admin').key, join(adminDir, 'admin.key'));

  for (let round = 1; round <= rounds; round++) {
    const order: ('a' | 'b')[] = round % 2 === 1 ? ['a', 'b'] : ['b', 'a'];
    for (const kind of order) {
      const run = kind === 'a' ? await runKit(round) : await recipeRun(round);
      runs.push(run);
      const turns = run.turns.map((t) => `${t.member}${t.wasLeader ? '*' : ''} ${s(t.to - t.from)}`).join(', ');
      const w = run.writes;
      process.stderr.write(
        `round ${round}/${rounds} (${kind}) ${s(run.ms)} s [${turns}] failed kit ${w.kit.failed} nb ${w['no-breaker'].failed}, lost ${w.kit.lost + w['no-breaker'].lost} — ${((performance.now() - wallStart) / 1000).toFixed(0)} s so far\n`,
      );
    }
  }

  const A = runs.filter((r) => r.kind === 'a');
  const B = runs.filter((r) => r.kind === 'b');
  const turnMs = (r: Run, i: number) => r.turns[i]!.to - r.turns[i]!.from;
  const cols = (cells: string[], widths: number[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('');
  const widths = [7, 5, 8, 15, 15, 15, 12, 13, 11, 16, 7, 9];
  const head = ['round', 'run', 'total s', 'turn 1 s', 'turn 2 s', 'turn 3 s', 'acked k/nb', 'failed k/nb', 'lost k/nb', 'max gap s k/nb', 'cpu s', 'version'];
  const row = (label: string, kind: string, r: { ms: number; turnMs: number[]; names: string[]; w: Record<WriterKind, { acked: number; failed: number; lost: number; maxGapMs: number }>; cpuMs: number | undefined; version: string }) =>
    cols(
      [
        label,
        kind,
        s(r.ms),
        ...r.turnMs.map((ms, i) => `${r.names[i]} ${s(ms)}`),
        `${r.w.kit.acked}/${r.w['no-breaker'].acked}`,
        `${r.w.kit.failed}/${r.w['no-breaker'].failed}`,
        `${r.w.kit.lost}/${r.w['no-breaker'].lost}`,
        `${s(r.w.kit.maxGapMs, 2)}/${s(r.w['no-breaker'].maxGapMs, 2)}`,
        s(r.cpuMs),
        r.version,
      ],
      widths,
    );
  const names = (r: Run) => r.turns.map((t) => `${t.member}${t.wasLeader ? '*' : ''}`);
  console.log('per run (turn = one member, in restart order, * = the leader before the upgrade; failed and max gap: while the upgrade ran; k = kit writer, nb = no-breaker writer)');
  console.log(cols(head, widths));
  for (const r of runs) {
    console.log(row(String(r.round), `(${r.kind})`, { ms: r.ms, turnMs: [0, 1, 2].map((i) => turnMs(r, i)), names: names(r), w: r.writes, cpuMs: r.cpuMs, version: [...new Set(r.versions)].join(',') }));
  }
  const med = (rs: Run[]) => {
    const w = (k: WriterKind) => ({
      acked: median(rs.map((r) => r.writes[k].acked)),
      failed: median(rs.map((r) => r.writes[k].failed)),
      lost: Math.max(...rs.map((r) => r.writes[k].lost)),
      maxGapMs: median(rs.map((r) => r.writes[k].maxGapMs)),
    });
    return {
      ms: median(rs.map((r) => r.ms)),
      turnMs: [0, 1, 2].map((i) => median(rs.map((r) => turnMs(r, i)))),
      names: names(rs[0]!),
      w: { kit: w('kit'), 'no-breaker': w('no-breaker') },
      cpuMs: rs.some((r) => r.cpuMs === undefined) ? undefined : median(rs.map((r) => r.cpuMs!)),
      version: '',
    };
  };
  console.log(row('median', '(a)', med(A)));
  console.log(row('median', '(b)', med(B)));
  console.log('(median rows: lost = the worst run; names from the first run)');

  const byRound = A.map((a) => a.ms / B.find((x) => x.round === a.round)!.ms);
  const ratio = median(A.map((r) => r.ms)) / median(B.map((r) => r.ms));
  const lostAll = (rs: Run[]) => rs.map((r) => WRITERS.map((k) => r.writes[k].lost).join('/')).join(' ');
  const totalLost = runs.reduce((acc, r) => acc + WRITERS.reduce((x, k) => x + r.writes[k].lost, 0), 0);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log('\ntargets:');
  console.log(`  lost writes  (a) ${lostAll(A)}, (b) ${lostAll(B)}  (k/nb per run)   target 0        ${verdict(totalLost === 0)}`);
  console.log(`  (a)/(b)      ${ratio.toFixed(2)}x (medians)                             target <= 1.5x  ${verdict(ratio <= 1.5)}`);
  console.log(`  info: (a)/(b) per round, same load: ${byRound.map((r) => r.toFixed(2)).join(' ')} -> median ${median(byRound).toFixed(2)}x`);
  for (const k of WRITERS) {
    const perTurn = (rs: Run[]) => rs.map((r) => r.writes[k].failedPerTurn.join('/')).join(' ');
    console.log(`  info: ${k} writer, failed writes per turn: (a) ${perTurn(A)}; (b) ${perTurn(B)}; outside the upgrade (${WRITER_MARGIN_MS} ms margins): ${runs.map((r) => r.writes[k].failedTotal - r.writes[k].failed).join(' ')}`);
  }
  console.log('  info: failed-write bursts, s from the upgrade start (+span, count), then [turn starts, end] and the errors:');
  for (const r of runs) {
    for (const k of WRITERS) {
      const bursts = r.writes[k].bursts.map((b) => `${s(b.at, 2)}(+${s(b.span, 2)}, ${b.count})`).join(' ') || 'none';
      const starts = r.turns.map((t, i) => `${i + 1}:${t.member} ${s(t.from - r.startedAt, 2)}`).join(' ');
      console.log(`    round ${r.round} (${r.kind}) ${k.padEnd(10)} ${bursts}   [${starts}, end ${s(r.ms, 2)}]`);
      for (const [what, n] of Object.entries(r.writes[k].errors)) console.log(`        ${n} x ${what}`);
    }
  }
  console.log(`  info: etcd warnings with "deprecat" after the upgrade: (a) ${A.map((r) => r.deprecationWarnings).join(' ')}, (b) ${B.map((r) => r.deprecationWarnings).join(' ')}`);
  console.log(`  info: the recipe takes no snapshot; etcd-kit's checked snapshot alone (same cluster, just before, writers off): ${A.map((r) => s(r.snapshotAloneMs, 2)).join(' ')} s`);

  const phaseMedian = (rs: Run[], i: number, phase: string) => median(rs.map((r) => r.turns[i]!.phases[phase] ?? 0));
  console.log(`\nwhere etcd-kit's time goes (median over ${A.length} (a) runs, s):`);
  for (const key of Object.keys(A[0]!.outside!)) console.log(`  ${key.padEnd(68)}${s(median(A.map((r) => r.outside![key]!)), 2).padStart(7)}`);
  const kitPhases = ['move-leader', 'stage', 'restart', 'caught-up'];
  console.log(`  ${'turn'.padEnd(18)}${kitPhases.map((p) => p.padStart(12)).join('')}${'turn total'.padStart(12)}`);
  for (let i = 0; i < 3; i++) {
    const t = A[0]!.turns[i]!;
    console.log(
      `  ${`${i + 1} ${t.member}${t.wasLeader ? ' (leader)' : ''}`.padEnd(18)}${kitPhases.map((p) => s(phaseMedian(A, i, p), 2).padStart(12)).join('')}${s(median(A.map((r) => turnMs(r, i))), 2).padStart(12)}`,
    );
  }
  console.log('  stage = its files uploaded + placed (etcd, etcdctl, etcdutl, env, unit); restart = from restartMember until etcd runs with a new MainPID;');
  console.log("  caught-up = until every member is healthy and its applied index reached the leader's; move-leader includes the health check after it");
  const recipePhases = ['copy', 'stop+swap+start', 'wait-healthy'];
  console.log(`\nthe recipe's turns (median over ${B.length} (b) runs, s):`);
  console.log(`  ${'turn'.padEnd(18)}${recipePhases.map((p) => p.padStart(17)).join('')}${'turn total'.padStart(12)}`);
  for (let i = 0; i < 3; i++) {
    const t = B[0]!.turns[i]!;
    console.log(
      `  ${`${i + 1} ${t.member}${t.wasLeader ? ' (leader)' : ''}`.padEnd(18)}${recipePhases.map((p) => s(phaseMedian(B, i, p), 2).padStart(17)).join('')}${s(median(B.map((r) => turnMs(r, i))), 2).padStart(12)}`,
    );
  }
  const mid = [...A].sort((x, y) => x.ms - y.ms)[(A.length - 1) >> 1]!;
  console.log(`\nevent timeline of the median (a) run (round ${mid.round}, ${s(mid.ms, 2)} s):`);
  console.log(formatTimeline(mid.events!, mid.ms));
  const o = overhead;
  console.log(
    `\nload ${load()} (end), total ${((performance.now() - wallStart) / 1000).toFixed(0)} s, of which untimed: boot ${s(o.boot, 0)} s, 3.4 deploy + leader ${s(o.deploy, 0)} s, destroy ${s(o.destroy, 0)} s`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
