import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RootfsOptions, resolveRootfsOptions } from './options.js';
import { currentProcess, isAlive, withDirLock } from './owner.js';
import { listMounts, removeTree } from './mounts.js';
import { preflight } from './preflight.js';
import { run } from './run.js';

const buildScript = fileURLToPath(new URL('./build-rootfs.sh', import.meta.url));

/** Version stamp of the root filesystem: changes whenever the build script (packages, configuration) does. */
export function rootfsStamp(): string {
  return createHash('sha256').update(readFileSync(buildScript)).digest('hex').slice(0, 12);
}

/** True if some mounted overlay reads from `dir` (a running testbed uses that root filesystem). */
function inUse(dir: string): boolean {
  return listMounts().some((m) => m.fsType === 'overlay' && m.superOptions.includes(`lowerdir=${dir}`));
}

/**
 * Returns the path of the cached Debian 12 root filesystem the testbed hosts boot from, building it first
 * (debootstrap, ~1 min) if the cache lacks the current version. Safe to call from parallel processes: one
 * builds, the others wait. A build runs in a temporary directory renamed into place only when complete.
 *
 * @example
 * ```ts
 * const rootfs = await ensureRootfs({ onLog: console.log }); // '/var/cache/etcd-kit-testbed/rootfs-<stamp>'
 * ```
 */
export async function ensureRootfs(opts: RootfsOptions = {}): Promise<string> {
  const o = resolveRootfsOptions(opts);
  const target = join(o.cacheDir, `rootfs-${rootfsStamp()}`);
  if (existsSync(target)) return target;
  preflight(['debootstrap', 'chroot']);
  mkdirSync(o.cacheDir, { recursive: true, mode: 0o755 });
  return withDirLock(join(o.cacheDir, '.build.lock'), 20 * 60_000, async () => {
    if (existsSync(target)) return target; // another process built it while we waited
    for (const entry of readdirSync(o.cacheDir)) {
      const tmp = /^\.tmp-\w+-(\d+)-(\d+)$/.exec(entry);
      // Only the lock holder builds, so every temp dir of a dead process is a crashed build's.
      if (tmp && !isAlive({ pid: Number(tmp[1]), startTime: Number(tmp[2]) })) removeTree(join(o.cacheDir, entry));
    }
    const me = currentProcess();
    const tmp = join(o.cacheDir, `.tmp-${rootfsStamp()}-${me.pid}-${me.startTime}`);
    const started = Date.now();
    o.onLog(`building the testbed root filesystem (debootstrap bookworm from ${o.mirror}) into ${target}`);
    try {
      await run(['bash', buildScript, tmp, o.mirror], { onLine: (l) => o.onLog(`  ${l}`) });
      renameSync(tmp, target);
    } finally {
      if (existsSync(tmp)) removeTree(tmp);
    }
    o.onLog(`root filesystem built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const entry of readdirSync(o.cacheDir)) {
      const old = join(o.cacheDir, entry);
      if (entry.startsWith('rootfs-') && old !== target && !inUse(old)) removeTree(old);
    }
    return target;
  });
}
