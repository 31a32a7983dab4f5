// A member that does not come back from a restart is explained: the deploy's error names it and carries
// the last lines of its etcd journal, read from its host. Also readJournal on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployResult, deployEtcdCluster, planEtcdCluster } from '../../src/index.js';
import { readJournal } from '../../src/remote-entry.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let spec: ReturnType<typeof testbedSpec>;
let deployed: DeployResult;

beforeAll(async () => {
  tb = await startTestbed({ hosts: 4 });
  spec = testbedSpec(tb, e2eRelease().tarball, 3);
  spec.pki = { ...spec.pki, keyAlgorithm: 'ecdsa-p256' };
  deployed = await deployEtcdCluster(spec);
});
afterAll(async () => {
  await tb?.destroy();
});

describe('errors that explain', () => {
  it('readJournal returns the last lines of the unit, as journalctl has them, capped', async () => {
    const target = { host: tb.hosts[0]!.ip, privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath };
    const lines = await readJournal(target, { unit: 'etcd.service', lines: 5 });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
    const host = (await tb.exec(0, 'journalctl --no-pager -q -o cat -n 50 -u etcd.service')).stdout;
    for (const l of lines) expect(host).toContain(l);
    await expect(readJournal(target, { unit: 'etcd; reboot', lines: 5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'unit' });
  });

  it("a member whose restart fails: the error names it and holds its etcd journal's last lines", async () => {
    expect(deployed.health?.verdict).toBe('healthy');
    // A follower that cannot read its own data any more: etcd exits at start, systemd restarts it in a loop.
    const victim = deployed.health!.endpoints.find((e) => e.status && e.status.memberId !== deployed.health!.leader?.id)!.memberName!;
    const index = spec.members.findIndex((m) => m.name === victim);
    await tb.exec(index, 'chown -R root:root /var/lib/etcd/member && chmod 700 /var/lib/etcd/member');
    const started = performance.now();
    const err = await rejection(deployEtcdCluster({ ...spec, settings: { snapshotCount: 20_000 } }, { healthTimeoutMs: 20_000 }));
    const tookMs = performance.now() - started;
    expect(err.member).toBe(victim);
    expect(err.message).toContain(victim);
    const journal = err.details?.['journal'] as string[];
    expect(Array.isArray(journal)).toBe(true);
    expect(journal.length).toBeGreaterThan(0);
    expect(journal.length).toBeLessThanOrEqual(20);
    // Lines really from that host's journal, and they say why: etcd cannot use its data dir.
    const host = (await tb.exec(index, 'journalctl --no-pager -q -o cat -n 200 -u etcd.service')).stdout;
    expect(host).toContain(journal.at(-1)!);
    expect(err.message).toContain(journal.at(-1)!);
    expect(err.message).toMatch(/journal on etcd0\d:/);
    expect(journal.join('\n')).toMatch(/permission denied/i);
    for (const l of journal) expect(l).not.toMatch(/[\x00-\x1f]/);
    console.log(`restart failure reported in ${Math.round(tookMs)} ms:\n${err.message}`);

    // Repaired by hand, the same deploy converges.
    await tb.exec(index, 'chown -R etcd:etcd /var/lib/etcd/member');
    const converged = await deployEtcdCluster({ ...spec, settings: { snapshotCount: 20_000 } });
    expect(converged.health?.verdict).toBe('healthy');
  });

  it('a new host whose etcd cannot start as it joins: the error names it with its journal; fixed, a re-run resumes the join', async () => {
    // A file where etcd's member directory goes: etcd exits at once ("not a directory").
    await tb.exec(3, 'mkdir -p /var/lib/etcd && touch /var/lib/etcd/member');
    const four = { ...spec, settings: { snapshotCount: 20_000 }, members: [...spec.members, { name: 'etcd04', host: tb.hosts[3]!.ip }] };
    const err = await rejection(deployEtcdCluster(four, { healthTimeoutMs: 15_000 }));
    expect(err.member).toBe('etcd04');
    expect(err.message).toMatch(/journal on etcd04:/);
    const journal = err.details?.['journal'] as string[];
    expect(journal.join('\n')).toMatch(/not a directory/);
    const host = (await tb.exec(3, 'journalctl --no-pager -q -o cat -n 200 -u etcd.service')).stdout;
    expect(host).toContain(journal.at(-1)!);

    // The learner it was added as stays listed; once the host is fixed the re-run starts and promotes it.
    await tb.exec(3, 'rm -f /var/lib/etcd/member');
    // (systemd may have started it meanwhile: a learner either way, joined to the end and promoted)
    const plan = await planEtcdCluster(four);
    expect(plan.members[3]).toMatchObject({ service: 'join' });
    const joined = await deployEtcdCluster(four);
    expect(joined.health?.verdict).toBe('healthy');
    expect(joined.health?.members.map((m) => [m.name, m.isLearner]).sort()).toEqual([
      ['etcd01', false],
      ['etcd02', false],
      ['etcd03', false],
      ['etcd04', false],
    ]);
    expect((await deployEtcdCluster(four)).changed).toBe(false);
  });
});
