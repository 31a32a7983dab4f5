import { describe, expect, it } from 'vitest';
import { RESTORE_HASH_MISMATCH_EXIT, restoreDataScript } from '../../src/remote/restore-data.js';
import { snapshotRestoreCommand } from '../../src/render/index.js';

const input = {
  dataDir: '/var/lib/etcd',
  snapshotPath: '/home/ops/.etcd-kit-staging/abc',
  sha256: 'a'.repeat(64),
  newDir: '/var/lib/etcd.restore-20261201T000000Z',
  owner: 'etcd:etcd',
  aside: '/var/lib/etcd.before-restore-20261201T000000Z',
  command: snapshotRestoreCommand({
    etcdVersion: '3.4.23',
    binDir: '/opt/etcd/bin',
    snapshotPath: '/home/ops/.etcd-kit-staging/abc',
    name: 'etcd01',
    dataDir: '/var/lib/etcd.restore-20261201T000000Z',
    initialCluster: [{ name: 'etcd01', peerUrl: 'https://10.0.0.11:2380' }],
    token: 't',
    peerUrl: 'https://10.0.0.11:2380',
  }),
};

describe('restoreDataScript', () => {
  it('restores into a new dir, then moves the old one aside and the new one in — never deletes the old', () => {
    const lines = restoreDataScript(input).split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/sha256sum -c/)).toBeGreaterThan(-1);
    expect(lines.join('\n')).toContain(`exit ${RESTORE_HASH_MISMATCH_EXIT}`);
    expect(at(/env ETCDCTL_API=3 \/opt\/etcd\/bin\/etcdctl snapshot restore /)).toBeGreaterThan(at(/sha256sum -c/));
    expect(at(/chown -R etcd:etcd -- \/var\/lib\/etcd\.restore-/)).toBeGreaterThan(at(/snapshot restore/));
    expect(at(/^ {2}mv -- \/var\/lib\/etcd \/var\/lib\/etcd\.before-restore-/)).toBeGreaterThan(at(/chown -R/));
    expect(at(/^mv -- \/var\/lib\/etcd\.restore-\S+ \/var\/lib\/etcd$/)).toBeGreaterThan(at(/before-restore/));
    expect(lines.some((l) => /rm -rf -- \/var\/lib\/etcd$/.test(l))).toBe(false);
  });

  it('an upload checked already is not hashed again inside the downtime', () => {
    expect(restoreDataScript({ ...input, checked: true })).not.toContain('sha256sum');
  });
});
