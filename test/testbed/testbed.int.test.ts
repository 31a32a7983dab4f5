import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleTestbeds, ensureRootfs, startTestbed, type Testbed } from './index.js';
import { type RunResult, run } from './run.js';

// Everything here is real: systemd-nspawn containers booting systemd, OpenSSH's sshd inside them, and the
// OpenSSH client binaries (ssh, ssh-keyscan, ssh-keygen) on this machine.

if (process.getuid?.() !== 0) {
  throw new Error('testbed integration tests need root (systemd-nspawn, network namespaces, mounts): run them as root');
}

const fixture = fileURLToPath(new URL('./fixtures/owner-process.ts', import.meta.url));

let tb: Testbed;
let rootfs: string;

/**
 * Real OpenSSH client, strict host key checking against the testbed's known_hosts, no agent, no prompts.
 * `extra` options come first: for each option ssh uses the first value it is given.
 */
function ssh(host: string | number, user: string, command: string, extra: string[] = []): Promise<RunResult> {
  return run(['ssh', ...extra, '-o', 'ConnectTimeout=5', ...tb.sshArgs(host, user), command], { allowFailure: true });
}

/** What of testbed `id` the kernel and filesystem still hold, asked with the system's own tools. */
async function traces(id: number): Promise<string[]> {
  const mine = new RegExp(`\\bekt-(br${id}|${id}-\\d+)\\b`);
  const netns = (await run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => mine.test(l));
  const links = (await run(['ip', '-o', 'link', 'show'])).stdout.split('\n').filter((l) => mine.test(l));
  const procs = (await run(['ps', '-eo', 'pid,args'])).stdout.split('\n').filter((l) => l.includes(`--machine=ekt-${id}-`));
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/run/etcd-kit-testbed/${id}/`) || l.includes(`/run/etcd-kit-testbed/${id} `) || mine.test(l));
  const cgroups = ['/sys/fs/cgroup', '/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((e) => mine.test(e)).map((e) => `${d}/${e}`));
  const dir = existsSync(`/run/etcd-kit-testbed/${id}`) ? [`/run/etcd-kit-testbed/${id}`] : [];
  return [...netns, ...links, ...procs, ...mounts, ...cgroups, ...dir];
}

/** Starts the owner-process fixture and resolves with the testbed it made, once that testbed is up. */
function startOwner(mode: 'exit' | 'wait'): Promise<{ child: ChildProcess; id: number; ip: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, ...JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`owner process exited early (${code})`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

beforeAll(async () => {
  rootfs = await ensureRootfs();
  tb = await startTestbed({ hosts: 3 });
});

afterAll(async () => {
  await tb?.destroy();
});

describe('testbed hosts', () => {
  it('boot systemd as PID 1 to a clean "running" state with sshd active', async () => {
    for (const h of tb.hosts) {
      const state = await tb.exec(h.name, 'systemctl is-system-running --wait', { allowFailure: true });
      const failed = (await tb.exec(h.name, 'systemctl --failed --no-legend --plain')).stdout;
      expect({ host: h.name, state: state.stdout.trim(), failed }).toEqual({ host: h.name, state: 'running', failed: '' });
      expect((await tb.exec(h.name, 'cat /proc/1/comm')).stdout.trim()).toBe('systemd');
      expect((await tb.exec(h.name, 'systemctl is-active ssh.service')).stdout.trim()).toBe('active');
      expect((await tb.exec(h.name, 'hostname')).stdout.trim()).toBe(h.name);
    }
  });

  it('have distinct addresses on one subnet, reach each other, and have no default route', async () => {
    expect(new Set(tb.hosts.map((h) => h.ip)).size).toBe(3);
    for (const [i, h] of tb.hosts.entries()) {
      const routes = (await tb.exec(h.name, 'ip -4 route; ip -6 route')).stdout;
      expect(routes).not.toMatch(/default/);
      const outside = await tb.exec(h.name, 'ip route get 1.1.1.1', { allowFailure: true });
      expect(outside.code).not.toBe(0);
      expect(outside.stderr).toMatch(/unreachable/i);
      const peer = tb.hosts[(i + 1) % tb.hosts.length]!;
      const banner = await tb.exec(h.name, `timeout 5 bash -c 'exec 3<>/dev/tcp/${peer.ip}/22; head -c 4 <&3'`);
      expect(banner.stdout).toBe('SSH-');
      const byName = await tb.exec(h.name, `getent hosts ${peer.name}`);
      expect(byName.stdout.split(/\s+/)[0]).toBe(peer.ip);
    }
  });

  it('accept real ssh as root, as deployer (with sudo) and as nosudo (without sudo), strictly host-key-checked', async () => {
    for (const h of tb.hosts) {
      const root = await ssh(h.name, tb.users.root, 'id -u; hostname');
      expect(root.code, root.stderr).toBe(0);
      expect(root.stdout).toBe(`0\n${h.name}\n`);
      const deployer = await ssh(h.name, tb.users.sudo, 'id -un; sudo -n true && echo sudo-ok');
      expect(deployer.code, deployer.stderr).toBe(0);
      expect(deployer.stdout).toBe('deployer\nsudo-ok\n');
      expect(deployer.stderr).toBe('');
      const nosudo = await ssh(h.name, tb.users.nosudo, 'id -un; sudo -n true');
      expect(nosudo.stdout).toBe('nosudo\n');
      expect(nosudo.code).toBe(1);
      expect(nosudo.stderr).toMatch(/password is required/);
    }
  });

  it('refuse passwords and a host key that does not match known_hosts', async () => {
    const config = (await tb.exec(0, 'sshd -T')).stdout;
    expect(config).toMatch(/^permitrootlogin without-password$/m);
    expect(config).toMatch(/^passwordauthentication no$/m);
    const password = await ssh(0, 'root', 'true', ['-o', 'PreferredAuthentications=password,keyboard-interactive']);
    expect(password.code).toBe(255);
    expect(password.stderr).toMatch(/Permission denied/);
    // known_hosts claiming node1's address has node2's key: the client must refuse to log in.
    const swapped = `${tb.knownHostsPath}.swapped`;
    writeFileSync(swapped, `${tb.hosts[0]!.ip} ${tb.hosts[1]!.hostKeyPublic}\n`);
    const mismatch = await ssh(0, 'root', 'true', ['-o', `UserKnownHostsFile=${swapped}`]);
    expect(mismatch.code).toBe(255);
    expect(mismatch.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('report the host key fingerprint that ssh-keyscan | ssh-keygen -lf - sees', async () => {
    const knownHosts = readFileSync(tb.knownHostsPath, 'utf8');
    expect(new Set(tb.hosts.map((h) => h.hostKeyFingerprint)).size).toBe(3);
    for (const h of tb.hosts) {
      const scan = await run(['ssh-keyscan', '-t', 'ed25519', h.ip]);
      const printed = await run(['ssh-keygen', '-lf', '-'], { input: scan.stdout });
      expect(printed.stdout.split(' ')[1]).toBe(h.hostKeyFingerprint);
      expect(scan.stdout).toContain(`${h.ip} ${h.hostKeyPublic}`);
      expect(knownHosts).toContain(`${h.ip} ${h.hostKeyPublic}\n`);
    }
  });

  it('keep each host disk private: a write on node1 is on neither node2 nor the cached root filesystem', async () => {
    await tb.exec('node1', 'echo only-node1 > /root/marker && mkdir -p /opt/etcd-kit && touch /etc/written-by-node1');
    expect(readFileSync(`${tb.hosts[0]!.machineDir}/root/marker`, 'utf8')).toBe('only-node1\n');
    const onNode2 = await tb.exec('node2', 'ls /root/marker /opt/etcd-kit /etc/written-by-node1', { allowFailure: true });
    expect(onNode2.code).not.toBe(0);
    expect(onNode2.stdout).toBe('');
    for (const path of ['root/marker', 'opt/etcd-kit', 'etc/written-by-node1', 'etc/hostname']) {
      expect(existsSync(`${rootfs}/${path}`), path).toBe(false);
    }
  });

  it('start with no firewall, may run one (nft as root over ssh) and keep it to themselves', async () => {
    // The controller's ruleset, read with the rootfs's nft from the root network namespace (chroot moves only the file system).
    const controllerRuleset = async () => (await run(['chroot', rootfs, '/usr/sbin/nft', 'list', 'ruleset'])).stdout;
    const before = await controllerRuleset();
    for (const h of tb.hosts) {
      const r = await ssh(h.name, tb.users.root, 'nft list ruleset; systemctl is-enabled nftables.service');
      expect({ host: h.name, stdout: r.stdout, stderr: r.stderr }).toEqual({ host: h.name, stdout: 'disabled\n', stderr: '' });
    }
    // Through sshd, not tb.exec (nsenter from the root namespace has every capability): what etcd-kit gets.
    const load = await ssh(0, tb.users.root, 'nft add table inet t && nft add chain inet t input "{ type filter hook input priority 0; policy drop; }" && nft list tables');
    expect(load.code, load.stderr).toBe(0);
    expect(load.stdout).toBe('table inet t\n');
    try {
      expect((await tb.exec(1, 'nft list ruleset')).stdout).toBe('');
      expect(await controllerRuleset()).toBe(before);
      // The drop policy holds on node1 only: node2 still answers node3 on port 22, node1 does not.
      const toNode1 = await tb.exec(2, `timeout 2 bash -c 'exec 3<>/dev/tcp/${tb.hosts[0]!.ip}/22'`, { allowFailure: true });
      expect(toNode1.code).toBe(124);
      const toNode2 = await tb.exec(2, `timeout 2 bash -c 'exec 3<>/dev/tcp/${tb.hosts[1]!.ip}/22'`, { allowFailure: true });
      expect(toNode2.code).toBe(0);
    } finally {
      await tb.exec(0, 'nft delete table inet t');
    }
  });

  it('exec reports failures: throws by default, returns the exit code with allowFailure', async () => {
    await expect(tb.exec(1, 'echo oops >&2; exit 3')).rejects.toThrow(/node2: command failed \(exit 3\)[\s\S]*oops/);
    const r = await tb.exec(1, 'cat; echo err >&2; exit 4', { allowFailure: true, input: 'in\n' });
    expect(r).toEqual({ stdout: 'in\n', stderr: 'err\n', code: 4 });
    await expect(tb.exec('node9', 'true')).rejects.toThrow(/no host "node9"/);
  });
});

describe('host power and network faults', () => {
  it('stopHost powers a host off (silent on the network) and startHost boots it with the same disk and key', async () => {
    await tb.exec('node3', 'echo survives > /root/disk-file');
    for (const force of [false, true]) {
      await tb.stopHost('node3', { force });
      expect(tb.isRunning('node3')).toBe(false);
      await expect(tb.exec('node3', 'true')).rejects.toThrow(/not running/);
      const down = await ssh('node3', 'root', 'true', ['-o', 'ConnectTimeout=2']);
      expect(down.code).toBe(255);
      expect(down.stderr).toMatch(/timed out/);
      await tb.startHost('node3');
      expect(tb.isRunning('node3')).toBe(true);
      const up = await ssh('node3', 'root', 'cat /root/disk-file; systemctl is-system-running --wait');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toBe('survives\nrunning\n');
    }
  });

  it('disconnect makes a host time out for everyone; reconnect restores it', async () => {
    await tb.disconnect('node2');
    const fromController = await ssh('node2', 'root', 'true', ['-o', 'ConnectTimeout=2']);
    expect(fromController.code).toBe(255);
    expect(fromController.stderr).toMatch(/timed out/);
    const fromPeer = await tb.exec('node1', `timeout 2 bash -c 'exec 3<>/dev/tcp/${tb.hosts[1]!.ip}/22'`, { allowFailure: true });
    expect(fromPeer.code).toBe(124); // killed by timeout: no answer at all, not a refusal
    expect((await tb.exec('node2', 'systemctl is-active ssh.service')).stdout.trim()).toBe('active'); // still running
    await tb.reconnect('node2');
    const back = await ssh('node2', 'root', 'hostname');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe('node2\n');
  });

  it('unusedIp belongs to no host: connecting fails with no route to host', async () => {
    expect(tb.hosts.map((h) => h.ip)).not.toContain(tb.unusedIp);
    const r = await run(['ssh', '-o', 'ConnectTimeout=10', '-o', 'BatchMode=yes', `root@${tb.unusedIp}`, 'true'], { allowFailure: true });
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/No route to host/);
  });
});

describe('testbed lifecycle', () => {
  it('gives parallel testbeds separate ids and refuses an id in use', async () => {
    const owner = await startOwner('wait');
    try {
      expect(owner.id).not.toBe(tb.id);
      expect(owner.ip.startsWith(`10.99.${owner.id}.`)).toBe(true);
      await expect(startTestbed({ hosts: 1, id: tb.id })).rejects.toThrow(/in use by process/);
    } finally {
      owner.child.kill('SIGKILL');
      await exited(owner.child);
    }
    // SIGKILL ran no cleanup: the crashed run's testbed is still there until cleanupStaleTestbeds().
    expect((await traces(owner.id)).length).toBeGreaterThan(0);
    // (Another process starting a testbed right now may remove it first: claiming an id clears stale ones.)
    const removed = await cleanupStaleTestbeds();
    expect(removed).not.toContain(tb.id);
    expect(await traces(owner.id)).toEqual([]);
    expect(tb.isRunning('node1')).toBe(true); // the live testbed is untouched
  });

  it('removes a testbed when its owner process exits or is terminated without destroying it', async () => {
    const quitter = await startOwner('exit');
    await exited(quitter.child);
    expect(await traces(quitter.id)).toEqual([]);
    const terminated = await startOwner('wait');
    expect((await traces(terminated.id)).length).toBeGreaterThan(0);
    terminated.child.kill('SIGTERM');
    await exited(terminated.child);
    expect(terminated.child.signalCode).toBe('SIGTERM'); // the handler re-raised the signal after cleaning up
    expect(await traces(terminated.id)).toEqual([]);
  });

  it('refuses to start for a non-root user, with a message that says why', async () => {
    const index = fileURLToPath(new URL('./index.ts', import.meta.url));
    const code = `const { startTestbed } = await import(${JSON.stringify(index)});
      await startTestbed({ hosts: 1 }).then(() => console.log('started'), (e) => console.log(e.message));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        uid: 65534,
        gid: 65534,
        env: { PATH: process.env.PATH, HOME: '/tmp' },
      });
      let text = '';
      const collect = (d: Buffer): void => {
        text += d.toString();
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    expect(out).toMatch(/testbed needs root/);
  });

  it('destroy leaves no namespace, link, process, mount, cgroup or runtime file behind', async () => {
    const extra = await startTestbed({ hosts: 2 });
    expect((await traces(extra.id)).length).toBeGreaterThan(0);
    await extra.destroy();
    expect(await traces(extra.id)).toEqual([]);
    expect((await ssh(0, 'root', 'true')).code).toBe(0); // other testbeds carry on
  });
});
