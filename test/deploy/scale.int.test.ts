// Growing a running cluster from 3 to 5 members on real hosts: the new hosts join one at a time as
// learners and are promoted; the running members are not restarted; a re-run changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdCluster, planEtcdCluster } from '../../src/index.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, mainPids, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let release: EtcdRelease;

beforeAll(async () => {
  release = e2eRelease();
  tb = await startTestbed({ hosts: 5 });
});
afterAll(async () => {
  await tb?.destroy();
});

describe('scaling a running cluster', () => {
  it('joins two new hosts to a 3-member cluster without restarting the running members', async () => {
    const five = testbedSpec(tb, release.tarball);
    five.pki = { ...five.pki, keyAlgorithm: 'ecdsa-p256' };
    const three = { ...five, members: five.members.slice(0, 3) };
    const first = await deployEtcdCluster(three);
    expect(first.health?.quorum.votingMembers).toBe(3);
    await etcdctl(first, 'put', '/scale/before', 'kept');
    const pids = await mainPids(tb, 3);

    // etcd05's admin runs a drop-policy nftables firewall (SSH allowed): the join must open etcd's ports.
    await tb.exec(4, 'nft -f -', {
      input: 'table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif lo accept\n  tcp dport 22 accept\n }\n}\n',
    });

    const plan = await planEtcdCluster(five);
    expect(plan.mode).toBe('update');
    // ...and says beforehand that the rule it adds lives in the running ruleset only.
    expect(plan.warnings.filter((w) => w.includes('live nftables ruleset'))).toEqual([expect.stringMatching(/^etcd05: ports 2379, 2380 /)]);
    expect(plan.members.map((m) => m.service)).toEqual(['none', 'none', 'none', 'join', 'join']);
    // the running members' env files change only in ETCD_INITIAL_CLUSTER (and etcdctl's endpoint list):
    // rewritten, not restarted
    expect(plan.members[0]!.files).toEqual([
      { path: '/opt/etcd/cfg/etcd.env', action: 'update' },
      { path: '/opt/etcd/cfg/etcdctl.env', action: 'update' },
    ]);

    const grown = await deployEtcdCluster(five);
    expect(grown.health?.healthy).toBe(true);
    expect(grown.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(grown.health?.quorum).toMatchObject({ votingMembers: 5, healthyVoters: 5 });
    expect(grown.health?.members.filter((m) => m.isLearner)).toEqual([]);
    expect(grown.health?.members.map((m) => m.name).sort()).toEqual(['etcd01', 'etcd02', 'etcd03', 'etcd04', 'etcd05']);
    expect(grown.members.slice(0, 3).some((m) => m.restarted)).toBe(false);
    expect(grown.members.map((m) => m.firewallOpened)).toEqual([[], [], [], [], [2379, 2380]]);
    expect((await tb.exec(4, 'nft list chain inet filter input')).stdout).toContain('tcp dport { 2379, 2380 } accept comment "etcd-kit"');
    expect(await mainPids(tb, 3)).toEqual(pids);
    expect(await etcdctl(grown, 'get', '/scale/before', '--print-value-only')).toBe('kept\n');
    for (const i of [3, 4]) {
      const env = (await tb.exec(i, 'cat /opt/etcd/cfg/etcd.env')).stdout;
      expect(env).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
      expect(env.match(/etcd0\d=https/g)).toHaveLength(5);
    }

    const again = await deployEtcdCluster(five);
    expect(again.changed).toBe(false);

    // The admin of etcd01 switches a drop-policy firewall on after the fact: etcd's ports are blocked. The
    // plan sees it, a deploy opens them (no upload, no restart) and the cluster is whole again.
    const pidsBeforeFirewall = await mainPids(tb, 5);
    await tb.exec(0, 'nft -f -', {
      input: 'table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif lo accept\n  tcp dport 22 accept\n }\n}\n',
    });
    const firewalled = await planEtcdCluster(five);
    expect(firewalled.noChanges).toBe(false);
    expect(firewalled.members.map((m) => m.firewallOpens)).toEqual([[2379, 2380], [], [], [], []]);
    expect(formatPlan(firewalled)).toContain('+ open ports 2379, 2380 in the host firewall');
    const opened = await deployEtcdCluster(five);
    expect(opened.members[0]).toMatchObject({ firewallOpened: [2379, 2380], changedFiles: [], restarted: false, bytesSent: 0 });
    expect(opened.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(await mainPids(tb, 5)).toEqual(pidsBeforeFirewall);
    expect((await deployEtcdCluster(five)).changed).toBe(false);

    // a spec that no longer names two members: reported, never removed behind the operator's back
    const shrunk = await planEtcdCluster(three);
    const notInSpec = shrunk.warnings.filter((w) => w.includes('not in the spec'));
    expect(notInSpec).toHaveLength(2);
    expect(notInSpec.join(' ')).toMatch(/etcd04.*etcd05|etcd05.*etcd04/);
    expect(shrunk.members.map((m) => m.service)).toEqual(['none', 'none', 'none']);
  });
});
