import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listTestbedCgroups } from './cgroups.js';
import { hostLayout, idOfObject, RUN_DIR, testbedLayout } from './layout.js';
import { killMachineSync } from './machine.js';
import { unmountUnder } from './mounts.js';
import { listTestbedLinks, listTestbedNetns, removeNetworkSync } from './network.js';
import { currentProcess, isAlive, withDirLock } from './owner.js';
import { isLive, readState, writeState } from './state.js';

// Testbed ids are claimed under one lock so parallel processes (other test files, other helpers' runs, the
// CLI) never pick the same id, and leftovers of a crashed run are removed before their id is reused.

const LOCK = join(RUN_DIR, '.lock');
const MAX_ID = 254;

/** Every testbed id that has a runtime directory or kernel objects (live or leftover). */
export function knownIds(): number[] {
  const ids = new Set<number>();
  try {
    for (const e of readdirSync(RUN_DIR)) if (/^\d+$/.test(e)) ids.add(Number(e));
  } catch {
    // no testbed ever ran
  }
  for (const name of [...listTestbedLinks(), ...listTestbedNetns(), ...listTestbedCgroups()]) {
    const id = idOfObject(name);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * Removes everything testbed `id` has: container processes, cgroups, mounts, network objects, runtime dir.
 * Synchronous, so it also works from a process 'exit' handler. Tolerates any half-built state.
 */
export function teardownSync(id: number): void {
  const tb = testbedLayout(id);
  const state = readState(tb);
  const lockFiles = new Map(state?.hosts.map((h) => [hostLayout(id, h.n).object, h.machine?.lockFile]) ?? []);
  for (const cg of listTestbedCgroups().filter((name) => idOfObject(name) === id)) {
    const n = Number(cg.split('-').pop());
    killMachineSync(hostLayout(id, n), lockFiles.get(cg));
  }
  unmountUnder(tb.dir);
  removeNetworkSync(id);
  rmSync(tb.dir, { recursive: true, force: true });
}

/** Tears down every testbed that is not live (caller holds the lock); returns their ids. */
function removeStale(includePersistent: boolean): number[] {
  const removed: number[] = [];
  for (const id of knownIds()) {
    const state = readState(testbedLayout(id));
    if (state && isAlive(state.owner)) continue; // its owner runs (maybe still starting it): not ours to remove
    if (isLive(state) && !includePersistent) continue; // a persistent testbed
    teardownSync(id);
    removed.push(id);
  }
  return removed;
}

/**
 * Claims a testbed id (the requested one, or the lowest free one) and records this process as its owner.
 * Removes every crashed run's leftovers on the way, so a killed test run never blocks or litters the next.
 */
export async function claimId(requested: number | undefined, persistent: boolean, rootfs: string): Promise<number> {
  mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
  return withDirLock(LOCK, 60_000, async () => {
    removeStale(false);
    let id = requested;
    if (id !== undefined) {
      const state = readState(testbedLayout(id));
      if (isLive(state)) {
        const by = state?.persistent ? 'a persistent testbed (CLI `down --id` removes it)' : `process ${state?.owner.pid}`;
        throw new Error(`testbed id ${id} is in use by ${by}`);
      }
    } else {
      for (let candidate = 1; candidate <= MAX_ID && id === undefined; candidate++) {
        if (!isLive(readState(testbedLayout(candidate)))) id = candidate;
      }
      if (id === undefined) throw new Error(`all ${MAX_ID} testbed ids are in use`);
    }
    const tb = testbedLayout(id);
    mkdirSync(tb.dir, { mode: 0o700 });
    writeState(tb, {
      id,
      owner: currentProcess(),
      persistent,
      ready: false,
      rootfs,
      clientPublicKey: '',
      bootTimeoutMs: 60_000,
      hosts: [],
    });
    return id;
  });
}

/** Options of {@link cleanupStaleTestbeds}. */
export interface CleanupOptions {
  /** Also remove persistent testbeds (made by the CLI's `up`) whose owner has exited. Default: false. */
  includePersistent?: boolean;
}

/**
 * Removes leftovers of crashed runs: every testbed (netns, links, cgroups, nspawn processes, mounts, runtime
 * dir) whose owner process is gone. Never touches a testbed whose owner still runs; persistent (CLI) ones
 * only with `includePersistent`. Returns the ids removed.
 *
 * @example
 * ```ts
 * await cleanupStaleTestbeds(); // e.g. in a global test setup
 * ```
 */
export async function cleanupStaleTestbeds(opts: CleanupOptions = {}): Promise<number[]> {
  mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
  return withDirLock(LOCK, 60_000, async () => removeStale(opts.includePersistent ?? false));
}

/** Removes testbed `id` under the id lock (what destroy() does). */
export async function releaseId(id: number): Promise<void> {
  await withDirLock(LOCK, 60_000, async () => teardownSync(id));
}
