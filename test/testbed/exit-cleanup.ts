import { teardownSync } from './registry.js';

// Non-persistent testbeds die with the process that made them, even when a test run is interrupted: on
// 'exit' and on SIGINT/SIGTERM/SIGHUP (only where nobody else handles the signal, so we never swallow one).

const owned = new Set<number>();
let installed = false;

function teardownOwned(): void {
  for (const id of owned) {
    try {
      teardownSync(id);
    } catch (e) {
      process.stderr.write(`etcd-kit testbed ${id}: cleanup at exit failed: ${(e as Error).message}\n`);
    }
  }
  owned.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  teardownOwned();
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, onSignal);
  process.kill(process.pid, signal); // die of the signal as if we had not been here
}

/** Removes testbed `id` when this process exits or is interrupted, unless {@link forgetAtExit} is called. */
export function removeAtExit(id: number): void {
  owned.add(id);
  if (installed) return;
  installed = true;
  process.on('exit', teardownOwned);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(s) === 0) process.once(s, onSignal);
  }
}

/** Undoes {@link removeAtExit} (after an orderly destroy). */
export function forgetAtExit(id: number): void {
  owned.delete(id);
}
