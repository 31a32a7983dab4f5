// Shrinking a running cluster from 4 to 3 members on real hosts: refusals before anything changes,
// then member remove + host clean-up + the others' files rewritten without restarts; re-runs converge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth, deployEtcdCluster, EtcdKitError, readPkiDir, removeEtcdMember } from '../../src/index.js';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, mainPids, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let release: EtcdRelease;
let four: ReturnType<typeof testbedSpec>;
let three: ReturnType<typeof testbedSpec>;

beforeAll(async () => {
  release = e2eRelease();
  tb = await startTestbed({ hosts: 4 });
  four = testbedSpec(tb, release.tarball);
  three = { ...four, members: four.members.slice(0, 3) };
  const first = await deployEtcdCluster(four);
  expect(first.health?.quorum.votingMembers).toBe(4);
  await etcdctl(first, 'put', '/shrink/before', 'kept');
});
afterAll(async () => {
  await tb?.destroy();
});

/** The cluster's membership as etcd lists it (names, sorted). */
async function memberNames(): Promise<string[]> {
  const pki = await readPkiDir(four.pki.dir);
  const admin = pki.clients['admin']!;
  const health = await checkHealth({
    endpoints: tb.hosts.slice(0, 3).map((h) => `https://${h.ip}:2379`),
    tls: { caPem: pki.ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem },
  });
  return health.members.map((m) => m.name).sort();
}

describe('removeEtcdMember on real hosts', () => {
  it('refuses a member the spec still lists, and a removal while another member is down — nothing changes', async () => {
    const listed = await removeEtcdMember(four, 'etcd04').catch((e: unknown) => e);
    expect(listed).toBeInstanceOf(EtcdKitError);
    expect([(listed as EtcdKitError).code, (listed as EtcdKitError).field]).toEqual(['INVALID_ARGUMENT', 'name']);

    await tb.exec(2, 'systemctl stop etcd');
    try {
      const down = await removeEtcdMember(three, 'etcd04', { healthTimeoutMs: 2000 }).catch((e: unknown) => e);
      expect((down as EtcdKitError).code).toBe('ETCD_UNHEALTHY');
    } finally {
      await tb.exec(2, 'systemctl start etcd');
    }
    expect(await memberNames()).toEqual(['etcd01', 'etcd02', 'etcd03', 'etcd04']);
    expect((await tb.exec(3, 'systemctl is-active etcd', { allowFailure: true })).stdout.trim()).toBe('active');
  });

  it('removes etcd04: out of the cluster, its host cleaned, the others updated without a restart', async () => {
    const pids = await mainPids(tb, 3);
    const result = await removeEtcdMember(three, 'etcd04');
    expect(result.removed?.name).toBe('etcd04');
    expect(result.hostCleanup?.host).toBe(tb.hosts[3]!.ip);
    expect(result.deploy.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    expect(result.deploy.health?.members.map((m) => m.name).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(await memberNames()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    // The remaining members only got new env files (initial cluster, etcdctl endpoints): no restart.
    expect(result.deploy.members.some((m) => m.restarted)).toBe(false);
    expect(await mainPids(tb, 3)).toEqual(pids);
    for (const i of [0, 1, 2]) expect((await tb.exec(i, 'cat /opt/etcd/cfg/etcd.env')).stdout).not.toContain('etcd04');
    // The host: no etcd running, no unit, no files, no data dir.
    expect((await tb.exec(3, 'systemctl is-active etcd', { allowFailure: true })).stdout.trim()).not.toBe('active');
    const left = await tb.exec(3, 'for p in /etc/systemd/system/etcd.service /opt/etcd/bin/etcd /opt/etcd/ssl/server.key /var/lib/etcd; do test -e "$p" && echo "$p"; done; true');
    expect(left.stdout.trim()).toBe('');
    expect(await etcdctl(result.deploy, 'get', '/shrink/before', '--print-value-only')).toBe('kept\n');
  });

  it('a re-run finds nothing to remove and nothing to change; with --host it cleans the host again (idempotent)', async () => {
    const again = await removeEtcdMember(three, 'etcd04', { host: tb.hosts[3]!.ip });
    expect(again.removed).toBeUndefined();
    expect(again.hostCleanup?.removedFiles).toEqual([]);
    expect(again.deploy.changed).toBe(false);
  });

  it('a member whose host is gone: the clean-up failure names the host; with cleanHost false it converges', async () => {
    const back = await deployEtcdCluster(four);
    expect(back.health?.quorum.votingMembers).toBe(4);
    await tb.disconnect(3);
    try {
      const failed = await removeEtcdMember(three, 'etcd04').catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(EtcdKitError);
      expect((failed as EtcdKitError).message).toMatch(new RegExp(`etcd04 was removed from the cluster, but its host ${tb.hosts[3]!.ip.replace(/\./g, '\\.')} could not be cleaned up`));
      expect(['SSH_UNREACHABLE', 'SSH_TIMEOUT']).toContain((failed as EtcdKitError).code);
      const done = await removeEtcdMember(three, 'etcd04', { cleanHost: false });
      expect(done.removed).toBeUndefined();
      expect(done.hostCleanup).toBeUndefined();
      expect(done.deploy.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
      expect(await memberNames()).toEqual(['etcd01', 'etcd02', 'etcd03']);
      for (const i of [0, 1, 2]) expect((await tb.exec(i, 'cat /opt/etcd/cfg/etcd.env')).stdout).not.toContain('etcd04');
    } finally {
      await tb.reconnect(3);
    }
  });
});
