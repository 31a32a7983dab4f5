// A rolling upgrade cut short, then every host rebooted before the deploy is run again: with binaries in
// versioned paths each host runs, after the reboot, exactly the version it ran before it (the hosts whose
// turn had not come still point `current` at the old release); a re-run then converges and a further one
// changes nothing.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { type ClusterHealth, connectCluster, type DeployProgressEvent, type EtcdCluster, deployEtcdCluster, type EtcdTlsOptions, readPkiDir } from '../../src/index.js';
import { type EtcdRelease, etcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let from: EtcdRelease;
let to: EtcdRelease;

beforeAll(async () => {
  from = etcdRelease('3.5.30');
  to = etcdRelease('3.5');
  tb = await startTestbed({ hosts: 3 });
});
afterAll(async () => {
  await tb?.destroy();
});

/** What every host has on disk: `current`'s target and the binary its etcd process runs. */
async function onDisk(): Promise<{ current: string; exe: string }[]> {
  return Promise.all(
    tb.hosts.map(async (_, i) => {
      const out = (await tb.exec(i, 'readlink /opt/etcd/bin/current; readlink -f "/proc/$(systemctl show etcd -p MainPID --value)/exe"')).stdout;
      const [current = '', exe = ''] = out.trim().split('\n');
      return { current, exe };
    }),
  );
}

/** Polls until every member answers healthy (a quorum alone is healthy already; the test needs each one's version). */
async function everyMemberAnswers(cluster: EtcdCluster): Promise<ClusterHealth> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const health = await cluster.checkHealth({ timeoutMs: 3000 }).catch(() => undefined);
    if (health?.endpoints.every((e) => e.healthy && e.status !== undefined)) return health;
    if (Date.now() > deadline) throw new Error(`not every member answers: ${JSON.stringify(health?.endpoints.map((e) => [e.endpoint, e.healthy]))}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('a rolling upgrade aborted, then every host rebooted', () => {
  it('each member runs what it ran before the reboot; a re-run converges, the next changes nothing', { timeout: 600_000 }, async () => {
    expect(from.version).not.toBe(to.version);
    const spec = testbedSpec(tb, from.tarball);
    const backupDir = join(mkdtempSync(join(tmpdir(), 'etcd-kit-reboot-')), 'backups');
    const first = await deployEtcdCluster(spec, { backupDir });
    expect(first.health?.endpoints.map((e) => e.status?.version)).toEqual([from.version, from.version, from.version]);
    const pki = await readPkiDir(spec.pki.dir);
    const tls: EtcdTlsOptions = { caPem: pki.ca.certPem, certPem: pki.clients['admin']!.certPem, keyPem: pki.clients['admin']!.keyPem };
    const names = spec.members.map((m) => m.name);

    // The upgrade, aborted once the first member is restarted and healthy: when the next one's turn begins
    // (its files start to upload), before anything of it is placed.
    const next = { ...spec, etcd: { tarball: to.tarball } };
    const controller = new AbortController();
    const events: DeployProgressEvent[] = [];
    let firstRestarted: string | undefined;
    let healthy = false;
    const err = await deployEtcdCluster(next, {
      backupDir,
      signal: controller.signal,
      onProgress: (e) => {
        events.push(e);
        if (e.step === 'restart' && e.member && !e.message && firstRestarted === undefined) firstRestarted = e.member;
        if (e.step === 'wait-healthy' && firstRestarted !== undefined && e.member === firstRestarted) healthy = true;
        if (healthy && e.step === 'upload' && e.member !== undefined && e.member !== firstRestarted && !controller.signal.aborted) controller.abort();
      },
    }).catch((e) => e);
    expect(isEtcdKitError(err, 'ABORTED')).toBe(true);
    expect(firstRestarted).toBeDefined();
    const upgraded = names.indexOf(firstRestarted!);
    const expected = names.map((_, i) => (i === upgraded ? to.version : from.version));

    const cluster = connectCluster({ endpoints: first.endpoints, tls });
    try {
      // the roll stopped where it was: one member on the new release, the others still on the old one
      const before = await everyMemberAnswers(cluster);
      expect(before.endpoints.map((e) => e.status?.version)).toEqual(expected);
      expect(await onDisk()).toEqual(expected.map((v) => ({ current: v, exe: `/opt/etcd/bin/${v}/etcd` })));

      // every host rebooted (a clean shutdown, then a boot: systemd starts etcd from <binDir>/etcd)
      for (let i = 0; i < tb.hosts.length; i++) await tb.stopHost(i);
      for (let i = 0; i < tb.hosts.length; i++) await tb.startHost(i);
      const after = await everyMemberAnswers(cluster);
      expect(after.healthy).toBe(true);
      expect(after.endpoints.map((e) => e.status?.version)).toEqual(expected);
      expect(await onDisk()).toEqual(expected.map((v) => ({ current: v, exe: `/opt/etcd/bin/${v}/etcd` })));
    } finally {
      cluster.close();
    }

    // the re-run finishes the upgrade: the upgraded member needs nothing, the others switch at their turn
    const rerun = await deployEtcdCluster(next, { backupDir });
    expect(rerun.changed).toBe(true);
    expect(rerun.health?.endpoints.map((e) => e.status?.version)).toEqual([to.version, to.version, to.version]);
    expect(rerun.members.map((m) => m.restarted)).toEqual(names.map((_, i) => i !== upgraded));
    expect(rerun.members[upgraded]!.bytesSent).toBe(0);
    expect(await onDisk()).toEqual(names.map(() => ({ current: to.version, exe: `/opt/etcd/bin/${to.version}/etcd` })));
    // retention: the release each host ran before its switch stays, for a rollback without an upload
    for (let i = 0; i < tb.hosts.length; i++) {
      expect((await tb.exec(i, 'ls -A /opt/etcd/bin')).stdout.trim()).toBe(`${from.version}\n${to.version}\ncurrent\netcd\netcdctl\netcdutl`);
    }

    const again = await deployEtcdCluster(next, { backupDir });
    expect(again.changed).toBe(false);
    expect(again.members.map((m) => [m.bytesSent, m.restarted, m.changedFiles])).toEqual(names.map(() => [0, false, []]));
  });
});
