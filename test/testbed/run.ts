import { spawn, spawnSync } from 'node:child_process';

/** What a finished command left behind. */
export interface RunResult {
  /** Everything the command wrote to stdout (UTF-8). */
  stdout: string;
  /** Everything the command wrote to stderr (UTF-8). */
  stderr: string;
  /** Exit code; 128 + signal number when a signal ended it. */
  code: number;
}

/** Options of {@link run} and {@link runSync}. */
export interface RunOptions {
  /** Resolve with a non-zero exit code instead of throwing. Default: false. */
  allowFailure?: boolean;
  /** Written to the command's stdin, which is then closed. Default: nothing (stdin is empty). */
  input?: string | Buffer;
  /** Kill the command (SIGKILL) after this many ms. Default: 0 (no limit). */
  timeoutMs?: number;
  /** Environment. Default: a minimal one (PATH with the sbin dirs, LANG=C.UTF-8). */
  env?: NodeJS.ProcessEnv;
  /** Called with each line of output as it arrives (for progress logs). Default: none. */
  onLine?: (line: string) => void;
}

/** PATH with the sbin directories: ip, debootstrap and nsenter live there, and sudo-less shells often lack them. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const baseEnv = { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', HOME: '/root' };

const signalCodes: Record<string, number> = { SIGKILL: 137, SIGTERM: 143, SIGINT: 130 };

function describeFailure(argv: readonly string[], r: RunResult): Error {
  const shown = argv.join(' ').slice(0, 300);
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
  return new Error(`command failed (exit ${r.code}): ${shown}${tail ? `\n${tail}` : ''}`);
}

/** Runs a program (no shell) and collects its output; throws on a non-zero exit unless `allowFailure`. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? baseEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let partial = '';
    const feed = (chunk: Buffer): void => {
      if (!opts.onLine) return;
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) opts.onLine(line);
    };
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      feed(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      feed(c);
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial && opts.onLine) opts.onLine(partial);
      const r: RunResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? (signal ? (signalCodes[signal] ?? 128) : 1),
      };
      if (r.code !== 0 && !opts.allowFailure) reject(describeFailure(argv, r));
      else resolve(r);
    });
    child.stdin.on('error', () => {}); // a command that exits without reading stdin must not crash us
    child.stdin.end(opts.input ?? '');
  });
}

/** Synchronous {@link run}, for process-exit cleanup where no event loop is left to wait on. */
export function runSync(argv: readonly string[], opts: Omit<RunOptions, 'onLine'> = {}): RunResult {
  const [file, ...args] = argv;
  if (!file) throw new Error('runSync: empty argv');
  const p = spawnSync(file, args, {
    env: opts.env ?? baseEnv,
    input: opts.input ?? '',
    timeout: opts.timeoutMs || undefined,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (p.error) throw new Error(`cannot run ${file}: ${p.error.message}`, { cause: p.error });
  const r: RunResult = {
    stdout: p.stdout.toString('utf8'),
    stderr: p.stderr.toString('utf8'),
    code: p.status ?? (p.signal ? (signalCodes[p.signal] ?? 128) : 1),
  };
  if (r.code !== 0 && !opts.allowFailure) throw describeFailure(argv, r);
  return r;
}

/** Blocks the thread for `ms` (sync cleanup paths only). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
