import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { createCgroup, killCgroupSync, removeCgroupSync } from './cgroups.js';
import type { HostLayout } from './layout.js';
import { isAlive, type ProcessId, processId } from './owner.js';
import { type RunResult, run, SYSTEM_PATH } from './run.js';

// One host = one systemd-nspawn booting systemd from the host's overlay root, inside the host's network
// namespace (made beforehand, so the container uses it as is) and its own cgroup.

/** The processes of a booted host. */
export interface RunningMachine {
  /** The systemd-nspawn process. */
  nspawn: ProcessId;
  /** The container's PID 1 (systemd), as seen from the root PID namespace. */
  init: ProcessId;
  /** nspawn's image lock file for the host's root directory (removed when nspawn cannot clean up itself). */
  lockFile: string;
}

const NSPAWN_RUN = '/run/systemd/nspawn';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Last lines of a host's console log, for error messages. */
export function consoleTail(h: HostLayout, lines = 25): string {
  try {
    const text = readFileSync(h.consoleLog, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console output)';
  }
}

/** The container's PID 1: the child of nspawn that is PID 1 in its own PID namespace. */
async function findInit(nspawn: ProcessId, h: HostLayout): Promise<ProcessId> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!isAlive(nspawn)) throw new Error(`${h.name}: systemd-nspawn exited during boot:\n${consoleTail(h)}`);
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`, 'utf8').trim().split(/\s+/);
    } catch {
      // nspawn is between fork and exec
    }
    for (const child of children.filter(Boolean).map(Number)) {
      try {
        const nsPid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${child}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
        const id = processId(child);
        if (nsPid?.length === 2 && nsPid[1] === '1' && id) return id;
      } catch {
        // exited meanwhile
      }
    }
    await sleep(20);
  }
  throw new Error(`${h.name}: the container's init did not appear within 10 s:\n${consoleTail(h)}`);
}

/** Resolves once something on `ip:port` sends an SSH banner; false if it does not (refused, silent, other). */
function sshBanner(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    let got = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\n') || got.length >= 4) done(got.startsWith('SSH-'));
    });
  });
}

/**
 * Boots host `h` from its mounted overlay root and resolves when its sshd answers on port 22 (checked from
 * the root namespace, like any client would).
 */
export async function bootMachine(h: HostLayout, bootTimeoutMs: number): Promise<RunningMachine> {
  const procsFiles = createCgroup(h.object);
  const args = [
    '--quiet',
    '--boot',
    `--directory=${h.rootDir}`,
    `--machine=${h.object}`,
    `--hostname=${h.name}`,
    // No systemd as PID 1 on the controller to register with or get a scope from: keep our own cgroup.
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${h.object}`,
    // Lets the host manage its own firewall (nft), as a real server can. nspawn grants CAP_NET_ADMIN only
    // with --private-network; the capability acts on the host's own network namespace, never the controller's.
    '--capability=CAP_NET_ADMIN',
    // The overlay root is the host's own: nspawn must not copy the controller's resolv.conf/timezone into it.
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    '--console=read-only',
  ];
  const log = openSync(h.consoleLog, 'a');
  // The shell joins the host's cgroup, then becomes nspawn: nspawn starts life in that cgroup.
  const child = spawn(
    '/bin/sh',
    ['-c', 'for f in $EKT_CGROUP_PROCS; do echo $$ >"$f" || exit 1; done; exec "$@"', 'ekt-boot', 'systemd-nspawn', ...args],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', EKT_CGROUP_PROCS: procsFiles.join(' ') },
    },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  const nspawn = pid === undefined ? undefined : processId(pid);
  if (!nspawn) throw new Error(`${h.name}: could not start systemd-nspawn:\n${consoleTail(h)}`);
  const init = await findInit(nspawn, h);
  const st = statSync(h.rootDir);
  const machine = { nspawn, init, lockFile: `${NSPAWN_RUN}/locks/inode-${st.dev}:${st.ino}` };
  const deadline = Date.now() + bootTimeoutMs;
  while (!(await sshBanner(h.ip, 22, 1000))) {
    if (!isAlive(nspawn)) throw new Error(`${h.name}: systemd-nspawn exited during boot:\n${consoleTail(h)}`);
    if (Date.now() > deadline) {
      throw new Error(`${h.name}: sshd did not answer on ${h.ip}:22 within ${bootTimeoutMs} ms:\n${consoleTail(h)}`);
    }
    await sleep(50);
  }
  return machine;
}

/** Removes what nspawn leaves in /run when it is killed instead of exiting on its own. */
function removeNspawnLeftovers(h: HostLayout, lockFile: string | undefined): void {
  rmSync(`${NSPAWN_RUN}/propagate/${h.object}`, { recursive: true, force: true });
  if (lockFile) rmSync(lockFile, { force: true });
}

/**
 * Stops host `h`: gracefully (SIGTERM to nspawn, which halts the container's systemd; hard kill after
 * `graceMs`), or at once with `graceMs: 0` (cgroup.kill: the power cord). Leaves nothing running.
 */
export async function stopMachine(h: HostLayout, m: RunningMachine | undefined, graceMs: number): Promise<void> {
  if (m && graceMs > 0 && isAlive(m.nspawn)) {
    process.kill(m.nspawn.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(m.nspawn) && Date.now() < deadline) await sleep(50);
  }
  killMachineSync(h, m?.lockFile);
}

/** Kills everything in host `h`'s cgroup and removes it (synchronous: usable at process exit). */
export function killMachineSync(h: HostLayout, lockFile: string | undefined): void {
  killCgroupSync(h.object);
  removeCgroupSync(h.object);
  removeNspawnLeftovers(h, lockFile);
}

/** Runs `command` with bash as root inside the running host (entering its namespaces; no SSH involved). */
export async function execInMachine(
  h: HostLayout,
  m: RunningMachine | undefined,
  command: string,
  opts: { allowFailure?: boolean; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  if (!m || !isAlive(m.init) || !existsSync(`/proc/${m.init.pid}/ns/mnt`)) {
    throw new Error(`${h.name} is not running (exec needs a booted host)`);
  }
  const argv = ['nsenter', '-t', String(m.init.pid), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w', '--', '/bin/bash', '-c', command];
  const r = await run(argv, {
    allowFailure: true,
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 120_000,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', USER: 'root' },
  });
  if (r.code !== 0 && !opts.allowFailure) {
    const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
    throw new Error(`${h.name}: command failed (exit ${r.code}): ${command.slice(0, 300)}${tail ? `\n${tail}` : ''}`);
  }
  return r;
}
