import { describe, expect, it } from 'vitest';
import { resolveLayout } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

describe('resolveLayout', () => {
  it('fills the documented defaults', () => {
    expect(resolveLayout()).toEqual({
      prefix: '/opt/etcd',
      binDir: '/opt/etcd/bin',
      cfgDir: '/opt/etcd/cfg',
      sslDir: '/opt/etcd/ssl',
      dataDir: '/var/lib/etcd',
      envFile: '/opt/etcd/cfg/etcd.env',
      etcdctlEnvFile: '/opt/etcd/cfg/etcdctl.env',
      unitPath: '/etc/systemd/system/etcd.service',
      caFile: '/opt/etcd/ssl/ca.crt',
      serverCertFile: '/opt/etcd/ssl/server.crt',
      serverKeyFile: '/opt/etcd/ssl/server.key',
      peerCertFile: '/opt/etcd/ssl/peer.crt',
      peerKeyFile: '/opt/etcd/ssl/peer.key',
    });
  });

  it('derives directories and files from an overridden prefix', () => {
    const l = resolveLayout({ prefix: '/srv/etcd/' });
    expect(l.prefix).toBe('/srv/etcd');
    expect(l.binDir).toBe('/srv/etcd/bin');
    expect(l.envFile).toBe('/srv/etcd/cfg/etcd.env');
    expect(l.peerKeyFile).toBe('/srv/etcd/ssl/peer.key');
    // Not under the prefix: unchanged.
    expect(l.dataDir).toBe('/var/lib/etcd');
    expect(l.unitPath).toBe('/etc/systemd/system/etcd.service');
  });

  it('keeps explicitly overridden derived paths and derives files from them', () => {
    const l = resolveLayout({ prefix: '/srv/etcd', cfgDir: '/etc/etcd', sslDir: '/etc/etcd/pki', envFile: '/etc/default/etcd' });
    expect(l.binDir).toBe('/srv/etcd/bin');
    expect(l.cfgDir).toBe('/etc/etcd');
    expect(l.etcdctlEnvFile).toBe('/etc/etcd/etcdctl.env');
    expect(l.envFile).toBe('/etc/default/etcd');
    expect(l.caFile).toBe('/etc/etcd/pki/ca.crt');
    expect(l.serverCertFile).toBe('/etc/etcd/pki/server.crt');
  });

  it('accepts overrides of single TLS files', () => {
    expect(resolveLayout({ caFile: '/etc/pki/etcd-ca.pem' }).caFile).toBe('/etc/pki/etcd-ca.pem');
  });

  it('rejects relative, unsafe or unknown paths, naming the field', () => {
    expectInvalid(() => resolveLayout({ prefix: 'opt/etcd' }), 'layout.prefix');
    expectInvalid(() => resolveLayout({ dataDir: '' }), 'layout.dataDir');
    expectInvalid(() => resolveLayout({ sslDir: '/opt/"etcd' }), 'layout.sslDir');
    expectInvalid(() => resolveLayout({ binDir: '/opt/$HOME' }), 'layout.binDir');
    expectInvalid(() => resolveLayout({ cfgDir: '/opt/etcd\n/x' }), 'layout.cfgDir');
    expectInvalid(() => resolveLayout({ envFile: '/opt/my etcd/env' }), 'layout.envFile');
    expectInvalid(() => resolveLayout({ unitPath: '/etc/../tmp/x' }), 'layout.unitPath');
    expectInvalid(() => resolveLayout({ peerKeyFile: '/a/`id`' }), 'layout.peerKeyFile');
    expectInvalid(() => resolveLayout({ prefix: 42 as unknown as string }), 'layout.prefix');
    expectInvalid(() => resolveLayout({ prefx: '/x' } as never), 'layout.prefx');
  });
});
