import { readFileSync, rmSync } from 'node:fs';
import { runSync } from './run.js';

/** A line of /proc/self/mountinfo, reduced to what cleanup needs. */
export interface MountEntry {
  /** Where it is mounted. */
  target: string;
  /** Filesystem type (tmpfs, overlay, ...). */
  fsType: string;
  /** Per-superblock options (e.g. overlay's `lowerdir=`). */
  superOptions: string;
}

const unescapeOctal = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/** Every mount in this process's mount namespace. */
export function listMounts(): MountEntry[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left = '', right = ''] = line.split(' - ');
      const target = unescapeOctal(left.split(' ')[4] ?? '');
      const [fsType = '', , superOptions = ''] = right.split(' ');
      return { target, fsType, superOptions };
    });
}

/** Mounts at `dir` or below it, deepest first (the order they can be unmounted in). */
export function mountsUnder(dir: string): MountEntry[] {
  const prefix = dir.replace(/\/$/, '');
  return listMounts()
    .filter((m) => m.target === prefix || m.target.startsWith(`${prefix}/`))
    .sort((a, b) => b.target.length - a.target.length);
}

/** Unmounts everything at or below `dir` (lazily if busy). */
export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir)) {
    if (runSync(['umount', m.target], { allowFailure: true }).code !== 0) {
      runSync(['umount', '--lazy', m.target], { allowFailure: true });
    }
  }
  if (mountsUnder(dir).length > 0) throw new Error(`cannot unmount everything under ${dir}`);
}

/**
 * Deletes a directory tree that may hold mounts (a debootstrap killed mid-way leaves /proc and /sys mounted
 * in its target): unmounts first so the delete never reaches into a mounted filesystem.
 */
export function removeTree(dir: string): void {
  unmountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
}
