// A writer that is a client re-reading its TLS files before every request: a loop of `etcdctl put`
// processes, one per write, each reading the CA bundle and the client certificate and key from disk when it
// starts. It proves the CA rotation's contract for clients ("a client that re-reads ca-bundle.crt and
// clients/<name>.crt/.key before each request never fails") by counting the writes that failed, and
// remembers the acknowledged keys so a test can check every one is readable afterwards.
// Unlike writer.ts it never retries a key: a failed write is recorded and the next key is written.
//
// What etcdctl (3.4 to 3.7) reads when: the CA file once, at start; the client cert and key at start and again
// at every TLS handshake, and it retries a refused handshake (gRPC backoff, about 1 s) until its command
// timeout. So a client pair that is wrong for less than the timeout costs a slow ack, not a failure: slow
// acks are recorded too (`slowAckMs`).
import { execFile } from 'node:child_process';

/** Which etcdctl to run, against which members, with which TLS files (read by every etcdctl process anew). */
export interface EtcdctlClientOptions {
  /** Path of the etcdctl binary (3.4 to 3.7). */
  etcdctl: string;
  /** Client URLs of the members, `https://host:port`. */
  endpoints: string[];
  /** CA bundle to verify the members with (`--cacert`), e.g. the PKI dir's `ca-bundle.crt`. */
  caFile: string;
  /** Client certificate (`--cert`), e.g. `clients/<name>.crt`. */
  certFile: string;
  /** Its key (`--key`), e.g. `clients/<name>.key`. */
  keyFile: string;
  /**
   * etcdctl's `--command-timeout`, in ms. The process is killed (a failure with code `null`) when it is still
   * running {@link KILL_GRACE_MS} after that. Default: 5000.
   */
  timeoutMs?: number;
}

/** Options of {@link startEtcdctlWriter}. */
export interface EtcdctlWriterOptions extends EtcdctlClientOptions {
  /** Keys written are `<prefix>0`, `<prefix>1`, … with the number as the value. */
  prefix: string;
  /** Runs after each acknowledged write, e.g. to note which step of a rotation it landed in. */
  onAck?: (key: string) => void;
  /**
   * An acknowledged write whose process ran longer than this (ms) is also listed in
   * {@link EtcdctlWriterReport.slowAcks}: a healthy put takes 10–30 ms, one that needed a second TLS handshake
   * about 1 s. Default: {@link DEFAULT_SLOW_ACK_MS}.
   */
  slowAckMs?: number;
}

/** An acknowledged write that took longer than `slowAckMs`. */
export interface EtcdctlSlowAck {
  key: string;
  /** When its etcdctl process was started (ms since the epoch). */
  at: number;
  /** How long the process ran, ms. */
  ms: number;
}

/** One write that failed. */
export interface EtcdctlWriteFailure {
  /** The key the write was for (never written again). */
  key: string;
  /** When its etcdctl process was started (ms since the epoch, `Date.now()`). */
  at: number;
  /** How long the process ran, ms. */
  ms: number;
  /** Exit code; `null` when the process was killed (still running past the timeout, or by a signal). */
  code: number | null;
  /** The last non-empty line of etcdctl's stderr (`Error: context deadline exceeded`), or why it was killed. */
  stderr: string;
  /**
   * The gRPC error the client logged before that line, when it logged one (e.g. `… remote error: tls: unknown
   * certificate authority`): `context deadline exceeded` alone does not say why. Empty when none.
   */
  cause: string;
}

/** Latency of the acknowledged writes: one etcdctl process each, start to exit, ms. */
export interface EtcdctlWriteLatency {
  min: number;
  median: number;
  p95: number;
  max: number;
  mean: number;
}

/** What a {@link startEtcdctlWriter} run saw. */
export interface EtcdctlWriterReport {
  /** Keys etcd acknowledged (exit 0 and `OK` printed), in write order. */
  acked: string[];
  /** Writes that failed, in write order. */
  failures: EtcdctlWriteFailure[];
  /** Acknowledged writes slower than `slowAckMs`, in write order (also in `acked`). */
  slowAcks: EtcdctlSlowAck[];
  /** Writes attempted: `acked.length + failures.length`. Keys `<prefix>0` … `<prefix><writes - 1>`. */
  writes: number;
  /** From the start of the writer to the end of its last write, ms. */
  durationMs: number;
  /** Latency of the acknowledged writes; undefined when none was acknowledged. */
  latencyMs: EtcdctlWriteLatency | undefined;
}

/** A running writer. */
export interface EtcdctlWriter {
  /** Acknowledged writes so far. */
  readonly ackedCount: number;
  /** Failed writes so far. */
  readonly failedCount: number;
  /** The failures so far whose process started at or after `t` (ms since the epoch), see {@link failuresBetween}. */
  failuresSince(t: number): EtcdctlWriteFailure[];
  /** Stops writing, waits for the write in flight (at most the timeout plus {@link KILL_GRACE_MS}) and returns what it saw. */
  stop(): Promise<EtcdctlWriterReport>;
}

/** Default `timeoutMs`. */
export const DEFAULT_ETCDCTL_TIMEOUT_MS = 5000;
/** Default `slowAckMs`. */
export const DEFAULT_SLOW_ACK_MS = 500;
/** How long past its `--command-timeout` an etcdctl process may run before it is killed. */
export const KILL_GRACE_MS = 2000;

/** Output up to this size is read from etcdctl (keys-only listings of long runs). */
const MAX_BUFFER = 256 * 1024 * 1024;

/** A Go duration for etcdctl's flags: `5s`, or `1500ms` when not whole seconds. */
function goDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`timeoutMs must be a positive integer, got ${ms}`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function globalFlags(o: EtcdctlClientOptions): string[] {
  if (o.endpoints.length === 0) throw new Error('no endpoints');
  return [
    `--endpoints=${o.endpoints.join(',')}`,
    `--cacert=${o.caFile}`,
    `--cert=${o.certFile}`,
    `--key=${o.keyFile}`,
    `--command-timeout=${goDuration(o.timeoutMs ?? DEFAULT_ETCDCTL_TIMEOUT_MS)}`,
  ];
}

interface Run {
  code: number | null;
  /** Killed by execFile's timeout. */
  killed: boolean;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs etcdctl once (no shell, API v3, nothing of this process's ETCDCTL_* environment). Never rejects. */
function runEtcdctl(o: EtcdctlClientOptions, args: string[]): Promise<Run> {
  const killAfter = (o.timeoutMs ?? DEFAULT_ETCDCTL_TIMEOUT_MS) + KILL_GRACE_MS;
  const flags = globalFlags(o);
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      o.etcdctl,
      [...flags, ...args],
      {
        timeout: killAfter,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_BUFFER,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' },
      },
      (err, stdout, stderr) => {
        const ms = performance.now() - started;
        if (!err) return resolve({ code: 0, killed: false, stdout, stderr, ms });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string | null };
        const killed = e.killed === true || (e.signal !== null && e.signal !== undefined);
        // A string code is a spawn failure (ENOENT, EACCES): no exit code, the reason goes to stderr.
        const code = typeof e.code === 'number' ? e.code : killed ? null : -1;
        const why = typeof e.code === 'string' ? `${e.code}: ${e.message}` : killed ? `killed (${e.signal ?? 'SIGKILL'}) after ${Math.round(ms)} ms` : '';
        resolve({ code, killed, stdout, stderr: stderr || why, ms });
      },
    );
  });
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.at(-1) ?? '';
}

/** The `error` field of the last JSON log line that has one (etcd's client logs retries as JSON on stderr). */
function lastLoggedError(stderr: string): string {
  const lines = stderr.split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { error?: unknown };
      if (typeof entry.error === 'string' && entry.error !== '') return entry.error;
    } catch {
      // not a log line
    }
  }
  return '';
}

function latency(samples: number[]): EtcdctlWriteLatency | undefined {
  if (samples.length === 0) return undefined;
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    min: round(s[0]!),
    median: round(at(0.5)),
    p95: round(at(0.95)),
    max: round(s.at(-1)!),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/**
 * Starts writing `<prefix><n>` = `n`, `n` = 0, 1, …, one `etcdctl put` process after the other:
 * `etcdctl --endpoints=… --cacert=… --cert=… --key=… --command-timeout=… put <prefix><n> <n>`. A write is
 * acknowledged when etcdctl exits 0 and printed `OK`; any other outcome is recorded as a failure and the
 * writer goes on with the next key (a failed key is never retried, so failures are counted, not hidden).
 *
 * @example
 * ```ts
 * const paths = pkiPaths(cluster.pkiDir);
 * const writer = startEtcdctlWriter({ etcdctl, endpoints, caFile: paths.caBundle, certFile: paths.client('admin').cert,
 *   keyFile: paths.client('admin').key, prefix: '/rotation/' });
 * // … rotate …
 * const report = await writer.stop();
 * expect(report.failures).toEqual([]);
 * expect(missingWrites(report.acked, await etcdctlRead(opts, '/rotation/'))).toEqual([]);
 * ```
 */
export function startEtcdctlWriter(opts: EtcdctlWriterOptions): EtcdctlWriter {
  globalFlags(opts); // bad options throw here, not in the loop
  const { prefix, onAck, slowAckMs = DEFAULT_SLOW_ACK_MS } = opts;
  const acked: string[] = [];
  const failures: EtcdctlWriteFailure[] = [];
  const slowAcks: EtcdctlSlowAck[] = [];
  const ackMs: number[] = [];
  const started = Date.now();
  let ended = started;
  let writing = true;
  let writes = 0;

  const loop = (async () => {
    for (let n = 0; writing; n++) {
      const key = `${prefix}${n}`;
      const at = Date.now();
      const run = await runEtcdctl(opts, ['put', key, String(n)]);
      writes++;
      ended = Date.now();
      if (run.code === 0 && run.stdout.trim() === 'OK') {
        acked.push(key);
        ackMs.push(run.ms);
        if (run.ms > slowAckMs) slowAcks.push({ key, at, ms: Math.round(run.ms) });
        onAck?.(key);
      } else {
        const stderr = lastLine(run.stderr) || `exit ${run.code} without OK; stdout: ${lastLine(run.stdout)}`;
        failures.push({ key, at, ms: Math.round(run.ms), code: run.code, stderr, cause: lastLoggedError(run.stderr) });
      }
    }
  })();
  // An onAck that throws ends the loop; stop() rethrows it. Until then it is not an unhandled rejection.
  loop.catch(() => {});

  let report: Promise<EtcdctlWriterReport> | undefined;
  return {
    get ackedCount() {
      return acked.length;
    },
    get failedCount() {
      return failures.length;
    },
    failuresSince: (t) => failuresBetween(failures, t),
    stop() {
      writing = false;
      report ??= loop.then(() => ({ acked, failures, slowAcks, writes, durationMs: ended - started, latencyMs: latency(ackMs) }));
      return report;
    },
  };
}

/** The failures whose process started in `[from, to)` (ms since the epoch; `to` default: no end). */
export function failuresBetween(failures: readonly EtcdctlWriteFailure[], from: number, to = Number.POSITIVE_INFINITY): EtcdctlWriteFailure[] {
  return failures.filter((f) => f.at >= from && f.at < to);
}

/**
 * The keys stored under `prefix`, read with `etcdctl get --prefix --keys-only` (one fresh etcdctl process, the
 * same TLS files). Throws with etcdctl's stderr when it fails.
 */
export async function etcdctlRead(opts: EtcdctlClientOptions, prefix: string): Promise<string[]> {
  const run = await runEtcdctl(opts, ['get', prefix, '--prefix', '--keys-only']);
  if (run.code !== 0) throw new Error(`etcdctl get --prefix ${prefix} failed (exit ${run.code}): ${lastLine(run.stderr)}`);
  // Keys-only output: each key on its own line, followed by an empty line.
  return run.stdout.split('\n').filter((line) => line !== '');
}

/** The acknowledged keys missing from `stored` (expected: none), in write order. */
export function missingWrites(acked: readonly string[], stored: Iterable<string>): string[] {
  const have = new Set(stored);
  return acked.filter((k) => !have.has(k));
}
