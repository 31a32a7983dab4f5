/**
 * installMember behind a real host firewall: every testbed host runs an nftables input chain with a drop
 * policy (only SSH, loopback and replies allowed), loaded with the host's own `nft`. Install must open
 * etcd's ports in that chain, leave the firewall on, and the cluster must form and answer over mTLS from
 * this machine through it. Connectivity is checked with real TCP connects and etcd-kit's own etcd client.
 */
import { execFile } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth, type EtcdConnectOptions, waitForHealthy } from '../../src/etcd/index.js';
import type { ClusterPki } from '../../src/pki/index.js';
import { type InstallMemberOptions, installMember, type MemberFiles, type PreparedBinaries, prepareBinaries, type SshTarget, uninstallMember } from '../../src/remote/index.js';
import { makeReleaseTarball, type ReleaseTarball } from '../helpers/release-tarball.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { createTestPki, renderMemberFiles, testbedTarget } from './cluster-files.js';

if (process.getuid?.() !== 0) throw new Error('remote integration tests need root (the testbed): run them as root');

const run = promisify(execFile);

/** A typical hand-written server firewall: drop everything inbound except replies, loopback and SSH. */
const RULESET = `table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif lo accept
    tcp dport 22 accept
  }
}
`;
const ETCD_KIT_RULE = 'tcp dport { 2379, 2380 } accept comment "etcd-kit"';

let tb: Testbed;
let release: ReleaseTarball;
let binaries: PreparedBinaries;
let pki: ClusterPki;
let files: Record<string, MemberFiles>;
let members: { name: string; address: string }[];
let controllerRulesetBefore: string;

function target(i: number, username = tb.users.root): SshTarget {
  return testbedTarget(tb, i, { username });
}

function installAll(options: InstallMemberOptions = {}, username = tb.users.root) {
  return Promise.all(
    tb.hosts.map((_, i) => installMember(target(i, username), { binaries, files: files[members[i]?.name ?? ''] as MemberFiles }, options)),
  );
}

async function sh(i: number, command: string): Promise<string> {
  return (await tb.exec(i, command)).stdout.trim();
}

/**
 * The controller's own nftables ruleset, read with a host's `nft` binary run from the root network
 * namespace (chroot changes the file system only); this machine has no nft of its own.
 */
async function controllerRuleset(): Promise<string> {
  const { stdout } = await run('chroot', [tb.hosts[0]?.machineDir ?? '', '/usr/sbin/nft', 'list', 'ruleset']);
  return stdout;
}

/**
 * How a TCP connect from this machine ends: `connected`, `refused`, or `timeout` when no answer comes at all
 * (what a drop rule does to a SYN; a closed port would answer with a reset: `refused`).
 */
function tcpProbe(host: string, port: number, timeoutMs: number): Promise<'connected' | 'refused' | 'timeout' | string> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message)));
  });
}

function etcd(): EtcdConnectOptions {
  const admin = pki.clients.admin;
  if (!admin) throw new Error('no admin client certificate');
  return {
    endpoints: tb.hosts.map((h) => `https://${h.ip}:2379`),
    tls: { caPem: pki.ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem },
  };
}

/** Waits until etcd (whose unit starts with --no-block) listens on the host's address, port 2379 and 2380. */
async function waitListening(i: number): Promise<void> {
  const ip = tb.hosts[i]?.ip ?? '';
  for (let n = 0; n < 100; n++) {
    const out = await sh(i, 'ss -ltnH');
    if (out.includes(`${ip}:2379 `) && out.includes(`${ip}:2380 `)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`etcd on ${ip} does not listen on 2379/2380`);
}

beforeAll(async () => {
  tb = await startTestbed({ hosts: 3 });
  members = tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, address: h.ip }));
  [release, pki] = await Promise.all([makeReleaseTarball(), createTestPki(members)]);
  binaries = await prepareBinaries({ tarball: release.tarball });
  files = renderMemberFiles(pki, { members, etcdVersion: release.version });
  controllerRulesetBefore = await controllerRuleset();
  for (let i = 0; i < tb.hosts.length; i++) {
    // Hosts boot without a firewall; this one is the host admin's, not etcd-kit's.
    expect(await sh(i, 'nft list ruleset')).toBe('');
    await tb.exec(i, 'nft -f -', { input: RULESET });
  }
});

afterAll(async () => {
  await tb?.destroy();
  await release?.cleanup();
});

describe('installMember with an nftables drop-policy firewall on every host', () => {
  it('the firewall really blocks etcd: installed with openFirewall false, etcd listens but nobody reaches it', async () => {
    const reports = await installAll({ openFirewall: false });
    for (const r of reports) {
      // Told not to touch the firewall, install still reports which one is there.
      expect(r.firewall).toEqual({ kind: 'nftables', opened: [], persistent: false });
      expect(r.started).toBe(true);
    }
    await Promise.all(
      tb.hosts.map(async (h, i) => {
        await waitListening(i);
        expect(await sh(i, 'nft list ruleset')).not.toContain('etcd-kit');
        // SSH passes the firewall; etcd's ports, listening right behind it, do not even answer a SYN.
        expect(await tcpProbe(h.ip, 22, 5000)).toBe('connected');
        expect(await tcpProbe(h.ip, 2379, 2000)).toBe('timeout');
        expect(await tcpProbe(h.ip, 2380, 2000)).toBe('timeout');
        // Peers are shut out the same way: no member reaches another's peer port.
        const from = (i + 1) % tb.hosts.length;
        const fromPeer = await tb.exec(from, `timeout 2 bash -c 'exec 3<>/dev/tcp/${h.ip}/2380'`, { allowFailure: true });
        expect({ from, to: i, code: fromPeer.code }).toEqual({ from, to: i, code: 124 });
      }),
    );
    const health = await checkHealth(etcd());
    expect(health.healthy).toBe(false);
    expect(health.endpoints.map((e) => e.healthy)).toEqual([false, false, false]);
  });

  it('opens 2379/2380 in the input chain and leaves the firewall on; the cluster forms, healthy over mTLS through it', async () => {
    const reports = await installAll();
    for (const r of reports) {
      expect(r.firewall).toEqual({ kind: 'nftables', opened: [2379, 2380], persistent: false });
      // Only the firewall changed: no upload, no restart.
      expect(r.changedFiles).toEqual([]);
      expect(r.restarted).toBe(false);
    }
    for (let i = 0; i < tb.hosts.length; i++) {
      const chain = await sh(i, 'nft list chain inet filter input');
      expect(chain).toMatch(/type filter hook input priority filter; policy drop;/);
      expect(chain).toContain(ETCD_KIT_RULE);
      // The admin's own rules are all still there, and nothing else was added.
      const rules = chain.split('\n').map((l) => l.trim()).filter((l) => /accept/.test(l));
      expect(rules.sort()).toEqual(['ct state established,related accept', 'iif "lo" accept', 'tcp dport 22 accept', ETCD_KIT_RULE].sort());
      expect(await sh(i, 'nft list tables')).toBe('table inet filter');
      // Nothing switched the firewall service on or off either.
      expect((await tb.exec(i, 'systemctl is-enabled nftables.service', { allowFailure: true })).stdout.trim()).toBe('disabled');
    }
    const health = await waitForHealthy({ ...etcd(), timeoutMs: 90_000 });
    expect(health.healthy).toBe(true);
    expect(health.endpoints.map((e) => e.healthy)).toEqual([true, true, true]);
    expect(health.members.map((m) => m.name).sort()).toEqual(members.map((m) => m.name));
    for (const h of tb.hosts) expect(await tcpProbe(h.ip, 2379, 5000)).toBe('connected');
  });

  it('a re-run (as a sudo user this time) finds its rule and adds no duplicate', async () => {
    const pids = await Promise.all(tb.hosts.map((_, i) => sh(i, 'systemctl show etcd.service -p MainPID --value')));
    const reports = await installAll({}, tb.users.sudo);
    for (const [i, r] of reports.entries()) {
      expect(r.firewall).toEqual({ kind: 'nftables', opened: [], persistent: false });
      expect(r.changedFiles).toEqual([]);
      const ruleset = await sh(i, 'nft list ruleset');
      expect(ruleset.split(ETCD_KIT_RULE)).toHaveLength(2);
      expect(await sh(i, 'systemctl show etcd.service -p MainPID --value')).toBe(pids[i]);
    }
    expect((await checkHealth(etcd())).healthy).toBe(true);
  });

  it('reports kind "none" once the host admin removes the firewall', async () => {
    await tb.exec(2, 'nft flush ruleset');
    const r = await installMember(target(2), { binaries, files: files[members[2]?.name ?? ''] as MemberFiles });
    expect(r.firewall).toEqual({ kind: 'none', opened: [], persistent: true });
    expect(await sh(2, 'nft list ruleset')).toBe('');
  });

  it('replaces its own rule when the ports differ (etcd moved ports): one rule, the right ports, old port closed', async () => {
    const handle = /# handle (\d+)/.exec((await sh(0, 'nft -a list chain inet filter input')).split('\n').find((l) => l.includes('etcd-kit')) ?? '')?.[1];
    expect(handle).toBeDefined();
    await tb.exec(0, `nft 'replace rule inet filter input handle ${handle} tcp dport { 2379, 9999 } accept comment "etcd-kit"'`);
    const r = await installMember(target(0), { binaries, files: files[members[0]?.name ?? ''] as MemberFiles });
    expect(r.firewall).toEqual({ kind: 'nftables', opened: [2380], persistent: false });
    const chain = await sh(0, 'nft list chain inet filter input');
    expect(chain.split('etcd-kit')).toHaveLength(2);
    expect(chain).toContain(ETCD_KIT_RULE);
    expect(chain).not.toContain('9999');
  });

  it('a policy-accept chain ending in reject: the rule goes right before the reject, after the admin\'s own drops', async () => {
    const controllerIp = tb.gatewayIp;
    await tb.exec(1, 'nft flush ruleset');
    await tb.exec(1, 'nft -f -', {
      input: `table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    iif lo accept
    tcp dport 22 accept
    ip saddr 192.0.2.7 drop
    reject with icmpx type admin-prohibited
  }
}
`,
    });
    // Behind the reject, etcd's port answers with an ICMP error, not a connection.
    expect(await tcpProbe(tb.hosts[1]?.ip ?? '', 2379, 3000)).not.toBe('connected');
    const r = await installMember(target(1), { binaries, files: files[members[1]?.name ?? ''] as MemberFiles });
    expect(r.firewall).toEqual({ kind: 'nftables', opened: [2379, 2380], persistent: false });
    const rules = (await sh(1, 'nft list chain inet filter input')).split('\n').map((l) => l.trim());
    const at = (text: string) => rules.findIndex((l) => l.startsWith(text));
    expect(at('ip saddr 192.0.2.7 drop')).toBeGreaterThan(0);
    expect(at(ETCD_KIT_RULE)).toBe(at('reject') - 1);
    expect(at(ETCD_KIT_RULE)).toBeGreaterThan(at('ip saddr 192.0.2.7 drop'));
    expect(controllerIp).not.toBe('192.0.2.7');
    expect(await tcpProbe(tb.hosts[1]?.ip ?? '', 2379, 5000)).toBe('connected');
    // A re-run finds the rule: nothing more.
    const again = await installMember(target(1), { binaries, files: files[members[1]?.name ?? ''] as MemberFiles });
    expect(again.firewall.opened).toEqual([]);
    expect((await sh(1, 'nft list ruleset')).split('etcd-kit')).toHaveLength(2);
  });

  it('uninstall deletes its own nftables rule and nothing else: etcd\'s ports are shut again', async () => {
    const before = (await sh(1, 'nft list chain inet filter input')).split('\n').map((l) => l.trim());
    expect(before).toContain(ETCD_KIT_RULE);
    const report = await uninstallMember(target(1));
    expect(report.closedFirewall).toEqual(['inet filter input']);
    const after = (await sh(1, 'nft list chain inet filter input')).split('\n').map((l) => l.trim());
    expect(after).toEqual(before.filter((l) => l !== ETCD_KIT_RULE));
    // Told to leave the firewall alone, it does.
    await installMember(target(0), { binaries, files: files[members[0]?.name ?? ''] as MemberFiles });
    const kept = await uninstallMember(target(0), { closeFirewall: false });
    expect(kept.closedFirewall).toEqual([]);
    expect(await sh(0, 'nft list ruleset')).toContain(ETCD_KIT_RULE);
  });

  it('the hosts firewalled only themselves: the controller ruleset is unchanged', async () => {
    expect(await controllerRuleset()).toBe(controllerRulesetBefore);
  });
});
