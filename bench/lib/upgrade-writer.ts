/**
 * The continuous writer of bench/upgrade.ts, in a child process of its own (this file, forked with the
 * parent's `--import tsx`), so that neither etcd-kit's work on the controller (hashing, TLS, SSH) nor the
 * bench's own bookkeeping delays its puts, and (a) and (b) see the very same client. It puts `<prefix><n>` =
 * `n` with increasing n through one multi-endpoint mTLS client, one put in flight, a new one started every
 * `intervalMs` (sooner is not possible: the next put waits for the previous). Two clients to choose from:
 * - `kit`: etcd-kit's {@link createEtcdClient}, i.e. etcd3's fault handling: a call retried up to 3 times
 *   on recoverable errors, and per member a circuit breaker that opens after 3 consecutive failures and
 *   lets a call through again only after 5 s. What an etcd-kit user's application gets.
 * - `no-breaker`: the same client (same etcd3, same mTLS, same 3 retries) without the per-member breakers,
 *   so a put fails only when the cluster itself did not take it in time: what the cluster allowed.
 * Each put has a deadline of `timeoutMs` (gRPC deadline, plus a timer in case gRPC answers late); a put that
 * fails or times out counts as failed — its outcome is unknown, so it is never counted as acknowledged — and
 * the next key is tried 20 ms later. Every ack and failure is timestamped (epoch ms,
 * `performance.timeOrigin + performance.now()` in both processes), so the bench can say in which member's
 * turn writes failed and how long the longest stretch without an acknowledged write was.
 *
 * Like test/deploy/writer.ts (whose lost-writes check {@link lostWrites} copies), but paced, with a timeout,
 * timestamps and its own process.
 * @module
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Etcd3, type IOptions } from 'etcd3';
import type { EtcdTlsOptions } from '../../src/index.js';
import { createEtcdClient } from '../../src/etcd-entry.js';

/** How the writer writes. */
export interface WriterOptions {
  endpoints: string[];
  tls: EtcdTlsOptions;
  /** Key prefix, e.g. `/bench-upgrade/`. */
  prefix: string;
  /** A new put starts this long after the previous one started (or at once, when that one took longer). */
  intervalMs: number;
  /** Deadline of each put. */
  timeoutMs: number;
  /** Which client (see the module comment). */
  client: 'kit' | 'no-breaker';
}

/** What a writer saw between start and stop. */
export interface WriterReport {
  /** Acknowledged keys, in write order. */
  acked: string[];
  /** Epoch ms of each ack (same order as `acked`). */
  ackAt: number[];
  /** Epoch ms at which each failed put gave up (error or timeout). */
  failedAt: number[];
  /** Epoch ms when the writer started and stopped. */
  startedAt: number;
  stoppedAt: number;
  /** CPU the writer process used, ms. */
  cpuMs: number;
  /** Failed puts by error (the error's name and first line, ids and numbers masked). */
  errors: Record<string, number>;
}

/** A running writer. */
export interface Writer {
  /** Resolves once the first put was acknowledged (the client is connected). */
  readonly ready: Promise<void>;
  /** Stops after the put in flight and returns what it saw. */
  stop(): Promise<WriterReport>;
}

/** Epoch ms, sub-millisecond, consistent across processes. */
export const nowEpochMs = (): number => performance.timeOrigin + performance.now();

/** Starts the writer in a child process. */
export function startWriter(options: WriterOptions): Writer {
  const child = fork(fileURLToPath(import.meta.url), [WRITER_ARG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let exited: (err: Error) => void = () => {};
  const gone = new Promise<never>((_, reject) => {
    exited = reject;
  });
  gone.catch(() => {});
  const message = <T>(type: string) =>
    Promise.race([
      new Promise<T>((resolve) => {
        const listener = (m: { type: string; report?: WriterReport }) => {
          if (m.type !== type) return;
          child.off('message', listener);
          resolve(m as T);
        };
        child.on('message', listener);
      }),
      gone,
    ]);
  const ready = message<unknown>('ready').then(() => undefined);
  const report = message<{ report: WriterReport }>('report');
  ready.catch(() => {});
  report.catch(() => {});
  child.on('exit', (code, signal) => exited(new Error(`writer process exited (${code ?? signal}) before reporting`)));
  child.send({ type: 'start', options });
  return {
    ready,
    async stop() {
      if (child.connected) child.send({ type: 'stop' });
      try {
        return (await report).report;
      } finally {
        if (child.connected) child.disconnect();
      }
    },
  };
}

// The acknowledged keys the cluster does not hold (expected: none): the e2e tests' own check.
export { lostWrites } from '../../test/deploy/writer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WRITER_ARG = '--bench-upgrade-writer';

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['host']> extends (h: string) => infer P ? P : never;
const neverAborted = new AbortController().signal;
const noSubscription = () => ({ dispose: (): void => undefined });
/** cockatiel's `noop` rebuilt structurally (cockatiel is etcd3's dependency, not ours), as in src/etcd/client.ts. */
const passThrough = {
  onSuccess: noSubscription,
  onFailure: noSubscription,
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    fn({ signal: signal ?? neverAborted }),
} as unknown as FaultPolicy;

function writerClient(o: WriterOptions): Etcd3 {
  if (o.client === 'kit') return createEtcdClient({ endpoints: o.endpoints, tls: o.tls });
  return new Etcd3({
    hosts: o.endpoints,
    credentials: { rootCertificate: Buffer.from(o.tls.caPem), certChain: Buffer.from(o.tls.certPem), privateKey: Buffer.from(o.tls.keyPem) },
    faultHandling: { host: () => passThrough },
  });
}

/** The child's loop. */
async function runWriter(o: WriterOptions): Promise<void> {
  const client = writerClient(o);
  let writing = true;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') writing = false;
  });
  const send = (m: unknown) => process.send!(m);
  const r: WriterReport = { acked: [], ackAt: [], failedAt: [], startedAt: nowEpochMs(), stoppedAt: 0, cpuMs: 0, errors: {} };
  for (let i = 0; writing; i++) {
    const key = `${o.prefix}${i}`;
    const began = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const put = client
        .put(key)
        .value(String(i))
        .options({ deadline: new Date(Date.now() + o.timeoutMs) })
        .exec();
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), o.timeoutMs + 50);
      });
      put.catch(() => {}); // a put given up on may still fail later
      await Promise.race([put, late]);
      r.acked.push(key);
      r.ackAt.push(nowEpochMs());
      if (r.acked.length === 1) send({ type: 'ready' });
      const wait = o.intervalMs - (performance.now() - began);
      if (wait > 0) await sleep(wait);
    } catch (err) {
      r.failedAt.push(nowEpochMs());
      const e = err as Error;
      const what = `${e.name}: ${String(e.message).split('\n')[0]!.replace(/\d+/g, 'N')}`.slice(0, 160);
      r.errors[what] = (r.errors[what] ?? 0) + 1;
      await sleep(20);
    } finally {
      clearTimeout(timer);
    }
  }
  r.stoppedAt = nowEpochMs();
  client.close();
  const cpu = process.cpuUsage();
  r.cpuMs = (cpu.user + cpu.system) / 1000;
  send({ type: 'report', report: r });
}

if (process.argv.includes(WRITER_ARG) && process.send) {
  process.once('message', (m: { type: string; options: WriterOptions }) => {
    if (m.type === 'start') void runWriter(m.options);
  });
  process.on('disconnect', () => process.exit(0));
}
