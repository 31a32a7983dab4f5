import { describe, expect, it } from 'vitest';
import { restoreCanBumpRevision, restoreStartEnv, snapshotRestoreCommand } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

const base = {
  binDir: '/opt/etcd/bin',
  snapshotPath: '/home/x/.etcd-kit-staging/abc',
  name: 'etcd02',
  dataDir: '/var/lib/etcd.restore-20261201T000000Z',
  initialCluster: [
    { name: 'etcd01', peerUrl: 'https://10.0.0.11:2380' },
    { name: 'etcd02', peerUrl: 'https://10.0.0.12:2380' },
  ],
  token: 'etcd-x-restored-20261201T000000Z',
  peerUrl: 'https://10.0.0.12:2380',
};

describe('snapshotRestoreCommand', () => {
  it('3.5 and later: etcdutl with the spec names, peer URLs and the new token', () => {
    for (const etcdVersion of ['3.5.16', '3.6.14', '3.7.1']) {
      expect(snapshotRestoreCommand({ ...base, etcdVersion })).toEqual({
        tool: 'etcdutl',
        path: '/opt/etcd/bin/etcdutl',
        args: [
          'snapshot',
          'restore',
          base.snapshotPath,
          '--name=etcd02',
          `--data-dir=${base.dataDir}`,
          '--initial-cluster=etcd01=https://10.0.0.11:2380,etcd02=https://10.0.0.12:2380',
          `--initial-cluster-token=${base.token}`,
          '--initial-advertise-peer-urls=https://10.0.0.12:2380',
        ],
        env: {},
      });
    }
  });

  it('3.4: etcdctl with ETCDCTL_API=3', () => {
    const cmd = snapshotRestoreCommand({ ...base, etcdVersion: '3.4.23' });
    expect([cmd.tool, cmd.path, cmd.env]).toEqual(['etcdctl', '/opt/etcd/bin/etcdctl', { ETCDCTL_API: '3' }]);
    expect(cmd.args.slice(0, 2)).toEqual(['snapshot', 'restore']);
  });

  it('a copied db: --skip-hash-check; a bump: --bump-revision with --mark-compacted, from 3.5.10', () => {
    expect(snapshotRestoreCommand({ ...base, etcdVersion: '3.6.14', skipHashCheck: true }).args).toContain('--skip-hash-check');
    expect(snapshotRestoreCommand({ ...base, etcdVersion: '3.5.10', bumpRevision: 1000, markCompacted: true }).args.slice(-2)).toEqual(['--bump-revision=1000', '--mark-compacted']);
    expect(restoreCanBumpRevision('3.5.9')).toBe(false);
    expect(restoreCanBumpRevision('3.5.10')).toBe(true);
    expect(restoreCanBumpRevision('3.4.23')).toBe(false);
  });

  it('refuses what etcd would refuse, naming the field', () => {
    expectInvalid(() => snapshotRestoreCommand({ ...base, etcdVersion: '3.4.23', bumpRevision: 10, markCompacted: true }), 'bumpRevision');
    expectInvalid(() => snapshotRestoreCommand({ ...base, etcdVersion: '3.6.14', bumpRevision: 10 }), 'markCompacted');
    expectInvalid(() => snapshotRestoreCommand({ ...base, etcdVersion: '3.6.14', markCompacted: true }), 'markCompacted');
    expectInvalid(() => snapshotRestoreCommand({ ...base, etcdVersion: '3.6.14', bumpRevision: -1, markCompacted: true }), 'bumpRevision');
    expectInvalid(() => snapshotRestoreCommand({ ...base, etcdVersion: '3.6.14', bumpRevision: 1.5, markCompacted: true }), 'bumpRevision');
    expectInvalid(() => snapshotRestoreCommand({ ...base, etcdVersion: 'latest' }), 'etcdVersion');
  });
});

describe('restoreStartEnv', () => {
  it('turns the initial corruption check off for the first start only where the env file turns it on', () => {
    expect(restoreStartEnv('ETCD_NAME="a"\nETCD_FEATURE_GATES="InitialCorruptCheck=true"\n')).toEqual({ ETCD_FEATURE_GATES: 'InitialCorruptCheck=false' });
    expect(restoreStartEnv('ETCD_FEATURE_GATES="CompactHashCheck=true,InitialCorruptCheck=true,TxnModeWriteWithSharedBuffer=true"\n')).toEqual({
      ETCD_FEATURE_GATES: 'CompactHashCheck=true,InitialCorruptCheck=false,TxnModeWriteWithSharedBuffer=true',
    });
    expect(restoreStartEnv('ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK="true"\n')).toEqual({ ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: 'false' });
    expect(restoreStartEnv('ETCD_FEATURE_GATES="InitialCorruptCheck=false"\n')).toBeUndefined();
    expect(restoreStartEnv('ETCD_NAME="a"\n')).toBeUndefined();
  });
});
