/**
 * Runs one of the benches' recipe scripts (bash, the documented manual procedure a bench compares
 * etcd-kit with) and collects its output. With `timed`, bash's `time` adds up the CPU of every process the
 * script waited for and prints it as the last stderr line, `cpu <user s> <system s>` (see {@link cpuMsOf}).
 * @module
 */
import { spawn } from 'node:child_process';

/** What a recipe run printed, and how it ended. */
export interface RecipeOutput {
  /** Exit code (null: killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bash <script> <args...>` with `env` added to this process's environment. */
export function runRecipe(script: string, args: readonly string[], env: Record<string, string>, options: { timed?: boolean } = {}): Promise<RecipeOutput> {
  const argv = options.timed ? ['-c', 'TIMEFORMAT="cpu %U %S"; time bash "$0" "$@"', script, ...args] : [script, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('bash', argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    // 'exit', not 'close': a ControlPersist master keeps the script's pipes open after it ends.
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CPU seconds (user + system) a `timed` run reported, in ms; undefined when it printed none. */
export function cpuMsOf(out: RecipeOutput): number | undefined {
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(out.stderr);
  return cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : undefined;
}
