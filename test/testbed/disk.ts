import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostLayout, TestbedLayout } from './layout.js';
import { run } from './run.js';

// Each host boots from an overlay: the cached root filesystem (read-only lower layer, shared by every host
// and never written) plus an upper layer on one tmpfs per testbed. Host writes stay on that host, survive
// stopHost/startHost like a disk, and vanish with destroy().

/** Login users every host has; all accept the testbed's client key. */
export const USERS = { root: 'root', sudo: 'deployer', nosudo: 'nosudo' } as const;

/** Mounts the tmpfs that holds every host's upper layer. */
export async function mountDisks(tb: TestbedLayout): Promise<void> {
  mkdirSync(tb.disksDir, { recursive: true, mode: 0o700 });
  await run(['mount', '-t', 'tmpfs', '-o', 'mode=0700', `${tb.bridge}-disks`, tb.disksDir]);
}

function passwdIds(rootfs: string, user: string): { uid: number; gid: number } {
  const line = readFileSync(join(rootfs, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error(`root filesystem lacks user ${user}`);
  return { uid: Number(uid), gid: Number(gid) };
}

/** Facts about a host's generated SSH host key. */
export interface HostKey {
  /** `ssh-ed25519 AAAA...` (no comment). */
  publicKey: string;
  /** `SHA256:...`, exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** `SHA256:<base64 without padding>` of an OpenSSH public key line, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Mounts host `h`'s overlay over `rootfs` and writes what makes it this host: hostname, machine-id, /etc/hosts
 * naming every testbed host, a fresh ed25519 SSH host key and the client key in each user's authorized_keys.
 */
export async function prepareHostDisk(
  rootfs: string,
  h: HostLayout,
  all: readonly HostLayout[],
  clientPublicKey: string,
): Promise<HostKey> {
  const upper = join(h.diskDir, 'upper');
  const work = join(h.diskDir, 'work');
  for (const d of [upper, work, h.rootDir]) mkdirSync(d, { recursive: true });
  await run(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${upper},workdir=${work}`, h.rootDir]);
  const root = h.rootDir;
  writeFileSync(join(root, 'etc/hostname'), `${h.name}\n`);
  writeFileSync(join(root, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 });
  const names = all.map((x) => `${x.ip}\t${x.name}`).join('\n');
  writeFileSync(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${names}\n`);
  const keyFile = join(root, 'etc/ssh/ssh_host_ed25519_key');
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `root@${h.name}`, '-f', keyFile]);
  for (const [user, home] of [
    [USERS.root, 'root'],
    [USERS.sudo, `home/${USERS.sudo}`],
    [USERS.nosudo, `home/${USERS.nosudo}`],
  ] as const) {
    const file = join(root, home, '.ssh/authorized_keys');
    writeFileSync(file, `${clientPublicKey.trim()}\n`, { mode: 0o600 });
    const { uid, gid } = passwdIds(rootfs, user);
    chownSync(file, uid, gid);
  }
  const publicKey = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return { publicKey, fingerprint: fingerprintOf(publicKey) };
}
