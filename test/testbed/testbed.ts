import { readFileSync, writeFileSync } from 'node:fs';
import { mountDisks, prepareHostDisk, USERS } from './disk.js';
import { forgetAtExit, removeAtExit } from './exit-cleanup.js';
import { hostLayout, testbedLayout } from './layout.js';
import { bootMachine, execInMachine, stopMachine } from './machine.js';
import { createNetwork, setLink } from './network.js';
import { resolveTestbedOptions, type TestbedOptions } from './options.js';
import { isAlive } from './owner.js';
import { preflight } from './preflight.js';
import { claimId, releaseId, teardownSync } from './registry.js';
import { ensureRootfs } from './rootfs.js';
import { run, type RunResult } from './run.js';
import { readState, type TestbedState, writeState } from './state.js';

/** One test host: a Debian 12 systemd machine reachable from this machine over SSH. */
export interface TestbedHost {
  /** Host name, also its hostname and /etc/hosts name inside the testbed: `node1`, `node2`, ... */
  name: string;
  /** IPv4 address on the testbed bridge: 10.99.<id>.11, .12, ... */
  ip: string;
  /** SSH port. */
  port: 22;
  /** Fingerprint of the host's ed25519 SSH host key, as `ssh-keygen -lf` prints it: `SHA256:...`. */
  hostKeyFingerprint: string;
  /** The host's SSH public key: `ssh-ed25519 AAAA...` (no comment). */
  hostKeyPublic: string;
  /** The host's root filesystem as seen from this machine (its overlay: reads and writes are the host's). */
  machineDir: string;
}

/** A host, by name (`'node1'`), IP address, or 0-based index into {@link Testbed.hosts}. */
export type HostRef = string | number;

/** Options of {@link Testbed.exec}. */
export interface ExecOptions {
  /** Resolve with a non-zero exit code instead of throwing. Default: false. */
  allowFailure?: boolean;
  /** Written to the command's stdin. Default: empty stdin. */
  input?: string | Buffer;
  /** Kill the command after this many ms. Default: 120000. */
  timeoutMs?: number;
}

/** Options of {@link Testbed.stopHost}. */
export interface StopOptions {
  /** Pull the plug: kill the host at once instead of a clean systemd shutdown (~1–2 s). Default: false. */
  force?: boolean;
}

/** A running set of test hosts. Get one from {@link startTestbed} (or {@link attachTestbed}). */
export interface Testbed {
  /** Testbed id: the hosts live in 10.99.`id`.0/24. */
  id: number;
  /** The hosts, in order (`node1` first). */
  hosts: TestbedHost[];
  /** known_hosts file with a plain `<ip> ssh-ed25519 AAAA...` line per host. */
  knownHostsPath: string;
  /** Client private key (OpenSSH format, ed25519, no passphrase), accepted for every user on every host. */
  rootKeyPath: string;
  /** The client key's public line (`ssh-ed25519 AAAA... etcd-kit-testbed`). */
  clientPublicKey: string;
  /** Login names: `root`; `deployer` (passwordless sudo); `nosudo` (no sudo at all). All use {@link rootKeyPath}. */
  users: { root: string; sudo: string; nosudo: string };
  /** An address in the testbed subnet no host has: connecting to it fails with "no route to host" after ~3 s. */
  unusedIp: string;
  /** This machine's address on the testbed bridge (what hosts see as the controller): 10.99.`id`.1. */
  gatewayIp: string;
  /** The testbed subnet, `10.99.<id>.0/24`. */
  subnet: string;
  /**
   * Runs `command` with bash, as root, inside a running host — without SSH (enters the container's
   * namespaces), for test set-up and assertions. Throws on a non-zero exit unless `allowFailure`.
   */
  exec(host: HostRef, command: string, opts?: ExecOptions): Promise<RunResult>;
  /** OpenSSH client arguments to log in to `host` as `user` (default root), host key strictly checked. */
  sshArgs(host: HostRef, user?: string): string[];
  /** True while the host is booted. */
  isRunning(host: HostRef): boolean;
  /**
   * Powers a host off: clean shutdown (or `force`: at once), then its network link goes down so it is
   * silent like a powered-off machine. Its disk (overlay) is kept.
   */
  stopHost(host: HostRef, opts?: StopOptions): Promise<void>;
  /** Boots a stopped host again: same disk (files written before the stop are still there), key, IP. */
  startHost(host: HostRef): Promise<void>;
  /** Pulls the host's network cable: its packets are dropped both ways; connections to it time out. */
  disconnect(host: HostRef): Promise<void>;
  /** Plugs the cable back in (the host keeps running throughout; TCP connections may even survive). */
  reconnect(host: HostRef): Promise<void>;
  /** Removes everything: containers, cgroups, mounts, namespaces, bridge, keys and runtime files. */
  destroy(): Promise<void>;
}

function hostIndex(state: TestbedState, ref: HostRef): number {
  const i =
    typeof ref === 'number'
      ? ref
      : state.hosts.findIndex((h) => {
          const l = hostLayout(state.id, h.n);
          return l.name === ref || l.ip === ref;
        });
  if (!Number.isInteger(i) || i < 0 || i >= state.hosts.length) {
    throw new Error(`testbed ${state.id} has no host ${JSON.stringify(ref)} (hosts: node1..node${state.hosts.length})`);
  }
  return i;
}

/** Builds the {@link Testbed} handle over a testbed's state file (the single source of truth). */
function handle(id: number): Testbed {
  const tb = testbedLayout(id);
  const load = (): TestbedState => {
    const s = readState(tb);
    if (!s) throw new Error(`testbed ${id} does not exist (destroyed?)`);
    return s;
  };
  const initial = load();
  const host = (ref: HostRef) => {
    const state = load();
    const i = hostIndex(state, ref);
    const hs = state.hosts[i]!;
    return { state, hs, layout: hostLayout(id, hs.n) };
  };
  const hosts: TestbedHost[] = initial.hosts.map((h) => {
    const l = hostLayout(id, h.n);
    return {
      name: l.name,
      ip: l.ip,
      port: 22,
      hostKeyFingerprint: h.hostKeyFingerprint,
      hostKeyPublic: h.hostKeyPublic,
      machineDir: l.rootDir,
    };
  });
  return {
    id,
    hosts,
    knownHostsPath: tb.knownHostsPath,
    rootKeyPath: tb.keyPath,
    clientPublicKey: initial.clientPublicKey,
    users: { ...USERS },
    unusedIp: tb.unusedIp,
    gatewayIp: tb.gatewayIp,
    subnet: tb.subnet,
    async exec(ref, command, opts) {
      const { hs, layout } = host(ref);
      return execInMachine(layout, hs.machine, command, opts);
    },
    sshArgs(ref, user = USERS.root) {
      const { layout } = host(ref);
      return [
        '-i', tb.keyPath,
        '-o', 'IdentitiesOnly=yes',
        '-o', `UserKnownHostsFile=${tb.knownHostsPath}`,
        '-o', 'StrictHostKeyChecking=yes',
        '-o', 'BatchMode=yes',
        `${user}@${layout.ip}`,
      ];
    },
    isRunning(ref) {
      const { hs } = host(ref);
      return !!hs.machine && isAlive(hs.machine.nspawn);
    },
    async stopHost(ref, opts = {}) {
      const { state, hs, layout } = host(ref);
      await stopMachine(layout, hs.machine, opts.force ? 0 : 15_000);
      hs.machine = undefined;
      writeState(tb, state);
      await setLink(layout, false); // powered off: silent on the network
    },
    async startHost(ref) {
      const { state, hs, layout } = host(ref);
      if (hs.machine && isAlive(hs.machine.nspawn)) return;
      // Readiness is sshd answering over the network, which a host without its cable cannot do.
      if (hs.disconnected) throw new Error(`${layout.name} is disconnected: reconnect() it before startHost()`);
      await stopMachine(layout, hs.machine, 0); // a host that died on its own leaves its cgroup behind
      await setLink(layout, true);
      hs.machine = await bootMachine(layout, state.bootTimeoutMs);
      writeState(tb, state);
    },
    async disconnect(ref) {
      const { state, hs, layout } = host(ref);
      hs.disconnected = true;
      writeState(tb, state);
      await setLink(layout, false);
    },
    async reconnect(ref) {
      const { state, hs, layout } = host(ref);
      hs.disconnected = false;
      writeState(tb, state);
      await setLink(layout, !!hs.machine); // a stopped host stays silent until startHost
    },
    async destroy() {
      await releaseId(id);
      forgetAtExit(id);
    },
  };
}

/**
 * Starts `hosts` Debian 12 test hosts (systemd-nspawn containers with systemd as PID 1 and sshd) on a private
 * bridge of this machine, and resolves when every host's sshd answers. Needs root. Builds the cached root
 * filesystem first if needed (~1 min, once). Unless `persistent`, the testbed is removed when this process
 * exits; call `destroy()` when done anyway.
 *
 * @example
 * ```ts
 * const tb = await startTestbed({ hosts: 3 });
 * try {
 *   const [h1] = tb.hosts;
 *   await tb.exec(0, 'systemctl is-system-running --wait');
 *   // ssh -i tb.rootKeyPath -o UserKnownHostsFile=tb.knownHostsPath -o StrictHostKeyChecking=yes root@h1.ip
 * } finally {
 *   await tb.destroy();
 * }
 * ```
 */
export async function startTestbed(opts: TestbedOptions = {}): Promise<Testbed> {
  const o = resolveTestbedOptions(opts);
  preflight(['systemd-nspawn', 'ip', 'nsenter', 'ssh-keygen', 'mount', 'umount']);
  const rootfs = await ensureRootfs(o);
  const started = Date.now();
  const id = await claimId(o.id, o.persistent, rootfs);
  if (!o.persistent) removeAtExit(id);
  try {
    const tb = testbedLayout(id);
    const layouts = Array.from({ length: o.hosts }, (_, i) => hostLayout(id, i + 1));
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'etcd-kit-testbed', '-f', tb.keyPath]);
    const clientPublicKey = readFileSync(`${tb.keyPath}.pub`, 'utf8').trim();
    await Promise.all([mountDisks(tb), createNetwork(tb, layouts)]);
    const keys = await Promise.all(layouts.map((h) => prepareHostDisk(rootfs, h, layouts, clientPublicKey)));
    writeFileSync(tb.knownHostsPath, layouts.map((h, i) => `${h.ip} ${keys[i]!.publicKey}\n`).join(''));
    const state = readState(tb)!;
    state.clientPublicKey = clientPublicKey;
    state.bootTimeoutMs = o.bootTimeoutMs;
    state.hosts = layouts.map((h, i) => ({
      n: h.n,
      hostKeyPublic: keys[i]!.publicKey,
      hostKeyFingerprint: keys[i]!.fingerprint,
      disconnected: false,
    }));
    writeState(tb, state);
    const prepared = Date.now();
    const machines = await Promise.all(layouts.map((h) => bootMachine(h, o.bootTimeoutMs)));
    machines.forEach((m, i) => {
      state.hosts[i]!.machine = m;
    });
    state.ready = true;
    writeState(tb, state);
    o.onLog(
      `testbed ${id}: ${o.hosts} host(s) up in ${((Date.now() - started) / 1000).toFixed(2)} s ` +
        `(prepare ${((prepared - started) / 1000).toFixed(2)} s, boot ${((Date.now() - prepared) / 1000).toFixed(2)} s)`,
    );
    return handle(id);
  } catch (e) {
    teardownSync(id);
    forgetAtExit(id);
    throw e;
  }
}

/**
 * Returns a handle on a testbed that is already running (e.g. one the CLI's `up` started in another
 * process). Destroying it through this handle removes it for everyone.
 */
export async function attachTestbed(id: number): Promise<Testbed> {
  preflight(['ip', 'nsenter']);
  const state = readState(testbedLayout(id));
  if (!state || state.hosts.length === 0) throw new Error(`no testbed with id ${id} is running`);
  return handle(id);
}
