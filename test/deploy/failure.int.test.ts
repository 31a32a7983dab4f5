// Five members, and hosts that fail: an unreachable host stops the deploy before anything changes, with
// an error naming the member and step; once it is back a re-run converges. A host lost after the
// cluster exists: the others stay consistent and serving, and the re-run after its return converges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployResult, deployEtcdCluster } from '../../src/index.js';
import { rejection } from '../helpers/rejection.js';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, mainPids, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let release: EtcdRelease;
let spec: ReturnType<typeof testbedSpec>;

beforeAll(async () => {
  release = e2eRelease();
  tb = await startTestbed({ hosts: 5 });
  spec = testbedSpec(tb, release.tarball);
  spec.pki = { ...spec.pki, keyAlgorithm: 'ecdsa-p256' };
});
afterAll(async () => {
  await tb?.destroy();
});


describe('5 members and failing hosts', () => {
  let deployed: DeployResult;

  it('an unreachable host fails the deploy up front, naming it, and nothing is installed anywhere', async () => {
    await tb.disconnect(4);
    const err = await rejection(deployEtcdCluster(spec));
    expect(['SSH_TIMEOUT', 'SSH_UNREACHABLE']).toContain(err.code);
    expect(err.member).toBe('etcd05');
    expect(err.message).toContain('etcd05');
    expect(err.message).toContain(tb.hosts[4]!.ip);
    expect(err.details?.['step']).toBe('connect');
    for (const i of [0, 1, 2, 3]) expect((await tb.exec(i, 'test -e /opt/etcd', { allowFailure: true })).code).not.toBe(0);
  });

  it('converges once the host is back: 5 healthy members', async () => {
    await tb.reconnect(4);
    deployed = await deployEtcdCluster(spec);
    expect(deployed.health?.healthy).toBe(true);
    expect(deployed.health?.endpoints.filter((e) => e.healthy)).toHaveLength(5);
    expect(deployed.health?.quorum).toMatchObject({ votingMembers: 5, needed: 3, healthyVoters: 5 });
    expect((await etcdctl(deployed, 'member', 'list')).trim().split('\n')).toHaveLength(5);
  });

  it('a host lost after bootstrap: the change fails naming it, the others keep serving, a re-run converges', async () => {
    const pids = await mainPids(tb);
    await tb.stopHost(2, { force: true });
    const changed = { ...spec, settings: { snapshotCount: 30_000 } };
    const err = await rejection(deployEtcdCluster(changed));
    expect(err.member).toBe('etcd03');
    expect(err.details?.['step']).toBe('connect');
    // nothing was restarted on the reachable members, and the cluster still has quorum
    const after = await mainPids(tb, 2);
    expect(after).toEqual(pids.slice(0, 2));
    await etcdctl(deployed, 'put', '/still/writable', 'yes');

    await tb.startHost(2);
    const converged = await deployEtcdCluster(changed);
    expect(converged.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(converged.members.filter((m) => m.restarted).length).toBeGreaterThanOrEqual(4);
    for (const i of [0, 1, 2, 3, 4]) {
      expect((await tb.exec(i, 'cat /opt/etcd/cfg/etcd.env')).stdout).toContain('ETCD_SNAPSHOT_COUNT="30000"');
    }
    expect(await etcdctl(converged, 'get', '/still/writable', '--print-value-only')).toBe('yes\n');
    const again = await deployEtcdCluster(changed);
    expect(again.changed).toBe(false);
  });
});
