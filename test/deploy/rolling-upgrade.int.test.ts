// A rolling upgrade 3.4.23 → newest 3.5 on real hosts under a continuous writer, as an operator burnt by a
// bad upgrade expects it: a checked snapshot on the controller first, each host's files placed only at its
// own turn, followers first, leadership handed over, the old leader last, no acknowledged write lost.
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster, type DeployProgressEvent, deployEtcdCluster, type EtcdTlsOptions, planEtcdCluster, readPkiDir } from '../../src/index.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import { type EtcdRelease, etcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { testbedSpec } from './deploy-helpers.js';
import { lostWrites, startWriter, type Writer } from './writer.js';

const run = promisify(execFile);
let tb: Testbed;
let from: EtcdRelease;
let to: EtcdRelease;
let writer: Writer | undefined;

beforeAll(async () => {
  from = etcdRelease('3.4');
  to = etcdRelease('3.5');
  tb = await startTestbed({ hosts: 3 });
});
afterAll(async () => {
  await writer?.stop();
  await tb?.destroy();
});

/** The etcd release of the binary on host `i` right now. */
async function binaryOn(i: number): Promise<string> {
  const out = (await tb.exec(i, '/opt/etcd/bin/etcd --version')).stdout;
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? out;
}

describe('rolling upgrade 3.4 → 3.5', () => {
  it('snapshot first, files at each member own turn, the leader last after handing over, nothing lost', async () => {
    const spec = testbedSpec(tb, from.tarball);
    const first = await deployEtcdCluster(spec);
    const pki = await readPkiDir(spec.pki.dir);
    const tls: EtcdTlsOptions = { caPem: pki.ca.certPem, certPem: pki.clients['admin']!.certPem, keyPem: pki.clients['admin']!.keyPem };
    const names = spec.members.map((m) => m.name);

    // etcd01 leads: restarting in spec order would take the leader first.
    const handle = connectCluster({ endpoints: first.endpoints, tls });
    let leaderBefore: string;
    try {
      const health = await handle.waitForHealthy({ timeoutMs: 30_000 });
      await handle.moveLeader(health.endpoints[0]!.status!.memberId, { retryTimeoutMs: 10_000 });
      leaderBefore = (await handle.checkHealth()).leader!.name;
    } finally {
      handle.close();
    }
    expect(leaderBefore).toBe('etcd01');
    const leaderIndex = names.indexOf(leaderBefore);

    const backupDir = join(mkdtempSync(join(tmpdir(), 'etcd-kit-backups-')), 'backups');
    const next = { ...spec, etcd: { tarball: to.tarball } };
    const plan = await planEtcdCluster(next, { backupDir });
    expect(plan.snapshotBeforeChange).toEqual({ dir: backupDir });
    expect(formatPlan(plan)).toContain(`\n  1. snapshot: checked snapshot into ${backupDir} — `);
    // The plan's operations: the snapshot, the followers, leadership handed over, the old leader last.
    const followers = names.filter((n) => n !== leaderBefore);
    expect(plan.operations.map((o) => `${o.kind}${o.member ? ` ${o.member}` : ''}`)).toEqual([
      'snapshot',
      ...followers.map((n) => `upgrade ${n}`),
      `move-leader ${leaderBefore}`,
      `upgrade ${leaderBefore}`,
    ]);

    writer = startWriter(first.endpoints, tls, '/rolling/');
    const restarts: string[] = [];
    const events: DeployProgressEvent[] = [];
    // When the first member restarts: its own binary is the new one, the leader's still the old one.
    let sampled: Promise<{ own: string; leader: string }> | undefined;
    const result = await deployEtcdCluster(next, {
      backupDir,
      onProgress: (e) => {
        events.push(e);
        // (remote's restartMember reports the same step again: count each member once)
        if (e.step !== 'restart' || !e.member || e.message || restarts.at(-1) === e.member) return;
        restarts.push(e.member);
        if (restarts.length === 1) {
          const own = names.indexOf(e.member);
          sampled = Promise.all([binaryOn(own), binaryOn(leaderIndex)]).then(([o, l]) => ({ own: o, leader: l }));
        }
      },
    });
    const written = await writer.stop();
    writer = undefined;

    expect(result.health?.endpoints.map((e) => e.status?.version)).toEqual([to.version, to.version, to.version]);
    // followers first, the leader before the upgrade last, after leadership went to an upgraded member
    expect(restarts).toHaveLength(3);
    expect(restarts.at(-1)).toBe(leaderBefore);
    expect(new Set(restarts)).toEqual(new Set(names));
    const handOver = events.find((e) => e.leadership !== undefined);
    expect(handOver?.step).toBe('restart');
    expect(handOver?.leadership?.from).toBe(leaderBefore);
    expect(restarts.slice(0, 2)).toContain(handOver?.leadership?.to);
    expect(handOver?.message).toBe(`moving leadership from ${leaderBefore} to ${handOver?.leadership?.to} before restarting ${leaderBefore}`);
    expect(events.indexOf(handOver!)).toBeLessThan(events.findIndex((e) => e.step === 'restart' && e.member === leaderBefore && !e.message));
    // each host's binary switched only at its own turn
    expect(await sampled).toEqual({ own: to.version, leader: from.version });
    // reports: every member restarted with its new binary counted
    for (const m of result.members) {
      expect(m.restarted).toBe(true);
      expect(m.changedFiles).toContain(`/opt/etcd/bin/${to.version}/etcd`);
      expect(m.bytesSent).toBeGreaterThan(1_000_000);
    }

    // a checked snapshot on the controller, taken before the first restart, readable by etcdutl
    const snap = result.snapshot!;
    expect(snap.path.startsWith(`${backupDir}/`)).toBe(true);
    expect(snap.path).toMatch(new RegExp(`/${result.token}-${from.version}-\\d{8}T\\d{6}Z\\.db$`));
    expect(statSync(snap.path).mode & 0o777).toBe(0o600);
    expect(statSync(snap.path).size).toBe(snap.bytes);
    const status = await run(to.etcdutl!, ['snapshot', 'status', snap.path, '--write-out=json']);
    expect(JSON.parse(status.stdout).totalKey).toBeGreaterThan(0);
    const snapEvent = events.findIndex((e) => e.step === 'snapshot');
    expect(snapEvent).toBeGreaterThanOrEqual(0);
    expect(snapEvent).toBeLessThan(events.findIndex((e) => e.step === 'restart'));

    // every acknowledged write readable
    expect(written.acked.length).toBeGreaterThan(20);
    expect(await lostWrites(result.endpoints, tls, '/rolling/', written.acked)).toEqual([]);

    // no version change, no snapshot
    const again = await deployEtcdCluster(next, { backupDir });
    expect(again.changed).toBe(false);
    expect(again.snapshot).toBeUndefined();
  });
});
