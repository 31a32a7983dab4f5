import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { idOfObject } from './layout.js';
import { sleepSync } from './run.js';

// Without systemd as PID 1 nobody hands systemd-nspawn a cgroup (it runs with --register=no --keep-unit),
// so each host gets its own cgroup directory, made here, and nspawn is moved into it before it starts. The
// container's systemd builds its tree below it. Killing a host = killing that cgroup (cgroup.kill), which
// also catches anything the container forked.

/**
 * The cgroup hierarchies a host's cgroup is made in: the unified (v2) root, or on a hybrid/legacy host the
 * name=systemd hierarchy (which nspawn and the container's systemd track processes in) plus the unified one.
 */
export function cgroupRoots(): string[] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((d) => existsSync(join(d, 'cgroup.procs')));
}

/** Creates the cgroup `name` in every hierarchy; returns the cgroup.procs files a process joins it through. */
export function createCgroup(name: string): string[] {
  return cgroupRoots().map((root) => {
    mkdirSync(join(root, name), { recursive: true });
    return join(root, name, 'cgroup.procs');
  });
}

/** Cgroup directory names (in any hierarchy) that are testbed objects (`ekt-<id>-<n>`). */
export function listTestbedCgroups(): string[] {
  const names = new Set<string>();
  for (const root of cgroupRoots()) {
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory() && idOfObject(entry.name) !== undefined) names.add(entry.name);
    }
  }
  return [...names];
}

function subtree(dir: string): string[] {
  const dirs = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) dirs.push(...subtree(join(dir, entry.name)));
  }
  return dirs;
}

function pidsIn(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return subtree(dir).flatMap((d) => {
    try {
      return readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return []; // removed while we read it
    }
  });
}

/** Every process in cgroup `name` (all hierarchies, all sub-cgroups). */
export function cgroupPids(name: string): number[] {
  return [...new Set(cgroupRoots().flatMap((root) => pidsIn(join(root, name))))];
}

/** Kills every process in cgroup `name` and waits (≤ 10 s) until they are gone. */
export function killCgroupSync(name: string): void {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = cgroupPids(name);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`cgroup ${name}: processes ${pids.join(' ')} survive SIGKILL`);
    let killedAll = false;
    for (const root of cgroupRoots()) {
      const killFile = join(root, name, 'cgroup.kill'); // cgroup v2, kernel ≥ 5.14: atomic, no fork race
      if (existsSync(killFile)) {
        writeFileSync(killFile, '1');
        killedAll = true;
      }
    }
    if (!killedAll) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    sleepSync(20);
  }
}

/** Removes cgroup `name` (and its sub-cgroups) from every hierarchy; its processes must be gone. */
export function removeCgroupSync(name: string): void {
  for (const root of cgroupRoots()) {
    const dir = join(root, name);
    if (!existsSync(dir)) continue;
    for (const d of subtree(dir).reverse()) {
      // An emptied cgroup may briefly refuse removal (EBUSY) while the kernel finishes the last exits.
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(d);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 50) throw e;
          sleepSync(20);
        }
      }
    }
  }
}
