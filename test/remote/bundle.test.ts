import { mkdir, mkdtemp, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import type { ClusterPki } from '../../src/pki/index.js';
import { renderSystemdUnit } from '../../src/render/index.js';
import { type MemberFiles, type PreparedBinaries, prepareBinaries, prepareMemberBundle } from '../../src/remote/index.js';
import { execFileSync } from 'node:child_process';
import { VERSION_DIR_NAME } from '../../src/remote/bundle.js';
import { uninstallScript, VERSION_DIR_ERE } from '../../src/remote/uninstall-member.js';
import { resolveLayout } from '../../src/render/index.js';
import { SOURCE_ETCD } from '../helpers/release-tarball.js';
import { createTestPki, renderMemberFiles } from './cluster-files.js';

const members = [
  { name: 'etcd01', address: '10.77.0.11' },
  { name: 'etcd02', address: '10.77.0.12' },
];

let dir: string;
let binaries: PreparedBinaries;
let pki: ClusterPki;
let otherPki: ClusterPki;
let files: MemberFiles;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-bundle-'));
  await mkdir(join(dir, 'bin'));
  await copyFile(SOURCE_ETCD, join(dir, 'bin', 'etcd'));
  binaries = { ...(await prepareBinaries({ dir: join(dir, 'bin') })), version: '3.5.30' };
  [pki, otherPki] = await Promise.all([createTestPki(members), createTestPki(members)]);
  const rendered = renderMemberFiles(pki, { members });
  files = rendered.etcd01 as MemberFiles;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const invalid = (field: string) => (e: unknown) => isEtcdKitError(e, 'BUNDLE_INVALID') && e.field === field;

describe('prepareMemberBundle', () => {
  it('places every file by the layout with the right mode and owner', async () => {
    const bundle = await prepareMemberBundle({ binaries, files });
    const byRole = new Map(bundle.files.map((f) => [f.role, f]));
    expect(bundle.serviceUser).toBe('etcd');
    expect(bundle.unitName).toBe('etcd.service');
    expect(bundle.arch).toBe('x86_64');
    expect(bundle.listenPorts).toEqual([2379, 2380]);
    expect(bundle.firewallPorts).toEqual([2379, 2380]);
    // the binaries in their version directory, reached through `current` and the stable links
    expect(bundle.version).toBe('3.5.30');
    expect(byRole.get('etcd')).toMatchObject({ path: '/opt/etcd/bin/3.5.30/etcd', mode: 0o755, owner: 'root', restartsService: true });
    expect(bundle.links).toEqual([
      { role: 'current', path: '/opt/etcd/bin/current', target: '3.5.30' },
      { role: 'etcd', path: '/opt/etcd/bin/etcd', target: 'current/etcd' },
    ]);
    expect(byRole.get('serverKey')).toMatchObject({ path: '/opt/etcd/ssl/server.key', mode: 0o600, owner: 'etcd', group: 'etcd' });
    expect(byRole.get('peerKey')).toMatchObject({ mode: 0o600, owner: 'etcd' });
    expect(byRole.get('caCert')).toMatchObject({ path: '/opt/etcd/ssl/ca.crt', mode: 0o644 });
    expect(byRole.get('env')).toMatchObject({ path: '/opt/etcd/cfg/etcd.env', mode: 0o640, owner: 'root', group: 'etcd' });
    expect(byRole.get('etcdctlEnv')).toMatchObject({ mode: 0o640, restartsService: false });
    expect(byRole.get('unit')).toMatchObject({ path: '/etc/systemd/system/etcd.service', mode: 0o644, owner: 'root' });
    expect(bundle.dirs).toEqual([
      { path: '/opt/etcd/bin', mode: 0o755, owner: 'root', group: 'root' },
      { path: '/opt/etcd/bin/3.5.30', mode: 0o755, owner: 'root', group: 'root' },
      { path: '/opt/etcd/cfg', mode: 0o750, owner: 'root', group: 'etcd' },
      { path: '/opt/etcd/ssl', mode: 0o700, owner: 'etcd', group: 'etcd' },
      { path: '/var/lib/etcd', mode: 0o700, owner: 'etcd', group: 'etcd' },
    ]);
    // Nothing in the bundle is the CA key.
    for (const f of bundle.files) expect(f.data.includes(Buffer.from(pki.ca.keyPem))).toBe(false);
  });

  it('follows a custom layout', async () => {
    const layout = { prefix: '/srv/etcd', dataDir: '/srv/etcd-data' };
    const custom = renderMemberFiles(pki, { members, layout }).etcd01 as MemberFiles;
    const bundle = await prepareMemberBundle({ binaries, files: custom, layout });
    expect(bundle.files.find((f) => f.role === 'serverKey')?.path).toBe('/srv/etcd/ssl/server.key');
    expect(bundle.dirs.map((d) => d.path)).toContain('/srv/etcd-data');
    expect(bundle.files.find((f) => f.role === 'etcd')?.path).toBe('/srv/etcd/bin/3.5.30/etcd');
    expect(bundle.links.map((l) => `${l.path} -> ${l.target}`)).toEqual(['/srv/etcd/bin/current -> 3.5.30', '/srv/etcd/bin/etcd -> current/etcd']);
  });

  it('refuses binaries whose version is unknown (a directory names none) or is not an etcd version', async () => {
    const unknown = { ...binaries, version: undefined };
    const err = await prepareMemberBundle({ binaries: unknown, files }).catch((e) => e);
    expect(invalid('binaries.version')(err)).toBe(true);
    expect(err.message).toContain('probeEtcdVersion');
    await expect(prepareMemberBundle({ binaries: { dir: join(dir, 'bin') }, files })).rejects.toSatisfy(invalid('binaries.version'));
    for (const version of ['../3.5.30', '3.5', 'current', '3.5.30/x']) {
      await expect(prepareMemberBundle({ binaries: { ...binaries, version }, files })).rejects.toSatisfy(invalid('binaries.version'));
    }
    expect((await prepareMemberBundle({ binaries: { ...binaries, version: '3.6.0-rc.1' }, files })).links[0]?.target).toBe('3.6.0-rc.1');
  });

  it('takes a trusted CA file of several CAs (a CA rotation): leaves of either are accepted, each must be a CA', async () => {
    const foreign = otherPki.members.etcd01!;
    const both = `${pki.ca.certPem}${otherPki.ca.certPem}`;
    const bundle = await prepareMemberBundle({ binaries, files: { ...files, caCert: both, peerCert: foreign.peer.certPem, peerKey: foreign.peer.keyPem } });
    expect(bundle.files.find((f) => f.role === 'caCert')?.data.toString('utf8')).toBe(both);
    await expect(prepareMemberBundle({ binaries, files: { ...files, caCert: `${pki.ca.certPem}${files.serverCert}` } })).rejects.toSatisfy(invalid('files.caCert'));
    await expect(prepareMemberBundle({ binaries, files: { ...files, caCert: otherPki.ca.certPem } })).rejects.toSatisfy(invalid('files.serverCert'));
    await expect(prepareMemberBundle({ binaries, files: { ...files, caCert: both, serverKey: otherPki.ca.keyPem } })).rejects.toSatisfy(invalid('files.serverKey'));
  });

  it('refuses the CA private key in place of a member key, or pasted into any text file', async () => {
    await expect(prepareMemberBundle({ binaries, files: { ...files, serverKey: pki.ca.keyPem } })).rejects.toSatisfy(
      invalid('files.serverKey'),
    );
    await expect(prepareMemberBundle({ binaries, files: { ...files, peerKey: pki.ca.keyPem } })).rejects.toSatisfy(
      invalid('files.peerKey'),
    );
    await expect(
      prepareMemberBundle({ binaries, files: { ...files, caCert: `${pki.ca.certPem}\n${pki.ca.keyPem}` } }),
    ).rejects.toSatisfy(invalid('files.caCert'));
    await expect(prepareMemberBundle({ binaries, files: { ...files, env: `${files.env}\n${pki.ca.keyPem}` } })).rejects.toSatisfy(
      invalid('files.env'),
    );
    // The message never carries the key itself.
    const err = await prepareMemberBundle({ binaries, files: { ...files, serverKey: pki.ca.keyPem } }).catch((e) => e);
    expect(String(err.message)).not.toContain('PRIVATE KEY');
  });

  it('refuses a key that does not match its certificate, and a certificate from another CA', async () => {
    const other = pki.members.etcd02;
    await expect(prepareMemberBundle({ binaries, files: { ...files, serverKey: other?.server.keyPem ?? '' } })).rejects.toSatisfy(
      invalid('files.serverKey'),
    );
    const foreign = otherPki.members.etcd01;
    await expect(
      prepareMemberBundle({
        binaries,
        files: { ...files, peerCert: foreign?.peer.certPem ?? '', peerKey: foreign?.peer.keyPem ?? '' },
      }),
    ).rejects.toSatisfy(invalid('files.peerCert'));
    await expect(prepareMemberBundle({ binaries, files: { ...files, caCert: files.serverCert } })).rejects.toSatisfy(
      invalid('files.caCert'),
    );
    await expect(prepareMemberBundle({ binaries, files: { ...files, serverCert: 'not a cert' } })).rejects.toSatisfy(
      invalid('files.serverCert'),
    );
  });

  it('refuses a unit running as root, a plaintext listener, and an env file rendered for another layout', async () => {
    const rootUnit = files.unit.replace(/^User=.*$/m, 'User=root');
    await expect(prepareMemberBundle({ binaries, files: { ...files, unit: rootUnit } })).rejects.toSatisfy(invalid('files.unit'));
    const noUser = files.unit.replace(/^User=.*$/m, '');
    await expect(prepareMemberBundle({ binaries, files: { ...files, unit: noUser } })).rejects.toSatisfy(invalid('files.unit'));
    const plaintext = files.env.replace(/^ETCD_LISTEN_CLIENT_URLS=.*$/m, 'ETCD_LISTEN_CLIENT_URLS="https://10.77.0.11:2379,http://127.0.0.1:2379"');
    await expect(prepareMemberBundle({ binaries, files: { ...files, env: plaintext } })).rejects.toSatisfy(invalid('files.env'));
    await expect(prepareMemberBundle({ binaries, files, layout: { dataDir: '/data/etcd' } })).rejects.toSatisfy(
      invalid('files.env'),
    );
  });

  it('refuses layouts that would take over shared system directories', async () => {
    const layout = { sslDir: '/etc/ssl' };
    const rendered = renderMemberFiles(pki, { members, layout }).etcd01 as MemberFiles;
    await expect(prepareMemberBundle({ binaries, files: { ...rendered, unit: renderSystemdUnit({ layout }) }, layout })).rejects.toSatisfy(
      invalid('layout.sslDir'),
    );
    const top = { dataDir: '/data' };
    const topFiles = renderMemberFiles(pki, { members, layout: top }).etcd01 as MemberFiles;
    await expect(prepareMemberBundle({ binaries, files: topFiles, layout: top })).rejects.toSatisfy(invalid('layout.dataDir'));
  });
});

describe('version directory names', () => {
  it('the host-side grep -E pattern uninstall uses accepts exactly the names install creates and retention deletes', () => {
    const names = ['3.5.30', '3.4.23', '10.20.30', '3.6.0-rc.1', '3.6.0+build.7', '3.5', '3.5.30.1', 'v3.5.30', 'current', 'notes', '3.5.x', '.3.5.30', ''];
    const grep = execFileSync('/bin/sh', ['-c', `printf '%s\\n' "$@" | grep -E "$0" || true`, VERSION_DIR_ERE, ...names], { encoding: 'utf8' });
    const accepted = names.filter((n) => VERSION_DIR_NAME.test(n));
    expect(accepted).toEqual(['3.5.30', '3.4.23', '10.20.30', '3.6.0-rc.1', '3.6.0+build.7']);
    expect(grep.split('\n').filter(Boolean)).toEqual(accepted);
    const script = uninstallScript(resolveLayout(), false);
    expect(script).toContain('rm -rf -- "$d"');
    expect(script).toContain('"$bindir/current"');
  });
});
