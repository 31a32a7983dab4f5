/**
 * The testbed: real Debian 12 hosts for etcd-kit's integration tests and demo, on this one machine.
 *
 * Each host is a systemd-nspawn container booting systemd (PID 1) and sshd from a cached debootstrap'd
 * root filesystem, with a private overlay disk (tmpfs), its own network namespace on a bridge
 * (10.99.`id`.0/24; this machine is .1, hosts are .11, .12, ...) and a fresh ed25519 SSH host key. Users on
 * every host: `root`, `deployer` (passwordless sudo) and `nosudo`, all logging in with one client key.
 * No default route, no NAT: nothing leaves this machine. Needs root.
 *
 * Lifetime: a testbed belongs to the process that started it and is removed when that process exits (or
 * on `destroy()`); `persistent: true` (the CLI's `up`) keeps it until `destroy()` / `down`. Ids are
 * allocated under a lock, so parallel test processes each get their own subnet.
 *
 * @example
 * ```ts
 * import { startTestbed } from '../testbed/index.js';
 * const tb = await startTestbed({ hosts: 3 });
 * const { stdout } = await tb.exec('node1', 'hostname'); // 'node1\n', as root, no SSH
 * // real SSH: ssh ...tb.sshArgs('node1', tb.users.sudo) 'sudo -n true'
 * await tb.destroy();
 * ```
 * @module
 */
export type { CleanupOptions } from './registry.js';
export { cleanupStaleTestbeds } from './registry.js';
export type { RootfsOptions, TestbedOptions } from './options.js';
export { ensureRootfs } from './rootfs.js';
export type { RunResult } from './run.js';
export type { ExecOptions, HostRef, StopOptions, Testbed, TestbedHost } from './testbed.js';
export { attachTestbed, startTestbed } from './testbed.js';
export { fingerprintOf } from './disk.js';
