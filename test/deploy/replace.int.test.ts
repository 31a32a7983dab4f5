// A member that loses its disk is replaced by deployEtcdCluster alone (member remove → clean data dir →
// add as learner → start with state=existing → promote), a member that is merely stopped is started (same
// member id, no replacement), and a host that cannot be reached fails the deploy with nothing replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployResult, deployEtcdCluster, planEtcdCluster } from '../../src/index.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, localGet, testbedSpec } from './deploy-helpers.js';


let tb: Testbed;
let release: EtcdRelease;
let spec: ReturnType<typeof testbedSpec>;
let deployed: DeployResult;

beforeAll(async () => {
  release = e2eRelease();
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, release.tarball);
  spec.pki = { ...spec.pki, keyAlgorithm: 'ecdsa-p256' };
});
afterAll(async () => {
  await tb?.destroy();
});


/** Member ids (hex) by name, as the cluster lists them (`id, started, name, peer URLs, client URLs, learner`). */
async function memberIds(result: DeployResult): Promise<Record<string, string>> {
  const lines = (await etcdctl(result, 'member', 'list')).trim().split('\n');
  return Object.fromEntries(lines.map((l) => l.split(', ')).map(([id, , name]) => [name ?? '', id ?? '']));
}

describe('a member that loses its data dir', () => {
  it('is replaced by deployEtcdCluster alone: new member id, the keys on its endpoint, a re-run changes nothing', async () => {
    deployed = await deployEtcdCluster(spec);
    expect(deployed.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    for (let i = 0; i < 20; i++) await etcdctl(deployed, 'put', `/replace/k${i}`, `v${i}`);
    const before = await memberIds(deployed);
    expect(Object.keys(before).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(Object.values(before).every((id) => /^[0-9a-f]{8,16}$/.test(id))).toBe(true);

    // The disk is lost: etcd03 starts on an empty data dir with state=existing and crash-loops.
    await tb.exec(2, 'systemctl stop etcd && rm -rf /var/lib/etcd/member && systemctl start --no-block etcd');
    for (let t = 0; t < 60; t++) {
      const j = await tb.exec(2, "journalctl -u etcd -o cat --no-pager | grep -c 'out of range' || true");
      if (Number(j.stdout.trim()) > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const plan = await planEtcdCluster(spec);
    expect(plan.noChanges).toBe(false);
    expect(plan.members.map((m) => m.service)).toEqual(['none', 'none', 'replace']);
    const text = formatPlan(plan);
    expect(text).not.toContain('No changes');
    expect(text).toMatch(/\n {2}1\. replace etcd03: .* — data dir empty/);

    const t0 = performance.now();
    const fixed = await deployEtcdCluster(spec);
    const took = Math.round(performance.now() - t0);
    console.log(`replace etcd03: deploy took ${took} ms`);
    expect(fixed.changed).toBe(true);
    expect(fixed.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(fixed.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    expect(fixed.health?.members.filter((m) => m.isLearner)).toEqual([]);
    const after = await memberIds(fixed);
    expect(Object.keys(after).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(after['etcd01']).toBe(before['etcd01']);
    expect(after['etcd02']).toBe(before['etcd02']);
    expect(after['etcd03']).not.toBe(before['etcd03']);
    // etcd03 holds the data again: read from its own endpoint, serializable (its local copy).
    for (const i of [0, 7, 19]) expect(await localGet(fixed, 2, `/replace/k${i}`)).toBe(`v${i}\n`);
    expect((await tb.exec(2, 'test -d /var/lib/etcd/member && echo yes')).stdout.trim()).toBe('yes');
    // What the crash loop had written there was moved aside, not deleted.
    expect((await tb.exec(2, 'ls -d /var/lib/etcd.broken-*')).stdout.trim()).toMatch(/^\/var\/lib\/etcd\.broken-\d{8}T\d{6}Z$/);

    const again = await deployEtcdCluster(spec);
    expect(again.changed).toBe(false);
    expect(again.plan.noChanges).toBe(true);
    expect(await memberIds(again)).toEqual(after);
  });

  it('a member merely stopped (data intact) is started, not replaced: plan says so, same member id', async () => {
    const before = await memberIds(deployed);
    await tb.exec(1, 'systemctl stop etcd');
    const plan = await planEtcdCluster(spec);
    expect(plan.noChanges).toBe(false);
    expect(plan.members.map((m) => m.service)).toEqual(['none', 'start', 'none']);
    expect(formatPlan(plan)).toContain('\n  1. start etcd02 — down');
    expect(formatPlan(plan)).not.toContain('replace');

    const fixed = await deployEtcdCluster(spec);
    expect(fixed.members[1]?.started).toBe(true);
    expect(fixed.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(await memberIds(fixed)).toEqual(before);
    expect(await localGet(fixed, 1, '/replace/k3')).toBe('v3\n');
  });

  it('a member whose etcd runs but does not answer (frozen) is restarted at once, not "started" and waited for', async () => {
    const before = await memberIds(deployed);
    const pid = (await tb.exec(2, 'systemctl show -p MainPID --value etcd')).stdout.trim();
    expect(Number(pid)).toBeGreaterThan(0);
    // systemd signals the unit's main process inside the host (a bare `kill` could reach the controller's)
    await tb.exec(2, 'systemctl kill --kill-whom=main --signal=SIGSTOP etcd');
    const plan = await planEtcdCluster(spec);
    expect(plan.members.map((m) => [m.service, m.state])).toEqual([
      ['none', 'up'],
      ['none', 'up'],
      ['restart', 'down'],
    ]);
    expect(plan.operations).toEqual([expect.objectContaining({ kind: 'restart', member: 'etcd03', reason: expect.stringMatching(/^not answering \(etcd active\/running/) })]);
    expect(formatPlan(plan)).toContain('  1. restart etcd03 — not answering (etcd active/running');
    // A no-op start would leave it frozen: the wait below would time out.
    const fixed = await deployEtcdCluster(spec, { healthTimeoutMs: 45_000 });
    expect(fixed.members.map((m) => m.restarted)).toEqual([false, false, true]);
    expect(fixed.health?.verdict).toBe('healthy');
    expect((await tb.exec(2, 'systemctl show -p MainPID --value etcd')).stdout.trim()).not.toBe(pid);
    expect(await memberIds(fixed)).toEqual(before);
  });

  it('a stopped member whose data dir was emptied is replaced too (the literal empty data dir)', async () => {
    const before = await memberIds(deployed);
    await tb.exec(1, 'systemctl stop etcd && rm -rf /var/lib/etcd/member');
    const plan = await planEtcdCluster(spec);
    expect(plan.members.map((m) => [m.service, m.reason])).toEqual([
      ['none', undefined],
      ['replace', 'data dir empty'],
      ['none', undefined],
    ]);
    const fixed = await deployEtcdCluster(spec);
    expect(fixed.members[1]?.replaced).toBe(true);
    expect(fixed.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    const after = await memberIds(fixed);
    expect(after['etcd02']).not.toBe(before['etcd02']);
    expect([after['etcd01'], after['etcd03']]).toEqual([before['etcd01'], before['etcd03']]);
    expect(await localGet(fixed, 1, '/replace/k11')).toBe('v11\n');
    // nothing was there to keep: no copy moved aside
    expect((await tb.exec(1, 'ls -d /var/lib/etcd.broken-* 2>/dev/null || true')).stdout.trim()).toBe('');
  });

  it('a host that cannot be reached fails the deploy naming it, and nothing is replaced', async () => {
    const before = await memberIds(deployed);
    await tb.disconnect(2);
    try {
      const err = await rejection(deployEtcdCluster(spec));
      expect(err.member).toBe('etcd03');
      expect(err.message).toContain('etcd03');
    } finally {
      await tb.reconnect(2);
    }
    const back = await deployEtcdCluster(spec);
    expect(back.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(await memberIds(back)).toEqual(before);
  });
});
