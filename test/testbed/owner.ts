import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A process, identified so that a recycled PID is not mistaken for it. */
export interface ProcessId {
  /** Process id. */
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat). */
  startTime: number;
}

function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The identity of process `pid`, or undefined if no such process exists. */
export function processId(pid: number): ProcessId | undefined {
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** This process's identity. */
export function currentProcess(): ProcessId {
  return { pid: process.pid, startTime: startTimeOf(process.pid) ?? 0 };
}

/** True while the process that `id` names is running. */
export function isAlive(id: ProcessId): boolean {
  return startTimeOf(id.pid) === id.startTime;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` while holding a lock directory `path` (mkdir is atomic). A lock whose holder died is broken.
 * Waits at most `waitMs` for a live holder.
 */
export async function withDirLock<T>(path: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const ownerFile = join(path, 'owner.json');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(path, { mode: 0o700 });
      writeFileSync(ownerFile, JSON.stringify(currentProcess()));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: ProcessId | undefined;
    try {
      holder = JSON.parse(readFileSync(ownerFile, 'utf8')) as ProcessId;
    } catch {
      // The holder is between mkdir and writing its owner file; only a long-dead one stays like this.
      const made = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (made && Date.now() - made > 10_000) holder = { pid: 0, startTime: 0 };
    }
    if (holder && !isAlive(holder)) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path} (held by pid ${holder?.pid})`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}
