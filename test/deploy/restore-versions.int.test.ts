// Restore and recovery on the older releases people still run: etcd 3.4.23 (no etcdutl: `etcdctl snapshot
// restore`, no revision bump) and the newest 3.5 (etcdutl, bump supported). The 3.6 path is
// restore.int.test.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdCluster, type EtcdTlsOptions, readPkiDir, recoverEtcdCluster, resetEtcdCluster, restoreEtcdCluster, saveSnapshot } from '../../src/index.js';
import { createEtcdClient, readClusterIdentity } from '../../src/etcd-entry.js';
import { etcdRelease } from '../helpers/etcd-releases.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { mainPids, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
beforeAll(async () => {
  tb = await startTestbed({ hosts: 3 });
});
afterAll(async () => {
  await tb?.destroy();
});

async function fill(endpoints: string[], tls: EtcdTlsOptions, prefix: string, n: number): Promise<void> {
  const c = createEtcdClient({ endpoints, tls });
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => c.put(`${prefix}${i}`).value(`v${i}`)));
  } finally {
    c.close();
  }
}

async function count(endpoints: string[], tls: EtcdTlsOptions, prefix: string): Promise<number> {
  const c = createEtcdClient({ endpoints, tls });
  try {
    return (await c.getAll().prefix(prefix).keys()).length;
  } finally {
    c.close();
  }
}

for (const minor of ['3.4', '3.5'] as const) {
  describe(`restore and recover on etcd ${minor}`, () => {
    it(`a snapshot restored over the running cluster${minor === '3.5' ? ', with a revision bump' : '; a bump refused before any host changes'}; then a lost quorum recovered from a stopped member's db file`, async () => {
      const release = etcdRelease(minor);
      const spec = testbedSpec(tb, release.tarball);
      const deployed = await deployEtcdCluster(spec);
      expect(deployed.members.map((m) => m.version)).toEqual([release.version, release.version, release.version]);
      const pki = await readPkiDir(spec.pki.dir);
      const tls = { caPem: pki.ca.certPem, certPem: pki.clients['admin']!.certPem, keyPem: pki.clients['admin']!.keyPem };
      const endpoints = deployed.endpoints;
      await fill(endpoints, tls, '/v/', 120);
      const at = await readClusterIdentity({ endpoints, tls });
      const snapshot = join(mkdtempSync(join(tmpdir(), 'etcd-kit-restore-v-')), 'snap.db');
      await saveSnapshot({ endpoints, tls, path: snapshot });
      await fill(endpoints, tls, '/after/', 10);

      const bump = minor === '3.5' ? { bumpRevision: 500_000, markCompacted: true } : {};
      if (minor === '3.4') {
        const pids = await mainPids(tb);
        const refused = await rejection(restoreEtcdCluster(spec, { snapshot, replaceRunning: true, bumpRevision: 10, markCompacted: true }));
        expect([refused.code, refused.field]).toEqual(['RENDER_INVALID_INPUT', 'bumpRevision']);
        expect(await mainPids(tb)).toEqual(pids);
      }
      const restored = await restoreEtcdCluster(spec, { snapshot, replaceRunning: true, ...bump });
      expect(restored.health.verdict).toBe('healthy');
      expect(restored.clusterId).not.toBe(at.clusterId);
      expect(BigInt(restored.revision)).toBe(BigInt(at.revision) + (minor === '3.5' ? 500_000n : 0n));
      expect(await count(endpoints, tls, '/v/')).toBe(120);
      expect(await count(endpoints, tls, '/after/')).toBe(0);

      // Quorum lost for good: two members wiped, and the third stopped too (it cannot serve a snapshot).
      await fill(endpoints, tls, '/late/', 5);
      for (const i of [1, 2]) await tb.exec(i, 'systemctl stop etcd && rm -rf /var/lib/etcd/member');
      await tb.exec(0, 'systemctl stop etcd');
      const messages: string[] = [];
      const recovered = await recoverEtcdCluster(spec, { from: 'etcd01', backupDir: join(tmpdir(), `etcd-kit-recover-${minor}-${process.pid}`), onProgress: (e) => e.message && messages.push(e.message) });
      expect(messages.some((m) => m.includes('copying its db file'))).toBe(true);
      expect(recovered.health.verdict).toBe('healthy');
      expect(recovered.snapshot.path).toMatch(/\.member-db$/);
      expect(await count(endpoints, tls, '/late/')).toBe(5);
      expect(await count(endpoints, tls, '/v/')).toBe(120);
      expect(recovered.health.endpoints.map((e) => e.status?.version)).toEqual([release.version, release.version, release.version]);
      // the next release's run starts from bare hosts
      await resetEtcdCluster(spec, { removeData: true });
    });
  });
}
