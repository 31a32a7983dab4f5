import { describe, expect, it } from 'vitest';
import { DEFAULT_ETCD_VERSION, renderSystemdUnit } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

function directives(unit: string): string[] {
  return unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
}

describe('renderSystemdUnit', () => {
  it('runs the bare binary from the env file as etcd, hardened', () => {
    const unit = renderSystemdUnit();
    const d = directives(unit);
    for (const line of [
      'Type=notify',
      'User=etcd',
      'Group=etcd',
      'EnvironmentFile=/opt/etcd/cfg/etcd.env',
      'ExecStart=/opt/etcd/bin/etcd',
      'Restart=on-failure',
      'RestartSec=5',
      'TimeoutStartSec=0',
      'LimitNOFILE=65536',
      'After=network-online.target',
      'Wants=network-online.target',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/etcd',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
      'CapabilityBoundingSet=',
      'WantedBy=multi-user.target',
    ]) {
      expect(d).toContain(line);
    }
    // Exactly one source of truth: no flags on the command line.
    expect(d.filter((l) => l.startsWith('ExecStart='))).toEqual(['ExecStart=/opt/etcd/bin/etcd']);
    expect(unit).not.toMatch(/--|http:\/\//);
    expect(unit.indexOf('[Unit]')).toBeLessThan(unit.indexOf('[Service]'));
    expect(unit.indexOf('[Service]')).toBeLessThan(unit.indexOf('[Install]'));
    expect(renderSystemdUnit()).toBe(unit);
  });

  it('follows the layout, user, group and description', () => {
    const d = directives(
      renderSystemdUnit({
        layout: { prefix: '/srv/etcd', dataDir: '/data/etcd' },
        user: 'etcd-svc',
        group: 'kube',
        description: 'etcd for cluster 100%',
      }),
    );
    expect(d).toContain('ExecStart=/srv/etcd/bin/etcd');
    expect(d).toContain('EnvironmentFile=/srv/etcd/cfg/etcd.env');
    expect(d).toContain('ReadWritePaths=/data/etcd');
    expect(d).toContain('User=etcd-svc');
    expect(d).toContain('Group=kube');
    // % starts a systemd specifier; it must be doubled to stay literal.
    expect(d).toContain('Description=etcd for cluster 100%%');
    expect(directives(renderSystemdUnit({ user: 'svc' }))).toContain('Group=svc');
    expect(directives(renderSystemdUnit({ layout: { binDir: '/usr/bin' } }))).toContain('ExecStart=/usr/bin/etcd');
  });

  it('links the docs of the etcd minor it runs (default: DEFAULT_ETCD_VERSION, 3.6)', () => {
    expect(directives(renderSystemdUnit())).toContain('Documentation=https://etcd.io/docs/v3.6/');
    for (const [etcdVersion, minor] of [
      ['3.4.23', '3.4'],
      ['3.5.33', '3.5'],
      ['3.6.14', '3.6'],
      ['3.7.1', '3.7'],
    ] as const) {
      const unit = renderSystemdUnit({ etcdVersion });
      expect(directives(unit)).toContain(`Documentation=https://etcd.io/docs/v${minor}/`);
      // Nothing else depends on the version.
      expect(unit.replace(`v${minor}/`, 'v3.6/')).toBe(renderSystemdUnit());
    }
    expect(renderSystemdUnit({ etcdVersion: DEFAULT_ETCD_VERSION })).toBe(renderSystemdUnit());
    for (const etcdVersion of ['3.8.0', '3.6', 'v3.6.14']) expectInvalid(() => renderSystemdUnit({ etcdVersion }), 'etcdVersion');
  });

  it('rejects root, bad names and unsafe text', () => {
    expectInvalid(() => renderSystemdUnit({ user: 'root' }), 'user');
    expectInvalid(() => renderSystemdUnit({ user: 'Etcd User' }), 'user');
    expectInvalid(() => renderSystemdUnit({ group: '0bad;rm' }), 'group');
    expectInvalid(() => renderSystemdUnit({ description: 'x\n[Service]\nUser=root' }), 'description');
    expectInvalid(() => renderSystemdUnit({ description: ' ' }), 'description');
    expectInvalid(() => renderSystemdUnit({ layout: { binDir: 'bin' } }), 'layout.binDir');
  });
});
