// Every etcd release the project tests besides the e2e suite's default (the newest 3.6): a bootstrap from
// the release tarball and a re-run that changes nothing, on the same three real hosts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdCluster, resetEtcdCluster } from '../../src/index.js';
import { etcdReleases } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, mainPids, testbedSpec } from './deploy-helpers.js';

const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');
// The default suite covers its minor in depth; here every cached release of the other minors.
const e2eMinor = minorOf(e2eRelease().version);
const releases = etcdReleases().filter((r) => minorOf(r.version) !== e2eMinor);

let tb: Testbed;
beforeAll(async () => {
  tb = await startTestbed({ hosts: 3 });
});
afterAll(async () => {
  await tb?.destroy();
});

describe('bootstrap + re-run smoke test per etcd release', () => {
  it('covers every supported minor together with the e2e suite', () => {
    expect(new Set([e2eMinor, ...releases.map((r) => minorOf(r.version))])).toEqual(new Set(['3.4', '3.5', '3.6', '3.7']));
  });

  for (const release of releases) {
    it(`etcd ${release.version} (${release.source}): founds a healthy cluster, then a re-run changes nothing`, async () => {
      const spec = testbedSpec(tb, release.tarball);
      try {
        const first = await deployEtcdCluster(spec);
        expect(first.plan.mode).toBe('bootstrap');
        expect(first.health?.healthy).toBe(true);
        expect(first.health?.endpoints.map((e) => e.status?.version)).toEqual([release.version, release.version, release.version]);
        await etcdctl(first, 'put', '/smoke', release.version);
        expect(await etcdctl(first, 'get', '/smoke', '--print-value-only')).toBe(`${release.version}\n`);
        const pids = await mainPids(tb);
        const again = await deployEtcdCluster(spec);
        expect(again.changed).toBe(false);
        expect(again.members.map((m) => m.bytesSent)).toEqual([0, 0, 0]);
        expect(await mainPids(tb)).toEqual(pids);
      } finally {
        await resetEtcdCluster(spec, { removeData: true });
      }
    });
  }
});
