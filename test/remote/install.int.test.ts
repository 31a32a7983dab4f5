/**
 * src/remote against real hosts: systemd-nspawn containers booting systemd with OpenSSH's sshd (the
 * testbed), the real etcd 3.4 binaries from a release-layout tarball, certificates from createClusterPki and
 * files from the renderers. Health is checked from outside with the real etcdctl over mTLS.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import type { ClusterPki } from '../../src/pki/index.js';
import {
  connect,
  inspectMember,
  installMember,
  type MemberFiles,
  type PreparedBinaries,
  prepareBinaries,
  readMemberUnit,
  restartMember,
  type SshTarget,
  startMember,
  stopMember,
  uninstallMember,
} from '../../src/remote/index.js';
import { etcdRelease } from '../helpers/etcd-releases.js';
import { makeReleaseTarball, type ReleaseTarball } from '../helpers/release-tarball.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { createTestPki, renderMemberFiles, testbedTarget } from './cluster-files.js';

if (process.getuid?.() !== 0) throw new Error('remote integration tests need root (the testbed): run them as root');

const run = promisify(execFile);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const CERT_DIR_FILES = ['ca.crt', 'server.crt', 'server.key', 'peer.crt', 'peer.key'];

let tb: Testbed;
let release: ReleaseTarball;
let binaries: PreparedBinaries;
let pki: ClusterPki;
let files: Record<string, MemberFiles>;
let members: { name: string; address: string }[];
let clientDir: string;

function target(i: number, extra: Partial<SshTarget> = {}): SshTarget {
  return testbedTarget(tb, i, extra);
}

function bundle(i: number, overrides: Partial<MemberFiles> = {}, bins: PreparedBinaries = binaries) {
  const name = members[i]?.name ?? '';
  return { binaries: bins, files: { ...(files[name] as MemberFiles), ...overrides } };
}

async function sh(i: number, command: string): Promise<string> {
  return (await tb.exec(i, command)).stdout.trim();
}

async function mainPid(i: number): Promise<number> {
  return Number(await sh(i, 'systemctl show etcd.service -p MainPID --value'));
}

/** `etcdctl endpoint health` over mTLS with the admin client certificate, from this machine. */
async function health(endpoints: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('/usr/bin/etcdctl', [
      `--endpoints=${endpoints.join(',')}`,
      `--cacert=${join(clientDir, 'ca.crt')}`,
      `--cert=${join(clientDir, 'admin.crt')}`,
      `--key=${join(clientDir, 'admin.key')}`,
      '--command-timeout=5s',
      'endpoint',
      'health',
    ]);
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const allEndpoints = () => tb.hosts.map((h) => `https://${h.ip}:2379`);

/** Polls until every member reports healthy (etcd needs a moment after a start or restart). */
async function waitHealthy(endpoints = allEndpoints(), timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = { ok: false, output: '' };
  while (Date.now() < deadline) {
    last = await health(endpoints);
    if (last.ok) return last.output;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`cluster not healthy: ${last.output}`);
}

/** Polls until etcd on host `i` runs under a main PID other than `old`. */
async function waitNewPid(i: number, old: number): Promise<number> {
  for (let n = 0; n < 60; n++) {
    const pid = await mainPid(i);
    if (pid !== 0 && pid !== old) return pid;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`etcd on host ${i} did not restart`);
}

function expectCode(code: string) {
  return (e: unknown) => isEtcdKitError(e) && e.code === code;
}

beforeAll(async () => {
  tb = await startTestbed({ hosts: 3, id: 41 });
  members = tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, address: h.ip }));
  [release, pki] = await Promise.all([makeReleaseTarball(), createTestPki(members)]);
  binaries = await prepareBinaries({ tarball: release.tarball });
  files = renderMemberFiles(pki, { members, etcdVersion: release.version });
  clientDir = await mkdtemp(join(tmpdir(), 'etcd-kit-remote-client-'));
  const admin = pki.clients.admin;
  if (!admin) throw new Error('no admin client certificate');
  await writeFile(join(clientDir, 'ca.crt'), pki.ca.certPem);
  await writeFile(join(clientDir, 'admin.crt'), admin.certPem);
  await writeFile(join(clientDir, 'admin.key'), admin.keyPem, { mode: 0o600 });
});

afterAll(async () => {
  await tb?.destroy();
  await release?.cleanup();
  if (clientDir) await rm(clientDir, { recursive: true, force: true });
});

describe('installMember on three fresh hosts', () => {
  it('installs concurrently; the cluster forms and is healthy over mTLS from outside', async () => {
    const steps: string[] = [];
    const reports = await Promise.all(
      tb.hosts.map((_, i) => installMember(target(i), bundle(i), { onProgress: (e) => steps.push(`${e.host} ${e.step}`) })),
    );
    for (const r of reports) {
      expect(r.changedFiles).toHaveLength(10);
      expect(r.createdUser).toBe(true);
      expect(r.started).toBe(true);
      expect(r.restarted).toBe(false);
      expect(r.bytesSent).toBeGreaterThan(binaries.files.reduce((n, f) => n + f.data.length, 0));
    }
    for (const h of tb.hosts) {
      for (const step of ['connect', 'inspect', 'upload', 'apply', 'done']) expect(steps).toContain(`${h.ip} ${step}`);
    }
    const output = await waitHealthy();
    for (const e of allEndpoints()) expect(output).toContain(`${e} is healthy`);
  });

  it('runs etcd as user etcd, keys 0600 owned by etcd, directories locked down, no CA key anywhere', async () => {
    const caKeyLine = pki.ca.keyPem.split('\n')[1] ?? '';
    expect(caKeyLine.length).toBeGreaterThan(40);
    for (let i = 0; i < tb.hosts.length; i++) {
      expect(await sh(i, 'systemctl show etcd.service -p User --value')).toBe('etcd');
      expect(await sh(i, 'ps -o user= -p "$(systemctl show etcd.service -p MainPID --value)"')).toBe('etcd');
      expect(await sh(i, 'stat -c "%a %U %G" /opt/etcd/ssl/server.key /opt/etcd/ssl/peer.key')).toBe('600 etcd etcd\n600 etcd etcd');
      const v = release.version;
      expect(await sh(i, `stat -c "%a %U %G" /opt/etcd/ssl/ca.crt /opt/etcd/cfg/etcd.env /opt/etcd/bin/${v}/etcd /etc/systemd/system/etcd.service`)).toBe(
        '644 etcd etcd\n640 root etcd\n755 root root\n644 root root',
      );
      expect(await sh(i, `stat -c "%a %U %G %n" /opt/etcd/bin /opt/etcd/bin/${v} /opt/etcd/cfg /opt/etcd/ssl /var/lib/etcd`)).toBe(
        `755 root root /opt/etcd/bin\n755 root root /opt/etcd/bin/${v}\n750 root etcd /opt/etcd/cfg\n700 etcd etcd /opt/etcd/ssl\n700 etcd etcd /var/lib/etcd`,
      );
      // the binaries in their version directory, reached through relative links; the unit runs <binDir>/etcd
      expect(await sh(i, 'ls -A /opt/etcd/bin')).toBe(`${v}\ncurrent\netcd\netcdctl`);
      expect(await sh(i, `ls -A /opt/etcd/bin/${v}`)).toBe('etcd\netcdctl');
      expect(await sh(i, 'readlink /opt/etcd/bin/current /opt/etcd/bin/etcd /opt/etcd/bin/etcdctl')).toBe(`${v}\ncurrent/etcd\ncurrent/etcdctl`);
      expect(await sh(i, 'readlink -f "/proc/$(systemctl show etcd.service -p MainPID --value)/exe"')).toBe(`/opt/etcd/bin/${v}/etcd`);
      expect(await sh(i, 'ls /opt/etcd/ssl | sort')).toBe([...CERT_DIR_FILES].sort().join('\n'));
      // The CA key is nowhere on the host: not in etcd's files, not in the staging area, not anywhere.
      const found = await tb.exec(i, `grep -rlF -- ${JSON.stringify(caKeyLine)} /opt /etc /var /root /home /tmp`, { allowFailure: true });
      expect(found.stdout).toBe('');
      expect(found.code).toBe(1);
      // The staging directory is gone after a successful install.
      expect(await sh(i, 'ls -A /root')).not.toContain('.etcd-kit-staging');
    }
  });

  it('listens only on TLS ports: etcd holds exactly 2379/2380, plaintext requests are refused', async () => {
    for (let i = 0; i < tb.hosts.length; i++) {
      const ip = tb.hosts[i]?.ip;
      const listeners = (await sh(i, 'ss -ltnpH'))
        .split('\n')
        .map((l) => {
          const f = l.trim().split(/\s+/);
          return `${f[3]} ${/users:\(\("([^"]+)"/.exec(l)?.[1]}`;
        })
        .sort();
      expect(listeners).toEqual(
        [`${ip}:2379 etcd`, `${ip}:2380 etcd`, '127.0.0.1:2379 etcd', '0.0.0.0:22 sshd', '[::]:22 sshd'].sort(),
      );
      // Inside the host, the loopback listener speaks TLS with client certificates only.
      const tlsOk = await tb.exec(
        i,
        '/opt/etcd/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/opt/etcd/ssl/ca.crt --cert=/opt/etcd/ssl/server.crt --key=/opt/etcd/ssl/server.key endpoint health',
        { allowFailure: true },
      );
      expect(tlsOk.code).toBe(0);
      if (i > 0) continue;
      const plain = await tb.exec(i, '/opt/etcd/bin/etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=2s --command-timeout=2s endpoint health', {
        allowFailure: true,
      });
      expect(plain.code).not.toBe(0);
      const noClientCert = await tb.exec(
        i,
        '/opt/etcd/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/opt/etcd/ssl/ca.crt --dial-timeout=2s --command-timeout=2s endpoint health',
        { allowFailure: true },
      );
      expect(noClientCert.code).not.toBe(0);
    }
    // From outside, a plaintext HTTP request to the client or peer port gets no HTTP answer from etcd
    // (the connection is dropped, or Go answers 400 "HTTP request to an HTTPS server").
    for (const port of [2379, 2380]) {
      const answer = await new Promise<{ status?: number; error?: string }>((resolve) => {
        const req = request({ host: tb.hosts[0]?.ip, port, path: '/health', timeout: 5000 }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (err) => resolve({ error: err.message }));
        req.end();
      });
      expect(answer.error !== undefined || answer.status === 400).toBe(true);
      expect(answer.status).not.toBe(200);
    }
  });
});

describe('re-runs and changes', () => {
  it('a re-run with nothing changed uploads nothing and leaves etcd running (same MainPID)', async () => {
    const before = await Promise.all(tb.hosts.map((_, i) => mainPid(i)));
    const reports = await Promise.all(tb.hosts.map((_, i) => installMember(target(i), bundle(i))));
    for (const r of reports) {
      expect(r.changedFiles).toEqual([]);
      expect(r.fixedPermissions).toEqual([]);
      expect(r.bytesSent).toBe(0);
      expect(r.restarted).toBe(false);
      expect(r.started).toBe(false);
    }
    expect(reports.map((r) => r.previousMainPid)).toEqual(before);
    expect(await Promise.all(tb.hosts.map((_, i) => mainPid(i)))).toEqual(before);
  });

  it('inspectMember reads the state without changing anything', async () => {
    const pid = await mainPid(0);
    const state = await inspectMember(target(0), bundle(0));
    expect(state.arch).toBe('x86_64');
    expect(state.systemd).toBe(true);
    expect(state.unit.activeState).toBe('active');
    expect(state.unit.mainPid).toBe(pid);
    expect(state.files.every((f) => f.status === 'same' && f.metadataOk)).toBe(true);
    expect(state.pending).toEqual({ changedFiles: [], service: 'none', restartCauses: [], hostChanges: [], firewallOpens: [], firewallPersistent: true });
    // a comment is a change of the file, not of what etcd runs with: placed, no restart
    const touched = await inspectMember(target(0), bundle(0, { env: `${files.etcd01?.env}# touched\n` }));
    expect(touched.files.find((f) => f.role === 'env')?.status).toBe('differs');
    expect(touched.pending).toMatchObject({ changedFiles: ['/opt/etcd/cfg/etcd.env'], service: 'none', restartCauses: [] });
    const changed = await inspectMember(target(0), bundle(0, { env: `${files.etcd01?.env}ETCD_MAX_SNAPSHOTS="7"\n` }));
    expect(changed.pending).toMatchObject({
      changedFiles: ['/opt/etcd/cfg/etcd.env'],
      service: 'restart',
      restartCauses: [{ role: 'env', path: '/opt/etcd/cfg/etcd.env', settings: ['ETCD_MAX_SNAPSHOTS'] }],
    });
    expect(await mainPid(0)).toBe(pid);
  });

  it('one changed setting uploads only that file and restarts only that member; the cluster stays healthy', async () => {
    const before = await Promise.all(tb.hosts.map((_, i) => mainPid(i)));
    const changedEnv = renderMemberFiles(pki, { members, etcdVersion: release.version, settings: { logLevel: 'warn' } }).etcd02?.env ?? '';
    expect(changedEnv).toContain('ETCD_LOG_LEVEL="warn"');
    const reports = await Promise.all(tb.hosts.map((_, i) => installMember(target(i), bundle(i, i === 1 ? { env: changedEnv } : {}))));
    expect(reports[1]?.changedFiles).toEqual(['/opt/etcd/cfg/etcd.env']);
    expect(reports[1]?.restarted).toBe(true);
    expect(reports[1]?.bytesSent).toBe(Buffer.byteLength(changedEnv));
    for (const i of [0, 2]) {
      expect(reports[i]?.changedFiles).toEqual([]);
      expect(reports[i]?.restarted).toBe(false);
    }
    const newPid = await waitNewPid(1, before[1] ?? 0);
    expect(newPid).not.toBe(before[1]);
    expect(sha256(await sh(1, 'cat /opt/etcd/cfg/etcd.env') + '\n')).toBe(sha256(changedEnv));
    await waitHealthy();
    expect([await mainPid(0), await mainPid(2)]).toEqual([before[0], before[2]]);
    // Keep the new setting as member 2's file from here on.
    files = { ...files, etcd02: { ...(files.etcd02 as MemberFiles), env: changedEnv } };
  });

  it('restart, stop and start helpers drive one member for rolling changes', async () => {
    const pid = await mainPid(2);
    const restarted = await restartMember(target(2));
    expect(restarted.before.mainPid).toBe(pid);
    await waitNewPid(2, pid);
    await waitHealthy();
    const stopped = await stopMember(target(2));
    expect(stopped.before.activeState).toBe('active');
    expect((await readMemberUnit(target(2))).activeState).toBe('inactive');
    await startMember(target(2));
    await waitHealthy();
    expect((await readMemberUnit(target(2))).activeState).toBe('active');
  });
});

describe('an install from before versioned paths', () => {
  it('is converted on a running member: links over the regular files, the same bytes hard-linked, no upload, no restart', async () => {
    const v = release.version;
    // The flat layout etcd-kit used to write: regular files at /opt/etcd/bin/etcd and etcdctl (etcd keeps running).
    await sh(1, `cd /opt/etcd/bin && for n in etcd etcdctl; do cp ${v}/$n .$n.flat && mv -f .$n.flat $n; done && rm -rf current ${v}`);
    expect(await sh(1, 'ls -A /opt/etcd/bin; stat -c %F /opt/etcd/bin/etcd')).toBe('etcd\netcdctl\nregular file');
    const inode = await sh(1, 'stat -c %i /opt/etcd/bin/etcd');
    const pid = await mainPid(1);
    const steps: string[] = [];
    const report = await installMember(target(1), bundle(1), { onProgress: (e) => steps.push(e.step) });
    expect(report.bytesSent).toBe(0);
    expect(steps).not.toContain('upload');
    expect([...report.changedFiles].sort()).toEqual([`/opt/etcd/bin/${v}/etcd`, `/opt/etcd/bin/${v}/etcdctl`]);
    expect(report.restarted).toBe(false);
    expect(await sh(1, 'ls -A /opt/etcd/bin')).toBe(`${v}\ncurrent\netcd\netcdctl`);
    expect(await sh(1, 'readlink /opt/etcd/bin/current /opt/etcd/bin/etcd /opt/etcd/bin/etcdctl')).toBe(`${v}\ncurrent/etcd\ncurrent/etcdctl`);
    expect(await sh(1, `stat -c %i /opt/etcd/bin/${v}/etcd`)).toBe(inode);
    expect(await sh(1, '/opt/etcd/bin/etcd --version | head -n 1')).toBe(`etcd Version: ${v}`);
    expect(await mainPid(1)).toBe(pid);
    const again = await installMember(target(1), bundle(1));
    expect([again.changedFiles, again.bytesSent, again.restarted]).toEqual([[], 0, false]);
    await waitHealthy();
  });
});

describe('SSH safety', () => {
  async function acceptedLogins(i: number): Promise<number> {
    const out = await tb.exec(i, "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted publickey' || true", { allowFailure: true });
    return Number(out.stdout.trim());
  }

  it('refuses an unknown host and a wrong pinned fingerprint before logging in', async () => {
    const emptyKnownHosts = join(clientDir, 'empty_known_hosts');
    await writeFile(emptyKnownHosts, '');
    const logins = await acceptedLogins(0);
    await expect(installMember(target(0, { knownHostsPath: emptyKnownHosts }), bundle(0))).rejects.toSatisfy(
      expectCode('SSH_HOST_KEY_UNKNOWN'),
    );
    const otherFingerprint = tb.hosts[1]?.hostKeyFingerprint ?? '';
    await expect(connect(target(0, { hostKeyFingerprint: otherFingerprint }))).rejects.toSatisfy(expectCode('SSH_HOST_KEY_MISMATCH'));
    // A known_hosts line with another host's key for this address: a changed key.
    const swapped = join(clientDir, 'swapped_known_hosts');
    await writeFile(swapped, `${tb.hosts[0]?.ip} ${tb.hosts[1]?.hostKeyPublic}\n`);
    await expect(connect(target(0, { knownHostsPath: swapped }))).rejects.toSatisfy(expectCode('SSH_HOST_KEY_MISMATCH'));
    // known_hosts knows only an ECDSA key for this host; the host has only ed25519: a changed key, not a fallback.
    const ecdsaOnly = join(clientDir, 'ecdsa_known_hosts');
    const ecdsa = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 });
    await writeFile(ecdsaOnly, `${tb.hosts[0]?.ip} ${ecdsa.public.split(' ').slice(0, 2).join(' ')}\n`);
    await expect(connect(target(0, { knownHostsPath: ecdsaOnly }))).rejects.toSatisfy(expectCode('SSH_HOST_KEY_MISMATCH'));
    expect(await acceptedLogins(0)).toBe(logins);
    // The right pin works, given as ssh-keygen -lf prints it.
    const conn = await connect(target(0, { hostKeyFingerprint: `256 ${tb.hosts[0]?.hostKeyFingerprint} root@node1 (ED25519)` }));
    expect(conn.hostKeyFingerprint).toBe(tb.hosts[0]?.hostKeyFingerprint);
    expect(conn.privilege).toBe('root');
    await conn.close();
  });

  it('refuses a wrong user key', async () => {
    const { private: wrongKey } = ssh2.utils.generateKeyPairSync('ed25519');
    const err = await connect({ ...target(0), privateKeyPath: undefined, privateKey: wrongKey }).catch((e) => e);
    expect(expectCode('SSH_AUTH_FAILED')(err)).toBe(true);
    expect(String(err.message)).not.toContain('PRIVATE KEY');
  });

  it('authenticates with an encrypted key and its passphrase, never echoing the passphrase', async () => {
    const encrypted = join(clientDir, 'id_encrypted');
    await writeFile(encrypted, readFileSync(tb.rootKeyPath), { mode: 0o600 });
    await run('ssh-keygen', ['-q', '-p', '-N', 'correct horse', '-P', '', '-f', encrypted]);
    const conn = await connect(target(0, { privateKeyPath: encrypted, passphrase: 'correct horse' }));
    expect(conn.privilege).toBe('root');
    await conn.close();
    const wrong = await connect(target(0, { privateKeyPath: encrypted, passphrase: 'battery staple' })).catch((e) => e);
    expect(expectCode('SSH_AUTH_FAILED')(wrong) && wrong.field === 'passphrase').toBe(true);
    expect(JSON.stringify({ message: wrong.message, details: wrong.details })).not.toContain('battery');
    const missing = await connect(target(0, { privateKeyPath: encrypted })).catch((e) => e);
    expect(expectCode('SSH_AUTH_FAILED')(missing) && missing.field === 'passphrase').toBe(true);
  });

  it('authenticates through ssh-agent', async () => {
    const socket = join(clientDir, 'agent.sock');
    const agent = await run('ssh-agent', ['-a', socket]);
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    try {
      await run('ssh-add', [tb.rootKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const conn = await connect({ host: tb.hosts[0]?.ip ?? '', knownHostsPath: tb.knownHostsPath, agent: socket });
      expect(conn.privilege).toBe('root');
      expect((await conn.run('echo agent-ok', { privileged: false })).stdout.trim()).toBe('agent-ok');
      await conn.close();
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  });

  it('accepts a host listed in a hashed known_hosts file (ssh-keygen -H)', async () => {
    const hashed = join(clientDir, 'hashed_known_hosts');
    await writeFile(hashed, readFileSync(tb.knownHostsPath));
    await run('ssh-keygen', ['-H', '-f', hashed]);
    expect(readFileSync(hashed, 'utf8')).not.toContain(tb.hosts[0]?.ip ?? '?');
    const conn = await connect(target(0, { knownHostsPath: hashed }));
    expect(conn.hostKeyFingerprint).toBe(tb.hosts[0]?.hostKeyFingerprint);
    await conn.close();
  });

  it('installs through a sudo user (staging in its home, files owned by root/etcd)', async () => {
    const t = target(0, { username: tb.users.sudo });
    const conn = await connect(t);
    expect(conn.privilege).toBe('sudo');
    await conn.close();
    const noChange = await installMember(t, bundle(0));
    expect(noChange.changedFiles).toEqual([]);
    const etcdctlEnv = `${files.etcd01?.etcdctlEnv}# sudo user was here\n`;
    const pid = await mainPid(0);
    const report = await installMember(t, bundle(0, { etcdctlEnv }));
    expect(report.changedFiles).toEqual(['/opt/etcd/cfg/etcdctl.env']);
    // etcdctl's env file is not read by etcd: no restart.
    expect(report.restarted).toBe(false);
    expect(await sh(0, 'stat -c "%a %U %G" /opt/etcd/cfg/etcdctl.env')).toBe('640 root etcd');
    expect(await sh(0, 'tail -n 1 /opt/etcd/cfg/etcdctl.env')).toBe('# sudo user was here');
    expect(await sh(0, 'ls -A /home/deployer')).not.toContain('.etcd-kit-staging');
    expect(await mainPid(0)).toBe(pid);
    files = { ...files, etcd01: { ...(files.etcd01 as MemberFiles), etcdctlEnv } };
  });

  it('a user without sudo gets SSH_SUDO_REQUIRED before anything is sent', async () => {
    await expect(installMember(target(0, { username: tb.users.nosudo }), bundle(0))).rejects.toSatisfy(expectCode('SSH_SUDO_REQUIRED'));
    expect(await sh(0, 'ls -A /home/nosudo')).not.toContain('.etcd-kit-staging');
  });

  it('an unreachable address fails with SSH_UNREACHABLE or SSH_TIMEOUT', { timeout: 30_000 }, async () => {
    const err = await connect({ ...target(0), host: tb.unusedIp, readyTimeoutMs: 4000 }).catch((e) => e);
    expect(isEtcdKitError(err) && ['SSH_UNREACHABLE', 'SSH_TIMEOUT'].includes(err.code)).toBe(true);
  });
});

describe('interrupted transfers', () => {
  /** The etcd binary with padding appended: still a working ELF, but a different file to upload. */
  function paddedBinaries(tag: string): PreparedBinaries {
    return {
      ...binaries,
      files: binaries.files.map((f) => {
        if (f.name !== 'etcd') return f;
        const data = Buffer.concat([f.data, Buffer.from(`\0etcd-kit test padding ${tag}\0`)]);
        return { ...f, data, sha256: sha256(data) };
      }),
    };
  }

  /**
   * PID (in this machine's namespace) of the sftp-server serving our session on host `i`: the only
   * sftp-server in that host's PID namespace once an earlier, aborted session's server has exited.
   */
  async function sftpServerPid(i: number): Promise<number> {
    const ns = await sh(i, 'readlink /proc/self/ns/pid');
    let pids: number[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const { stdout } = await run('pgrep', ['-x', 'sftp-server']).catch(() => ({ stdout: '' }));
      pids = stdout
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .filter((pid) => {
          try {
            return readlinkSync(`/proc/${pid}/ns/pid`) === ns;
          } catch {
            return false;
          }
        });
      if (pids.length === 1) return pids[0] as number;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`expected one sftp-server on host ${i}, found ${pids.length}`);
  }

  it('an aborted install rejects with ABORTED and changes nothing', async () => {
    const controller = new AbortController();
    const oldHash = await sh(2, 'sha256sum /opt/etcd/bin/etcd | cut -d" " -f1');
    const err = await installMember(target(2), bundle(2, {}, paddedBinaries('abort')), {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.step === 'upload' && (e.bytes ?? 0) > 0) controller.abort();
      },
    }).catch((e) => e);
    expect(expectCode('ABORTED')(err)).toBe(true);
    expect(await sh(2, 'sha256sum /opt/etcd/bin/etcd | cut -d" " -f1')).toBe(oldHash);
  });

  it('killing the SFTP session mid-upload leaves no partial file in place; a re-run converges', async () => {
    const bins = paddedBinaries('kill');
    const newEtcd = bins.files.find((f) => f.name === 'etcd');
    if (!newEtcd) throw new Error('no etcd');
    const oldHash = await sh(2, 'sha256sum /opt/etcd/bin/etcd | cut -d" " -f1');
    const pid = await mainPid(2);
    const conn = await connect(target(2));
    try {
      await conn.sftp();
      const sftpPid = await sftpServerPid(2);
      let killed = false;
      const err = await installMember(conn, bundle(2, {}, bins), {
        onProgress: (e) => {
          // First acknowledged megabyte of the binary: freeze the server at once, then kill it.
          if (!killed && e.step === 'upload' && (e.bytes ?? 0) > 0) {
            killed = true;
            process.kill(sftpPid, 'SIGSTOP');
            process.kill(sftpPid, 'SIGKILL');
          }
        },
      }).catch((e) => e);
      expect(killed).toBe(true);
      expect(expectCode('SSH_TRANSFER_FAILED')(err)).toBe(true);
      // The cut really happened mid-file: a partial copy sits in the staging dir, never at the target.
      const partial = Number(await sh(2, `stat -c %s /root/.etcd-kit-staging/${newEtcd.sha256}`));
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(newEtcd.data.length);
      expect(await sh(2, 'sha256sum /opt/etcd/bin/etcd | cut -d" " -f1')).toBe(oldHash);
      expect(await sh(2, 'ls -A /opt/etcd/bin')).toBe(`${release.version}\ncurrent\netcd\netcdctl`);
      expect(await sh(2, `ls -A /opt/etcd/bin/${release.version}`)).toBe('etcd\netcdctl');
      expect(await mainPid(2)).toBe(pid);

      // Same connection (its SFTP channel is reopened): the re-run converges.
      const report = await installMember(conn, bundle(2, {}, bins));
      // same version, other bytes: replaced in its version directory (the link stays), and etcd restarts
      expect(report.changedFiles).toEqual([`/opt/etcd/bin/${release.version}/etcd`]);
      expect(report.restarted).toBe(true);
      expect(await sh(2, 'sha256sum /opt/etcd/bin/etcd | cut -d" " -f1')).toBe(newEtcd.sha256);
      expect(await sh(2, 'ls -A /root')).not.toContain('.etcd-kit-staging');
      await waitNewPid(2, pid);
      await waitHealthy();
    } finally {
      await conn.close();
    }
  });
});

describe('uninstallMember', () => {
  it('removes what install created; the data dir and account only when asked', async () => {
    const kept = await uninstallMember(target(2));
    expect(kept.wasRunning).toBe(true);
    expect(kept.removedFiles).toContain('/opt/etcd/ssl/server.key');
    expect(kept.removedFiles).toContain('/etc/systemd/system/etcd.service');
    expect(kept.removedDirs).toEqual(expect.arrayContaining(['/opt/etcd/ssl', '/opt/etcd/cfg', `/opt/etcd/bin/${release.version}`, '/opt/etcd/bin', '/opt/etcd']));
    expect(kept.removedFiles).toEqual(expect.arrayContaining(['/opt/etcd/bin/current', '/opt/etcd/bin/etcd', '/opt/etcd/bin/etcdctl']));
    expect(kept.removedUser).toBeUndefined();
    expect(await sh(2, 'test -d /var/lib/etcd/member && id -u etcd >/dev/null && echo kept')).toBe('kept');
    expect(await sh(2, 'ss -ltnH | grep -c ":2379 " || true')).toBe('0');
    expect(await sh(2, 'systemctl show etcd.service -p LoadState --value')).toBe('not-found');

    const all = await uninstallMember(target(2), { removeData: true });
    expect(all.removedDirs).toContain('/var/lib/etcd');
    expect(all.removedUser).toBe('etcd');
    expect(await sh(2, 'test -e /opt/etcd || test -e /var/lib/etcd || test -e /var/cache/etcd-kit || getent passwd etcd || echo clean')).toBe('clean');
    // The other two members keep quorum.
    await waitHealthy(allEndpoints().slice(0, 2));
  });
});

describe('versioned binaries on a host: switch, switch back, retention, migration', () => {
  it('switches with one link, goes back without an upload, keeps the previous version only, converts a flat install', { timeout: 180_000 }, async () => {
    const [b30, b33] = await Promise.all([prepareBinaries({ tarball: etcdRelease('3.5.30').tarball }), prepareBinaries({ tarball: etcdRelease('3.5.33').tarball })]);
    const bytesOf = (b: PreparedBinaries) => b.files.reduce((n, f) => n + f.data.length, 0);
    const install = async (bins: PreparedBinaries) => {
      const steps: string[] = [];
      const report = await installMember(target(2), bundle(2, {}, bins), { restart: 'never', onProgress: (e) => steps.push(e.step) });
      return { ...report, steps };
    };
    const links = () => sh(2, 'readlink /opt/etcd/bin/current; for n in etcd etcdctl etcdutl; do readlink /opt/etcd/bin/$n || echo "-"; done');
    const version = async () => /etcd Version: (\S+)/.exec(await sh(2, '/opt/etcd/bin/etcd --version'))?.[1];

    // host 2 was uninstalled: a fresh install of 3.5.30
    const first = await install(b30);
    expect(first.bytesSent).toBeGreaterThanOrEqual(bytesOf(b30));
    expect(await sh(2, 'ls -A /opt/etcd/bin')).toBe('3.5.30\ncurrent\netcd\netcdctl\netcdutl');
    expect(await links()).toBe('3.5.30\ncurrent/etcd\ncurrent/etcdctl\ncurrent/etcdutl');
    expect(await version()).toBe('3.5.30');
    expect(await sh(2, '/opt/etcd/bin/etcdutl version | head -n 1')).toBe('etcdutl version: 3.5.30');

    // everything in place: nothing uploaded, the apply script not even run
    const again = await install(b30);
    expect([again.bytesSent, again.changedFiles]).toEqual([0, []]);
    expect(again.steps).not.toContain('apply');

    // another version: its binaries uploaded into their own directory, current switched
    const up = await install(b33);
    expect(up.bytesSent).toBeGreaterThanOrEqual(bytesOf(b33));
    expect([...up.changedFiles].sort()).toEqual(['etcd', 'etcdctl', 'etcdutl'].map((n) => `/opt/etcd/bin/3.5.33/${n}`));
    expect(await sh(2, 'readlink /opt/etcd/bin/current; ls -A /opt/etcd/bin')).toBe('3.5.33\n3.5.30\n3.5.33\ncurrent\netcd\netcdctl\netcdutl');
    expect(await version()).toBe('3.5.33');

    // back: the directory is still there, so no upload, only the switch
    const back = await install(b30);
    expect([back.bytesSent, back.changedFiles]).toEqual([0, []]);
    expect(back.steps).toContain('apply');
    expect(back.steps).not.toContain('upload');
    expect(await sh(2, 'readlink /opt/etcd/bin/current')).toBe('3.5.30');
    expect(await version()).toBe('3.5.30');
    expect(await sh(2, `sha256sum /opt/etcd/bin/3.5.33/etcd | cut -d' ' -f1`)).toBe(b33.files[0]!.sha256);

    // retention: 3.5.30 (what current named) and the new 3.4.23 stay, 3.5.33 goes; 3.4 has no etcdutl: its link goes too
    const down = await install(binaries);
    expect(await sh(2, 'ls -A /opt/etcd/bin')).toBe(`${release.version}\n3.5.30\ncurrent\netcd\netcdctl`);
    expect(down.changedFiles.every((f) => f.startsWith(`/opt/etcd/bin/${release.version}/`))).toBe(true);
    expect(await version()).toBe(release.version);

    // the flat layout etcd-kit used to write, on 3.4: converted to 3.5.30, the old bytes kept as their version
    await sh(2, `cd /opt/etcd/bin && for n in etcd etcdctl; do cp ${release.version}/$n .$n.flat && mv -f .$n.flat $n; done && rm -rf current ${release.version} 3.5.30`);
    expect(await sh(2, 'ls -A /opt/etcd/bin; stat -c %F /opt/etcd/bin/etcd')).toBe('etcd\netcdctl\nregular file');
    const migrated = await install(b30);
    expect(migrated.bytesSent).toBeGreaterThanOrEqual(bytesOf(b30));
    expect(await sh(2, 'ls -A /opt/etcd/bin')).toBe(`${release.version}\n3.5.30\ncurrent\netcd\netcdctl\netcdutl`);
    expect(await links()).toBe('3.5.30\ncurrent/etcd\ncurrent/etcdctl\ncurrent/etcdutl');
    expect(await sh(2, `sha256sum /opt/etcd/bin/${release.version}/etcd | cut -d' ' -f1`)).toBe(binaries.files[0]!.sha256);
    // so going back to the release it ran before needs no upload
    const rollback = await install(binaries);
    expect([rollback.bytesSent, rollback.changedFiles]).toEqual([0, []]);
    expect(await version()).toBe(release.version);

    // uninstall takes the version directories and links too, nothing is left
    const removed = await uninstallMember(target(2), { removeData: true });
    expect(removed.removedDirs).toEqual(expect.arrayContaining([`/opt/etcd/bin/${release.version}`, '/opt/etcd/bin/3.5.30', '/opt/etcd/bin']));
    expect(await sh(2, 'test -e /opt/etcd || echo clean')).toBe('clean');
  });
});
