/**
 * CA-rotation benchmark: the cluster CA of a running 3-member cluster replaced, under two clients that
 * re-read their TLS files before every request, on testbed hosts (systemd-nspawn + sshd on this machine,
 * veth links), etcd the newest cached 3.6 (--etcd 3.4.23, 3.5, ... for another):
 *   (a) etcd-kit: rotateEtcdCa(spec, { keyAlgorithm, onProgress }) run to the end, --rounds times (default 3)
 *       on the same cluster, each round beginning a new rotation after the finished one; the new CA's key
 *       algorithm alternates ecdsa-p256, rsa-2048, ecdsa-p256, ... (the cluster is deployed with rsa-2048, so
 *       round 1 is RSA -> ECDSA, round 2 ECDSA -> RSA). Three phases, one member at a time, the cluster
 *       healthy between steps (src/deploy/rotate-ca.ts, docs/ca-rotation.md): trust-both (old + new CA
 *       trusted; rolling restart), new-leaves (every member and client certificate re-issued; no restart),
 *       drop-old (new CA only; rolling restart);
 *   (b) the manual procedure other tools document (k0s / kubespray style, with downtime), once, on the same
 *       cluster after the rounds: a new CA made and every member and client certificate re-issued with the
 *       same names and SANs into the PKI dir on the controller (createCA, signServerCert, signPeerCert,
 *       signClientCert, writePkiDir), then bench/recipe-rotate-ca.sh: scp ca.crt + each host's server/peer
 *       pair to every host, `systemctl stop etcd` on all, the files moved into place, `systemctl start
 *       --no-block etcd` on all, `etcdctl endpoint health` polled (new CA, new admin certificate) until every
 *       member answers. --skip-manual leaves it out.
 * The clients (test/deploy/etcdctl-writer.ts), two at once, each a loop of `etcdctl put` processes, one
 * write at a time, every process reading the PKI dir's ca-bundle.crt (--cacert) and clients/admin.crt/.key
 * anew (etcdctl reads the CA file at start and the client pair at every TLS handshake, and retries a refused
 * handshake until its --command-timeout, --write-timeout-ms, default 2000): the rotation's client contract
 * ("a client that re-reads them before each request never fails"). A failed write is one that did not
 * complete within that timeout (never retried: the writer goes on with the next key); a slow one took
 * longer than 500 ms (one with a second handshake takes about 1 s). They start before each run (first ack of
 * both seen, then 0.5 s) and stop 0.5 s after it returned; each run writes its own key prefix.
 * Measured per run: wall time of the rotateEtcdCa call (boot and the rsa-2048 deploy untimed), per phase
 * (result.phases) and per member step (result.steps: stage, restart if any, caught up, verified); per
 * writer the writes acked, failed and slow while it ran (failed and slow: the process ran at some point of
 * the call); the longest stretch without an ack of either writer while it ran; lost writes (acknowledged at
 * any time of the writer's run, then missing from a read of the prefix afterwards: etcdctlRead +
 * missingWrites, with the files as they are then); CPU of the controller (this process; the etcdctl
 * processes excluded) + the hosts' cgroups. Where etcd-kit's time goes comes from its onProgress events:
 * before the first member step (validate, lock, connect, inspect/observe, the new CA, re-rendering), each
 * phase's member steps, the phase changes in between (the new-leaves one re-issues every key), the finish;
 * and per member step: moving leadership off it, its files staged, the restart, until healthy + caught up +
 * verified on its running etcd. The same for (b): the PKI re-issue, copy, stop + swap, start, until healthy.
 * No warm-up run; other processes share this 2-core machine, so wall times are noisy. One rotation takes
 * 12-30 s here, (b) ~25 s (default 3 rounds + (b): about 2 min, boot and deploy included). Needs root.
 *
 *   node --import tsx bench/rotate-ca.ts [--rounds 3] [--id 214] [--etcd 3.6] [--write-timeout-ms 2000]
 *        [--skip-manual]
 */
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism, } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCA, deployEtcdCluster, type IssuedCertificate, type KeyAlgorithm, type MemberPki, type RotateCaResult, readPkiDir, rotateEtcdCa, signClientCert, signPeerCert, signServerCert, writePkiDir } from '../src/index.js';
import { type CaRotationRolledPhase, inspectCertificate, pkiPaths } from '../src/pki-entry.js';
import { testbedSpec } from '../test/deploy/deploy-helpers.js';
import {
  DEFAULT_SLOW_ACK_MS,
  type EtcdctlClientOptions,
  type EtcdctlWriteFailure,
  type EtcdctlWriteLatency,
  type EtcdctlWriterReport,
  etcdctlRead,
  missingWrites,
  startEtcdctlWriter,
} from '../test/deploy/etcdctl-writer.js';
import { etcdRelease } from '../test/helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../test/testbed/index.js';
import { recordEvents, type TimedEvent } from './lib/deploy-timeline.js';
import { hostsCpuMs } from './lib/host-cpu.js';
import { runRecipe } from './lib/run-recipe.js';
import { load, median, s, sleep } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    id: { type: 'string', default: '214' },
    etcd: { type: 'string', default: '3.6' },
    'write-timeout-ms': { type: 'string', default: '2000' },
    'skip-manual': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1, got ${values.rounds}`);
const testbedId = Number(values.id);
const writeTimeoutMs = Number(values['write-timeout-ms']);
const runManual = !values['skip-manual'];
const RECIPE_SCRIPT = fileURLToPath(new URL('./recipe-rotate-ca.sh', import.meta.url));
const PREFIX = '/bench-rotate-ca/';
/** The writers run this long before a run starts (after both acked once) and after it returns. */
const WRITER_MARGIN_MS = 500;
const WRITER_COUNT = 2;
const PHASES: readonly CaRotationRolledPhase[] = ['trust-both', 'new-leaves', 'drop-old'];
/** The new CA's key algorithm in round `n` (1-based); the deploy uses rsa-2048. */
const algorithmOf = (n: number): KeyAlgorithm => (n % 2 === 1 ? 'ecdsa-p256' : 'rsa-2048');

const release = etcdRelease(values.etcd);

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

// ----- writers --------------------------------------------------------------------------------------------

/** What one writer saw around one run. */
interface WriteStats {
  /** Acks while the run ran. */
  acked: number;
  /** Writes whose etcdctl process ran at some point of the run and failed. */
  failed: number;
  /** Failed writes before or after the run (the margins). */
  failedOutside: number;
  /** Acked writes slower than DEFAULT_SLOW_ACK_MS whose process ran at some point of the run. */
  slow: number;
  /** Acknowledged (writer start to stop), not readable afterwards. */
  lost: number;
  /** Latency of every acked write of the writer's run. */
  latency: EtcdctlWriteLatency | undefined;
  /** Every failed write of the writer's run (margins included), in write order. */
  failures: EtcdctlWriteFailure[];
}

interface Measured {
  /** Epoch ms when the run started and returned. */
  startedAt: number;
  endedAt: number;
  writes: WriteStats[];
  /** Longest stretch without an ack of any writer while the run ran, ms. */
  maxGapMs: number;
  /** Controller (this process) + hosts, ms; the etcdctl processes excluded. */
  cpuMs: number | undefined;
}

/** The files of the contract: the PKI dir's bundle and admin pair, by path (each etcdctl process reads them). */
function contractClient(pkiDir: string, endpoints: string[]): EtcdctlClientOptions {
  const paths = pkiPaths(pkiDir);
  return {
    etcdctl: release.etcdctl,
    endpoints,
    caFile: paths.caBundle,
    certFile: paths.client('admin').cert,
    keyFile: paths.client('admin').key,
    timeoutMs: writeTimeoutMs,
  };
}

const during = (at: number, ms: number, from: number, to: number) => at < to && at + ms >= from;

function writeStats(report: EtcdctlWriterReport, ackAt: number[], lost: number, from: number, to: number): WriteStats {
  const failed = report.failures.filter((f) => during(f.at, f.ms, from, to));
  return {
    acked: ackAt.filter((t) => t >= from && t <= to).length,
    failed: failed.length,
    failedOutside: report.failures.length - failed.length,
    slow: report.slowAcks.filter((a) => during(a.at, a.ms, from, to)).length,
    lost,
    latency: report.latencyMs,
    failures: report.failures,
  };
}

/** Failures grouped by etcdctl's last stderr line and the gRPC cause it logged, in order of first occurrence. */
function failureGroups(failures: EtcdctlWriteFailure[]): { what: string; failures: EtcdctlWriteFailure[] }[] {
  const groups = new Map<string, EtcdctlWriteFailure[]>();
  for (const f of failures) {
    const what = `${f.stderr}${f.cause ? ` (${f.cause})` : ''}`;
    groups.set(what, [...(groups.get(what) ?? []), f]);
  }
  return [...groups].map(([what, fs]) => ({ what, failures: fs }));
}

/** The longest stretch in [from, to] without one of `acks` (epoch ms, any order), the edges included. */
function maxGap(acks: number[], from: number, to: number): number {
  let previous = from;
  let gap = 0;
  for (const t of [...acks].sort((a, b) => a - b)) {
    if (t < from) continue;
    if (t > to) break;
    gap = Math.max(gap, t - previous);
    previous = t;
  }
  return Math.max(gap, to - previous);
}

/**
 * Runs `run` between two etcdctl writers on `prefix` (see the header) and measures it; `run` returns the
 * epoch ms it started and ended at.
 */
async function underWriters(tb: Testbed, client: EtcdctlClientOptions, prefix: string, run: () => Promise<{ startedAt: number; endedAt: number }>): Promise<Measured> {
  const ackAt: number[][] = Array.from({ length: WRITER_COUNT }, () => []);
  const prefixes = ackAt.map((_, i) => `${prefix}w${i + 1}/`);
  const writers = prefixes.map((p, i) => startEtcdctlWriter({ ...client, prefix: p, onAck: () => ackAt[i]!.push(Date.now()) }));
  let reports: EtcdctlWriterReport[] | undefined;
  try {
    const deadline = Date.now() + 30_000;
    while (writers.some((w) => w.ackedCount === 0)) {
      if (Date.now() > deadline) throw new Error(`a writer got no write acknowledged within 30 s: ${writers.map((w) => `${w.ackedCount} acked, ${w.failedCount} failed`).join('; ')}`);
      await sleep(20);
    }
    await sleep(WRITER_MARGIN_MS);
    const hostsBefore = hostsCpuMs(tb);
    const cpuBefore = process.cpuUsage();
    const { startedAt, endedAt } = await run();
    const used = process.cpuUsage(cpuBefore);
    const hostsAfter = hostsCpuMs(tb);
    await sleep(WRITER_MARGIN_MS);
    reports = await Promise.all(writers.map((w) => w.stop()));
    // Read back with the files as they are now (the client of the contract after the run).
    const lost = await Promise.all(prefixes.map(async (p, i) => missingWrites(reports![i]!.acked, await etcdctlRead(client, p)).length));
    return {
      startedAt,
      endedAt,
      writes: reports.map((r, i) => writeStats(r, ackAt[i]!, lost[i]!, startedAt, endedAt)),
      maxGapMs: maxGap(ackAt.flat(), startedAt, endedAt),
      cpuMs: hostsBefore === undefined || hostsAfter === undefined ? undefined : (used.user + used.system) / 1000 + hostsAfter - hostsBefore,
    };
  } finally {
    if (!reports) await Promise.all(writers.map((w) => w.stop().catch(() => undefined)));
  }
}

// ----- (a) etcd-kit ---------------------------------------------------------------------------------------

interface Round extends Measured {
  round: number;
  algorithm: KeyAlgorithm;
  ms: number;
  result: RotateCaResult;
  events: TimedEvent[];
}

async function rotateRound(tb: Testbed, spec: ReturnType<typeof testbedSpec>, endpoints: string[], round: number): Promise<Round> {
  const algorithm = algorithmOf(round);
  let result: RotateCaResult | undefined;
  let events: TimedEvent[] = [];
  let ms = 0;
  const m = await underWriters(tb, contractClient(spec.pki.dir, endpoints), `${PREFIX}${round}/`, async () => {
    const rec = recordEvents();
    const startedAt = Date.now();
    const start = performance.now();
    result = await rotateEtcdCa(spec, { keyAlgorithm: algorithm, onProgress: rec.onProgress });
    ms = performance.now() - start;
    events = rec.events;
    return { startedAt, endedAt: startedAt + ms };
  });
  const r = result!;
  const shape = r.steps.map((x) => `${x.phase}:${x.restarted}`).join(' ');
  const want = PHASES.flatMap((p) => Array.from({ length: 3 }, () => `${p}:${p !== 'new-leaves'}`)).join(' ');
  if (!r.began || !r.finished || shape !== want) throw new Error(`round ${round}: rotateEtcdCa began ${r.began}, finished ${r.finished}, steps ${shape}`);
  if (!r.health.endpoints.every((e) => e.healthy)) throw new Error(`round ${round}: not every member healthy at the end`);
  const ca = inspectCertificate(await readFile(pkiPaths(spec.pki.dir).caCert, 'utf8'));
  if (ca.keyAlgorithm !== algorithm || ca.fingerprint256 !== r.state.newCaFingerprint256) throw new Error(`round ${round}: ca.crt is not the new ${algorithm} CA`);
  return { ...m, round, algorithm, ms, result: r, events };
}

/** One member step cut at its progress events (see the header), ms. */
interface StepParts {
  phase: CaRotationRolledPhase;
  member: string;
  /** Moving leadership off it and the health check after (0: it was not the leader). */
  move: number;
  /** From its step's first event until its restart (new-leaves: the whole step). */
  stage: number;
  /** `systemctl restart` until etcd runs with a new main PID. */
  restart: number;
  /** Until every member is healthy, it caught up with the leader, and the step is verified and recorded. */
  settle: number;
  total: number;
}

const isRotateCa = (e: TimedEvent) => e.step === 'rotate-ca';
const phaseStarts = (e: TimedEvent, p: string) => isRotateCa(e) && e.member === undefined && (e.message ?? '').startsWith(`phase ${p}:`);
const stepDone = (e: TimedEvent, p: string) => isRotateCa(e) && e.member !== undefined && (e.message ?? '').startsWith(`${p} done`);

function stepParts(events: TimedEvent[]): StepParts[] {
  const out: StepParts[] = [];
  let phase: CaRotationRolledPhase | undefined;
  let moveAt: number | undefined;
  let cur: { member: string; start: number; moveAt: number | undefined; restartAt?: number; waitAt?: number } | undefined;
  for (const e of events) {
    const p = PHASES.find((x) => phaseStarts(e, x));
    if (p) {
      phase = p;
      continue;
    }
    if (phase === undefined) continue;
    if (e.leadership !== undefined) moveAt = e.at;
    else if (isRotateCa(e) && e.member !== undefined && (e.message ?? '').startsWith(`${phase}:`)) {
      cur = { member: e.member, start: e.at, moveAt };
      moveAt = undefined;
    } else if (cur && e.member === cur.member && e.step === 'restart') cur.restartAt ??= e.at;
    else if (cur && e.member === cur.member && e.step === 'wait-healthy') cur.waitAt ??= e.at;
    else if (cur && stepDone(e, phase) && e.member === cur.member) {
      const restartAt = cur.restartAt ?? e.at;
      const waitAt = cur.waitAt ?? restartAt;
      out.push({
        phase,
        member: cur.member,
        move: cur.moveAt === undefined ? 0 : cur.start - cur.moveAt,
        stage: restartAt - cur.start,
        restart: waitAt - restartAt,
        settle: e.at - waitAt,
        total: e.at - (cur.moveAt ?? cur.start),
      });
      cur = undefined;
    }
  }
  return out;
}

/**
 * The run cut at the first event of each stage (the last one, for a phase's end): the time from one
 * boundary to the next is that stage's. A boundary that is not found takes the previous one's time (its
 * stage shows 0), so a change in the events shows up as zeros, not as wrong numbers elsewhere.
 */
const KIT_STAGES: { label: string; starts: (events: TimedEvent[], from: number) => number }[] = (() => {
  const first = (pred: (e: TimedEvent) => boolean) => (events: TimedEvent[], from: number) => events.find((e) => e.at >= from && pred(e))?.at ?? from;
  const last = (pred: (e: TimedEvent) => boolean) => (events: TimedEvent[], from: number) => events.filter((e) => e.at >= from && pred(e)).at(-1)?.at ?? from;
  return [
    { label: 'validate, PKI dir lock + read, binaries, SSH connect', starts: () => 0 },
    { label: 'inspect hosts, observe members, begin (new CA)', starts: first((e) => e.step === 'inspect') },
    { label: 're-render for trust-both, reconnect, probe certs', starts: first((e) => isRotateCa(e) && /^began/.test(e.message ?? '')) },
    { label: 'trust-both: 3 member steps (restart)', starts: first((e) => phaseStarts(e, 'trust-both')) },
    { label: 'enter new-leaves: every leaf re-issued, re-render', starts: last((e) => stepDone(e, 'trust-both')) },
    { label: 'new-leaves: 3 member steps (no restart)', starts: first((e) => phaseStarts(e, 'new-leaves')) },
    { label: 'enter drop-old, re-render', starts: last((e) => stepDone(e, 'new-leaves')) },
    { label: 'drop-old: 3 member steps (restart)', starts: first((e) => phaseStarts(e, 'drop-old')) },
    { label: 'finish (new CA -> ca.crt, old retired), final health', starts: last((e) => stepDone(e, 'drop-old')) },
  ];
})();

/** Where each of {@link KIT_STAGES} starts, ms from the call. */
function kitBoundaries(events: TimedEvent[]): number[] {
  const at: number[] = [];
  for (const stage of KIT_STAGES) at.push(stage.starts(events, at.at(-1) ?? 0));
  return at;
}

function kitStages(events: TimedEvent[], totalMs: number): number[] {
  const at = kitBoundaries(events);
  return at.map((t, i) => (i + 1 < at.length ? at[i + 1]! : totalMs) - t);
}

/** The stage of {@link KIT_STAGES} that `ms` (from the call) falls in; "before"/"after" outside the call. */
function kitStageAt(events: TimedEvent[], totalMs: number, ms: number): string {
  if (ms < 0) return 'before the call';
  if (ms > totalMs) return 'after the call';
  const at = kitBoundaries(events);
  const i = at.reduce((acc, t, j) => (t <= ms ? j : acc), 0);
  return KIT_STAGES[i]!.label;
}

// ----- (b) manual -----------------------------------------------------------------------------------------

interface Manual extends Measured {
  algorithm: KeyAlgorithm;
  ms: number;
  /** issue (new CA + every leaf into the PKI dir), copy, stop + swap, start, until healthy; ms, sum = ms. */
  phases: [issue: number, copy: number, stop: number, start: number, healthy: number];
  /** Epoch ms of the PKI dir write and of the first successful health poll. */
  writtenAt: number;
  healthyAt: number;
}

const hostsOf = (cert: string) => {
  const info = inspectCertificate(cert);
  return { commonName: info.subject.commonName!, hosts: [...info.sans.dns, ...info.sans.ip], organization: info.subject.organizations[0] };
};

/** A new CA and every member and client certificate of the PKI dir re-issued by it, same names and SANs. */
async function reissuePkiDir(dir: string, algorithm: KeyAlgorithm): Promise<void> {
  const current = await readPkiDir(dir);
  const ca = await createCA({ keyAlgorithm: algorithm });
  const members: Record<string, MemberPki> = {};
  for (const [name, m] of Object.entries(current.members)) {
    const [server, peer] = await Promise.all([signServerCert(ca, hostsOf(m.server.certPem)), signPeerCert(ca, hostsOf(m.peer.certPem))]);
    members[name] = { server, peer };
  }
  const clients: Record<string, IssuedCertificate> = {};
  for (const [name, c] of Object.entries(current.clients)) {
    const { commonName, organization } = hostsOf(c.certPem);
    clients[name] = await signClientCert(ca, { commonName, ...(organization ? { organization } : {}) });
  }
  await writePkiDir(dir, { ca, members, clients });
}

async function recipe(tb: Testbed, pkiDir: string, names: string[]): Promise<{ copied: number; stopped: number; started: number; healthy: number }> {
  const args = [pkiDir, ...tb.hosts.map((h, i) => `${names[i]}=${h.ip}`)];
  const out = await runRecipe(RECIPE_SCRIPT, args, { SSH_KEY: tb.rootKeyPath, KNOWN_HOSTS: tb.knownHostsPath, ETCDCTL: release.etcdctl });
  const p = /^phases start [\d.]+ copied ([\d.]+) stopped ([\d.]+) started ([\d.]+) healthy ([\d.]+)$/m.exec(out.stdout);
  if (out.code !== 0 || !p) throw new Error(`recipe-rotate-ca.sh exited ${out.code}:\n${out.stderr.slice(-4000)}${out.stdout}`);
  const [copied, stopped, started, healthy] = [p[1], p[2], p[3], p[4]].map((x) => Number(x) * 1000) as [number, number, number, number];
  return { copied, stopped, started, healthy };
}

async function manualRotation(tb: Testbed, spec: ReturnType<typeof testbedSpec>, endpoints: string[], names: string[]): Promise<Manual> {
  const algorithm = algorithmOf(rounds + 1);
  let t = { writtenAt: 0, copied: 0, stopped: 0, started: 0, healthy: 0 };
  const m = await underWriters(tb, contractClient(spec.pki.dir, endpoints), `${PREFIX}manual/`, async () => {
    const startedAt = Date.now();
    await reissuePkiDir(spec.pki.dir, algorithm);
    const writtenAt = Date.now();
    const r = await recipe(tb, spec.pki.dir, names);
    t = { writtenAt, ...r };
    return { startedAt, endedAt: Date.now() };
  });
  const ca = inspectCertificate(await readFile(pkiPaths(spec.pki.dir).caCert, 'utf8'));
  if (ca.keyAlgorithm !== algorithm) throw new Error(`(b): ca.crt is ${ca.keyAlgorithm}, not the new ${algorithm} CA`);
  return {
    ...m,
    algorithm,
    ms: m.endedAt - m.startedAt,
    phases: [t.writtenAt - m.startedAt, t.copied - t.writtenAt, t.stopped - t.copied, t.started - t.stopped, m.endedAt - t.started],
    writtenAt: t.writtenAt,
    healthyAt: t.healthy,
  };
}

// ----- main -----------------------------------------------------------------------------------------------

console.log(`etcd-kit CA-rotation benchmark — node ${process.version}, ${availableParallelism()} cores, load ${load()} (start)`);
console.log(`testbed ${testbedId}: 3 systemd-nspawn Debian 12 hosts on veth, one cluster for every run; etcd ${release.version} (${release.source}), deployed with an rsa-2048 PKI (untimed)`);
console.log(
  `writers: ${WRITER_COUNT} at once, each a loop of etcdctl ${release.version} put processes (one write at a time) re-reading ca-bundle.crt + clients/admin.* per write,` +
    ` --command-timeout ${writeTimeoutMs} ms, 3 endpoints; slow = ack after > ${DEFAULT_SLOW_ACK_MS} ms; started (first acks + ${WRITER_MARGIN_MS} ms) before each run, stopped ${WRITER_MARGIN_MS} ms after`,
);
console.log(
  `rounds: ${rounds} rotations on the same cluster, new CA ${Array.from({ length: rounds }, (_, i) => algorithmOf(i + 1)).join(', ')}; then ${runManual ? `(b) the manual procedure once (new CA ${algorithmOf(rounds + 1)})` : 'no (b) (--skip-manual)'}\n`,
);

const runs: Round[] = [];
const wallStart = performance.now();
const overhead = { boot: 0, deploy: 0, destroy: 0 };
let tb: Testbed | undefined;
let pkiParent: string | undefined;
try {
  let t = performance.now();
  tb = await startTestbed({ hosts: 3, id: testbedId });
  await Promise.all(tb.hosts.map((h) => tb!.exec(h.name, 'systemctl is-system-running --wait', { allowFailure: true })));
  overhead.boot = performance.now() - t;
  t = performance.now();
  const spec = testbedSpec(tb, release.tarball);
  pkiParent = dirname(spec.pki.dir);
  spec.pki = { ...spec.pki, keyAlgorithm: 'rsa-2048' };
  const deployed = await deployEtcdCluster(spec);
  const names = tb.hosts.map((_, i) => `etcd0${i + 1}`);
  overhead.deploy = performance.now() - t;

  for (let round = 1; round <= rounds; round++) {
    const run = await rotateRound(tb, spec, deployed.endpoints, round);
    runs.push(run);
    const phases = run.result.phases.map((p) => s(p.durationMs)).join(' / ');
    process.stderr.write(
      `round ${round}/${rounds} (${run.algorithm}) ${s(run.ms)} s [${phases}] failed ${run.writes.map((w) => w.failed).join('/')}, slow ${run.writes.map((w) => w.slow).join('/')}, lost ${sum(run.writes.map((w) => w.lost))}, max gap ${s(run.maxGapMs, 2)} s — ${((performance.now() - wallStart) / 1000).toFixed(0)} s so far\n`,
    );
  }
  const manual = runManual ? await manualRotation(tb, spec, deployed.endpoints, names) : undefined;
  if (manual) {
    process.stderr.write(
      `(b) manual (${manual.algorithm}) ${s(manual.ms)} s, failed ${manual.writes.map((w) => w.failed).join('/')}, max gap ${s(manual.maxGapMs, 2)} s — ${((performance.now() - wallStart) / 1000).toFixed(0)} s so far\n`,
    );
  }

  // ----- report -------------------------------------------------------------------------------------------
  const cols = (cells: string[], widths: number[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('');
  const pair = (ws: WriteStats[], f: (w: WriteStats) => number) => ws.map(f).join('/');
  const widths = [8, 12, 9, 12, 12, 10, 12, 10, 9, 9, 11, 8];
  const head = ['round', 'new CA', 'total s', 'trust-both', 'new-leaves', 'drop-old', 'acked', 'failed', 'slow', 'lost', 'max gap s', 'cpu s'];
  const phaseMs = (r: Round, p: CaRotationRolledPhase) => r.result.phases.find((x) => x.phase === p)?.durationMs;
  console.log('(a) per rotation, s; phases from result.phases; acked/failed/slow per writer (w1/w2) while the call ran; lost: acked, not readable afterwards;');
  console.log('max gap: longest stretch without an ack of either writer while the call ran; cpu: controller + hosts, the etcdctl processes excluded');
  console.log(cols(head, widths));
  for (const r of runs) {
    console.log(
      cols(
        [
          String(r.round),
          r.algorithm,
          s(r.ms, 2),
          ...PHASES.map((p) => s(phaseMs(r, p), 2)),
          pair(r.writes, (w) => w.acked),
          pair(r.writes, (w) => w.failed),
          pair(r.writes, (w) => w.slow),
          pair(r.writes, (w) => w.lost),
          s(r.maxGapMs, 2),
          s(r.cpuMs),
        ],
        widths,
      ),
    );
  }
  const medW = (f: (w: WriteStats) => number) => Array.from({ length: WRITER_COUNT }, (_, i) => median(runs.map((r) => f(r.writes[i]!)))).join('/');
  console.log(
    cols(
      [
        'median',
        '',
        s(median(runs.map((r) => r.ms)), 2),
        ...PHASES.map((p) => s(median(runs.map((r) => phaseMs(r, p) ?? Number.NaN)), 2)),
        medW((w) => w.acked),
        medW((w) => w.failed),
        medW((w) => w.slow),
        Array.from({ length: WRITER_COUNT }, (_, i) => Math.max(...runs.map((r) => r.writes[i]!.lost))).join('/'),
        s(median(runs.map((r) => r.maxGapMs)), 2),
        runs.some((r) => r.cpuMs === undefined) ? '-' : s(median(runs.map((r) => r.cpuMs!))),
      ],
      widths,
    ),
  );
  console.log('(median row: lost = the worst run)');

  console.log('\nmember steps (result.steps: staged, restarted if r, healthy + caught up, verified on the running etcd), s, in the order carried out:');
  for (const r of runs) {
    const byPhase = PHASES.map((p) => `${p}: ${r.result.steps.filter((x) => x.phase === p).map((x) => `${x.member} ${s(x.durationMs, 2)}${x.restarted ? ' r' : ''}`).join(', ')}`);
    console.log(`  round ${r.round}  ${byPhase.join('  |  ')}`);
  }
  const stepMs = (r: Round, p: CaRotationRolledPhase) => r.result.steps.filter((x) => x.phase === p).map((x) => x.durationMs);
  console.log(`  median step: ${PHASES.map((p) => `${p} ${s(median(runs.flatMap((r) => stepMs(r, p))), 2)}`).join(', ')} (over every member and round)`);

  if (manual) {
    const mw = [8, 10, 9, 9, 8, 8, 8, 9, 12, 10, 8, 11];
    console.log('\n(b) manual procedure (bench/recipe-rotate-ca.sh), s: issue = new CA + every leaf into the PKI dir; copy = scp to every host; stop = stop + files');
    console.log('moved on every host; start = start --no-block on every host; ok = then until every endpoint is healthy; down = PKI dir written -> healthy');
    console.log(cols(['run', 'new CA', 'total s', 'issue', 'copy', 'stop', 'start', 'ok', 'acked', 'failed', 'lost', 'max gap s'], mw));
    console.log(
      cols(
        [
          '(b)',
          manual.algorithm,
          s(manual.ms, 2),
          ...manual.phases.map((p) => s(p, 2)),
          pair(manual.writes, (w) => w.acked),
          pair(manual.writes, (w) => w.failed),
          pair(manual.writes, (w) => w.lost),
          s(manual.maxGapMs, 2),
        ],
        mw,
      ),
    );
    console.log(`  down (PKI dir written -> healthy): ${s(manual.healthyAt - manual.writtenAt, 2)} s; cpu ${s(manual.cpuMs)} s; its failed writes:`);
    for (const [i, w] of manual.writes.entries()) {
      for (const g of failureGroups(w.failures)) {
        const at = g.failures.map((f) => s(f.at - manual.writtenAt, 2));
        console.log(`    w${i + 1}: ${g.failures.length} x ${g.what}; started at ${at.slice(0, 6).join(' ')}${at.length > 6 ? ' ...' : ''} s from the PKI dir write`);
      }
    }
  }

  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const failedAll = runs.map((r) => pair(r.writes, (w) => w.failed)).join(' ');
  const lostAll = runs.map((r) => pair(r.writes, (w) => w.lost)).join(' ');
  const totalFailed = sum(runs.map((r) => sum(r.writes.map((w) => w.failed))));
  const totalLost = sum(runs.map((r) => sum(r.writes.map((w) => w.lost)))) + (manual ? sum(manual.writes.map((w) => w.lost)) : 0);
  console.log('\ntargets:');
  console.log(`  failed writes during the rotation  (a) ${failedAll}  (w1/w2 per round)   target 0   ${verdict(totalFailed === 0)}`);
  console.log(`  lost writes                        (a) ${lostAll}${manual ? `, (b) ${pair(manual.writes, (w) => w.lost)}` : ''}   target 0   ${verdict(totalLost === 0)}`);
  console.log(`  info: slow acks (> ${DEFAULT_SLOW_ACK_MS} ms) during the rotation: ${runs.map((r) => pair(r.writes, (w) => w.slow)).join(' ')}; failed outside it (margins): ${runs.map((r) => pair(r.writes, (w) => w.failedOutside)).join(' ')}`);
  console.log(
    `  info: ack latency per writer run (ms, min/median/p95/max): ${runs.map((r) => `round ${r.round} ${r.writes.map((w) => (w.latency ? `${w.latency.min.toFixed(0)}/${w.latency.median.toFixed(0)}/${w.latency.p95.toFixed(0)}/${w.latency.max.toFixed(0)}` : '-')).join(' ')}`).join('; ')}`,
  );
  for (const r of runs) {
    for (const [i, w] of r.writes.entries()) {
      for (const g of failureGroups(w.failures)) {
        const where = g.failures.map((f) => `${s(f.at - r.startedAt, 2)} s +${f.ms} ms (${kitStageAt(r.events, r.ms, f.at - r.startedAt)})`);
        console.log(`  info: round ${r.round} w${i + 1}: ${g.failures.length} x ${g.what}; process started at ${where.join(', ')}`);
      }
    }
  }
  if (manual) {
    const ratio = median(runs.map((r) => r.ms)) / manual.ms;
    console.log(
      `  info: (b) manual: ${s(manual.ms, 2)} s wall, ${sum(manual.writes.map((w) => w.failed))} failed writes, outage (longest gap) ${s(manual.maxGapMs, 2)} s; etcd-kit takes ${ratio.toFixed(1)}x its wall time (median) with ${totalFailed} failed writes over ${runs.length} rotations and a longest gap of ${s(Math.max(...runs.map((r) => r.maxGapMs)), 2)} s`,
    );
  }

  console.log(`\nwhere etcd-kit's time goes (median over ${runs.length} rotations, s; stages cut at their progress events; then each round):`);
  const stages = runs.map((r) => kitStages(r.events, r.ms));
  KIT_STAGES.forEach((st, i) => {
    console.log(`  ${st.label.padEnd(56)}${s(median(stages.map((x) => x[i]!)), 2).padStart(7)}   ${stages.map((x) => s(x[i]!, 2)).join(' ')}`);
  });
  console.log(`  ${'before the first member step (the first three)'.padEnd(56)}${s(median(stages.map((x) => x[0]! + x[1]! + x[2]!)), 2).padStart(7)}`);
  console.log(`  ${'total'.padEnd(56)}${s(median(runs.map((r) => r.ms)), 2).padStart(7)}`);
  const parts = runs.map((r) => stepParts(r.events));
  const partKeys = ['move', 'stage', 'restart', 'settle', 'total'] as const;
  const partHead = ['move-leader', 'stage', 'restart', 'healthy+verify', 'step'];
  console.log(`\n  per member step, n-th of its phase, median over rounds (s; members: who it was in each round):`);
  console.log(`  ${'phase #'.padEnd(14)}${partHead.map((h) => h.padStart(15)).join('')}   members`);
  for (const p of PHASES) {
    for (let i = 0; i < 3; i++) {
      const xs = parts.map((ps) => ps.filter((x) => x.phase === p)[i]).filter((x): x is StepParts => x !== undefined);
      if (xs.length === 0) continue;
      console.log(`  ${`${p} ${i + 1}`.padEnd(14)}${partKeys.map((k) => s(median(xs.map((x) => x[k])), 2).padStart(15)).join('')}   ${xs.map((x) => x.member).join(' ')}`);
    }
  }
  console.log('  move-leader = leadership moved off it + health check (0 unless it was the leader); stage = its new CA file uploaded and placed (new-leaves:');
  console.log('  the whole step: new pair placed, served cert verified, health); restart = until etcd runs with a new PID; healthy+verify = until every member');
  console.log("  is healthy, it caught up with the leader, and it accepts (drop-old: refuses) the right CA's client certs on both ports; step = move + the rest");

  const mid = [...runs].sort((x, y) => x.ms - y.ms)[(runs.length - 1) >> 1]!;
  console.log(`\nevents of the median rotation (round ${mid.round}, ${s(mid.ms, 2)} s; uploads, applies and starts left out):`);
  let shown: TimedEvent | undefined;
  for (const e of mid.events) {
    if (e.step === 'upload' || e.step === 'apply' || e.step === 'start' || e.step === 'binaries' || e.step === 'validate' || e.step === 'pki') continue;
    // The restart is reported twice (the roll's and systemd's): once is enough.
    if (shown && shown.step === e.step && shown.member === e.member && shown.message === e.message) continue;
    shown = e;
    console.log(`  ${e.at.toFixed(0).padStart(7)}  ${e.step.padEnd(12)} ${(e.member ?? '').padEnd(7)} ${e.message ?? ''}`);
  }
  console.log(`  ${mid.ms.toFixed(0).padStart(7)}  (returned)`);
} finally {
  const t = performance.now();
  await tb?.destroy();
  overhead.destroy = performance.now() - t;
  if (pkiParent) await rm(pkiParent, { recursive: true, force: true });
}
const o = overhead;
console.log(
  `\nload ${load()} (end), total ${((performance.now() - wallStart) / 1000).toFixed(0)} s, of which untimed: boot ${s(o.boot, 0)} s, rsa-2048 deploy ${s(o.deploy, 0)} s, destroy ${s(o.destroy, 0)} s`,
);
