// Rolling upgrades across every supported minor on real hosts under a continuous writer:
// 3.4.23 → newest 3.5 → newest 3.6 → newest 3.7, one minor at a time, no acknowledged write lost.
import { mkdtempSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployResult, deployEtcdCluster, type EtcdTlsOptions, planEtcdCluster, readPkiDir } from '../../src/index.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import { type EtcdRelease, etcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { mainPids, testbedSpec } from './deploy-helpers.js';
import { lostWrites, startWriter, type Writer } from './writer.js';

let tb: Testbed;
let chain: EtcdRelease[];
let spec: ReturnType<typeof testbedSpec>;
let tls: EtcdTlsOptions;
let writer: Writer | undefined;
const backupDir = join(mkdtempSync(join(tmpdir(), 'etcd-kit-upgrade-')), 'backups');

/** What etcd's `/version` endpoint says over mTLS: this member's server version and the cluster version. */
function versionOf(endpoint: string): Promise<{ etcdserver: string; etcdcluster: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}/version`, { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls until every member reports `cluster` as the cluster version (the leader raises it a few seconds after the last member upgrades). */
async function waitForClusterVersion(endpoints: string[], cluster: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const seen = await Promise.all(endpoints.map(async (e) => (await versionOf(e)).etcdcluster));
    if (seen.every((v) => v === cluster) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  chain = ['3.4', '3.5', '3.6', '3.7'].map((minor) => etcdRelease(minor));
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, chain[0]!.tarball);
});
afterAll(async () => {
  await writer?.stop();
  await tb?.destroy();
});

describe('rolling upgrade through every minor', () => {
  it('3.4 → 3.5 → 3.6 → 3.7: one minor at a time, every acknowledged write readable at the end', async () => {
    let result: DeployResult = await deployEtcdCluster(spec);
    expect(result.health?.endpoints.map((e) => e.status?.version)).toEqual([chain[0]!.version, chain[0]!.version, chain[0]!.version]);
    const pki = await readPkiDir(spec.pki.dir);
    tls = { caPem: pki.ca.certPem, certPem: pki.clients['admin']!.certPem, keyPem: pki.clients['admin']!.keyPem };
    const endpoints = result.endpoints;
    writer = startWriter(endpoints, tls, '/upgrade/');
    const ackedPerStep: number[] = [];

    for (const [i, release] of chain.entries()) {
      if (i === 0) continue;
      const from = chain[i - 1]!.version;
      const next = { ...spec, etcd: { tarball: release.tarball } };
      const plan = await planEtcdCluster(next);
      expect(plan.members.map((m) => [m.version.running, m.version.target, m.version.change])).toEqual(
        [0, 1, 2].map(() => [from, release.version, 'upgrade']),
      );
      expect(formatPlan(plan)).toContain(`etcd01: ${from} → ${release.version}`);
      const pids = await mainPids(tb);
      const ackedBefore = writer.ackedCount;
      result = await deployEtcdCluster(next, { backupDir });
      // a checked snapshot of the cluster as it was, on the controller, before the first restart
      expect(result.snapshot?.path).toMatch(new RegExp(`^${backupDir}/${result.token}-${from}-\\d{8}T\\d{6}Z\\.db$`));
      expect(statSync(result.snapshot!.path).mode & 0o777).toBe(0o600);
      ackedPerStep.push(writer.ackedCount - ackedBefore);
      expect(result.health?.healthy).toBe(true);
      expect(result.health?.endpoints.map((e) => e.status?.version)).toEqual([release.version, release.version, release.version]);
      const after = await mainPids(tb);
      for (const [m, pid] of after.entries()) expect(pid).not.toBe(pids[m]);
      const minor = release.version.split('.').slice(0, 2).join('.');
      expect(await waitForClusterVersion(endpoints, `${minor}.0`)).toEqual([`${minor}.0`, `${minor}.0`, `${minor}.0`]);
      // each member's env file speaks the new minor's language
      const env = (await tb.exec(0, 'cat /opt/etcd/cfg/etcd.env')).stdout;
      if (minor === '3.6' || minor === '3.7') {
        expect(env).toContain('ETCD_FEATURE_GATES="InitialCorruptCheck=true"');
        expect(env).not.toContain('ETCD_EXPERIMENTAL_');
        expect(env).not.toContain('ETCD_ENABLE_V2');
      }
      // 3.5+ releases bring etcdutl, installed beside etcd
      expect((await tb.exec(0, '/opt/etcd/bin/etcdutl version')).stdout).toContain(`etcdutl version: ${release.version}`);
    }
    const written = await writer.stop();
    writer = undefined;
    // writes kept being acknowledged during every step of the upgrade, and none was lost
    expect(ackedPerStep.every((n) => n > 0)).toBe(true);
    expect(written.acked.length).toBeGreaterThan(50);
    expect(await lostWrites(endpoints, tls, '/upgrade/', written.acked)).toEqual([]);

    // at the newest release, a re-run changes nothing
    const again = await deployEtcdCluster({ ...spec, etcd: { tarball: chain.at(-1)!.tarball } });
    expect(again.changed).toBe(false);
  });

  it('refuses to go back a minor once every member runs the newer one, before touching any host', async () => {
    const pids = await mainPids(tb);
    const back = { ...spec, etcd: { tarball: chain[2]!.tarball } };
    const err = await deployEtcdCluster(back).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VERSION_CHANGE_REFUSED', member: 'etcd01' });
    expect((err as Error).message).toContain(chain[3]!.version);
    expect((err as Error).message).toContain(chain[2]!.version);
    expect(await mainPids(tb)).toEqual(pids);
    expect((await tb.exec(0, '/opt/etcd/bin/etcd --version')).stdout).toContain(chain[3]!.version);
  });
});
