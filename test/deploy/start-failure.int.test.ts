// A member that does not come back from a restart is explained: the deploy's error names it and carries
// the last lines of its etcd journal, read from its host. Also readJournal on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployResult, deployEtcdCluster, readJournal } from '../../src/index.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let spec: ReturnType<typeof testbedSpec>;
let deployed: DeployResult;

beforeAll(async () => {
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, e2eRelease().tarball);
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
});
