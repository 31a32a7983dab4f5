// A patch upgrade 3.5.16 (Debian trixie) → newest 3.5 under a continuous writer, then an upgrade to 3.6 cut
// short after its first member, rolled back by deploying the 3.5 release again: allowed while a member
// still runs 3.5 (the cluster version stayed 3.5), one member at a time, nothing acknowledged lost.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster, deployEtcdCluster, type EtcdTlsOptions, readPkiDir } from '../../src/index.js';
import { type EtcdRelease, etcdRelease } from '../helpers/etcd-releases.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { testbedSpec } from './deploy-helpers.js';
import { lostWrites, startWriter, type Writer } from './writer.js';

let tb: Testbed;
let r3516: EtcdRelease;
let r35: EtcdRelease;
let r36: EtcdRelease;
let spec: ReturnType<typeof testbedSpec>;
let tls: EtcdTlsOptions;
let writer: Writer | undefined;
const backupDir = join(mkdtempSync(join(tmpdir(), 'etcd-kit-backups-')), 'backups');

beforeAll(async () => {
  [r3516, r35, r36] = [etcdRelease('3.5.16'), etcdRelease('3.5'), etcdRelease('3.6')];
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, r3516.tarball);
});
afterAll(async () => {
  await writer?.stop();
  await tb?.destroy();
});

/** What each member's etcd reports it runs (spec order; undefined: no answer). */
async function runningVersions(endpoints: string[]): Promise<(string | undefined)[]> {
  const handle = connectCluster({ endpoints, tls });
  try {
    const health = await handle.waitForHealthy({ timeoutMs: 60_000, mustAnswer: 'all' });
    return health.endpoints.map((e) => e.status?.version);
  } finally {
    handle.close();
  }
}

describe('patch upgrade, then a half-done minor upgrade rolled back', () => {
  it(`3.5.16 → newest 3.5 under a writer: a snapshot first, every member patched, no acknowledged write lost`, async () => {
    const first = await deployEtcdCluster(spec);
    expect(first.members.map((m) => m.version)).toEqual(['3.5.16', '3.5.16', '3.5.16']);
    const pki = await readPkiDir(spec.pki.dir);
    tls = { caPem: pki.ca.certPem, certPem: pki.clients['admin']!.certPem, keyPem: pki.clients['admin']!.keyPem };

    writer = startWriter(first.endpoints, tls, '/patch/');
    const patched = await deployEtcdCluster({ ...spec, etcd: { tarball: r35.tarball } }, { backupDir });
    const written = await writer.stop();
    writer = undefined;
    expect(patched.plan.members.map((m) => m.version.change)).toEqual(['patch-up', 'patch-up', 'patch-up']);
    expect(patched.plan.operations.filter((o) => o.kind === 'patch-up')).toHaveLength(3);
    expect(patched.snapshot?.path.startsWith(backupDir)).toBe(true);
    expect(patched.members.map((m) => [m.version, m.restarted])).toEqual([0, 1, 2].map(() => [r35.version, true]));
    expect(written.acked.length).toBeGreaterThan(20);
    expect(await lostWrites(first.endpoints, tls, '/patch/', written.acked)).toEqual([]);
  });

  it('3.5 → 3.6 cut short after its first member, then rolled back to 3.5 by deploying the 3.5 release again', async () => {
    const next = { ...spec, etcd: { tarball: r36.tarball } };
    const abort = new AbortController();
    let firstRestarted: string | undefined;
    const cut = await rejection(
      deployEtcdCluster(next, {
        backupDir,
        signal: abort.signal,
        onProgress: (e) => {
          // The first member's restart is done once the roll waits for it to catch up: stop the roll there.
          if (e.step === 'wait-healthy' && e.member && e.message?.startsWith('waiting for') && firstRestarted === undefined) {
            firstRestarted = e.member;
            abort.abort();
          }
        },
      }),
    );
    expect(cut.code).toBe('ABORTED');
    const index = spec.members.findIndex((m) => m.name === firstRestarted);
    expect(index).toBeGreaterThanOrEqual(0);
    // Half done: the member that had its turn runs 3.6, the others still 3.5 (their files untouched).
    const half = await runningVersions(patchedEndpoints());
    expect(half.map((v, i) => (i === index ? v === r36.version : v === r35.version))).toEqual([true, true, true]);

    writer = startWriter(patchedEndpoints(), tls, '/rollback/');
    const back = await deployEtcdCluster({ ...spec, etcd: { tarball: r35.tarball } }, { backupDir });
    const written = await writer.stop();
    writer = undefined;
    expect(back.plan.members.map((m) => m.version.change)).toEqual(spec.members.map((_, i) => (i === index ? 'downgrade' : 'none')));
    expect(back.plan.operations.filter((o) => o.kind === 'downgrade').map((o) => o.member)).toEqual([firstRestarted]);
    expect(back.snapshot).toBeDefined();
    expect(back.members.map((m) => m.version)).toEqual([r35.version, r35.version, r35.version]);
    expect(back.members.map((m) => m.restarted)).toEqual(spec.members.map((_, i) => i === index));
    expect(await lostWrites(patchedEndpoints(), tls, '/rollback/', written.acked)).toEqual([]);
    // converged: a re-run changes nothing
    expect((await deployEtcdCluster({ ...spec, etcd: { tarball: r35.tarball } })).changed).toBe(false);
  });
});

function patchedEndpoints(): string[] {
  return tb.hosts.map((h) => `https://${h.ip}:2379`);
}
