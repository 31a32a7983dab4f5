import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { renderSystemdUnit } from '../../src/render/index.js';
import { factsScript, type HostFacts, parseFacts } from '../../src/remote/facts.js';
import { type MemberFiles, type PreparedBinaries, type PreparedBundle, prepareBinaries, prepareMemberBundle } from '../../src/remote/index.js';
import {
  applyScript,
  checkHost,
  describeHostChanges,
  ETCD_VERSION_MISMATCH_EXIT,
  factsAfterInstall,
  planInstall,
  planIsEmpty,
  restartCauses,
  STAGED_HASH_MISMATCH_EXIT,
  unitIsRunning,
} from '../../src/remote/install-plan.js';
import { factsQueryFor } from '../../src/remote/host-session.js';
import { SOURCE_ETCD } from '../helpers/release-tarball.js';
import { createTestPki, renderMemberFiles } from './cluster-files.js';

const run = promisify(execFile);
const members = [{ name: 'etcd01', address: '10.77.0.11' }];

let dir: string;
let bundle: PreparedBundle;
/** What the machine's etcd (the bundle's binary) reports. */
let realVersion: string;

/** Facts of a bare host. */
function bareFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    uid: 0,
    arch: 'x86_64',
    systemd: true,
    systemdVersion: 219, // CentOS 7's: the oldest this plans for
    missingTools: [],
    userExists: false,
    groupExists: false,
    hashes: new Map(bundle.files.map((f) => [f.path, null])),
    stats: new Map(),
    unit: { loadState: 'not-found', activeState: 'inactive', subState: 'dead', mainPid: 0, unitFileState: '', needDaemonReload: false },
    listening: [],
    mainPidSockets: new Set(),
    firewall: { firewalld: { active: false, openPorts: [] }, ufw: { active: false, allowedPorts: [] }, nftables: [] },
    contents: new Map(),
    memberData: false,
    links: new Map(),
    versionDirs: [],
    ...overrides,
  };
}

/** Facts of a host where install already ran with this bundle and etcd is running. */
function installedFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  const stats = new Map<string, { mode: number; owner: string; group: string; type: string }>();
  for (const f of bundle.files) stats.set(f.path, { mode: f.mode, owner: f.owner, group: f.group, type: 'regular file' });
  for (const d of bundle.dirs) stats.set(d.path, { mode: d.mode, owner: d.owner, group: d.group, type: 'directory' });
  return bareFacts({
    userExists: true,
    groupExists: true,
    hashes: new Map(bundle.files.map((f) => [f.path, f.sha256])),
    stats,
    unit: { loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 4242, unitFileState: 'enabled', needDaemonReload: false },
    listening: [
      { port: 2379, inode: '111' },
      { port: 2380, inode: '112' },
    ],
    mainPidSockets: new Set(['111', '112']),
    links: new Map(bundle.links.map((l) => [l.path, l.target])),
    versionDirs: [bundle.version],
    etcdVersion: bundle.version,
    ...overrides,
  });
}

const ifChanged = { restart: 'if-changed' as const, openFirewall: true };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-plan-'));
  await mkdir(join(dir, 'bin'));
  await copyFile(SOURCE_ETCD, join(dir, 'bin', 'etcd'));
  const pki = await createTestPki(members);
  const files = renderMemberFiles(pki, { members }).etcd01 as MemberFiles;
  realVersion = (await run(SOURCE_ETCD, ['--version'])).stdout.split('\n')[0]!.replace('etcd Version: ', '');
  bundle = await prepareMemberBundle({ binaries: { ...(await prepareBinaries({ dir: join(dir, 'bin') })), version: realVersion }, files });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('planInstall', () => {
  it('on a bare host: uploads everything, creates the account, reloads, enables and starts without blocking', () => {
    const plan = planInstall(bundle, bareFacts(), ifChanged);
    expect(plan.upload).toHaveLength(bundle.files.length);
    expect(plan.createUser && plan.createGroup && plan.daemonReload && plan.enable).toBe(true);
    expect(plan.fixDirs).toHaveLength(5);
    expect(plan.service).toBe('start');
    const script = applyScript(bundle, plan, '/root/.etcd-kit-staging');
    expect(script).toContain('systemctl start --no-block etcd.service');
    expect(script).not.toMatch(/systemctl (re)?start etcd/);
    expect(script).toContain('useradd --system --gid etcd');
    expect(script).toContain('install -d -m 0700 -o etcd -g etcd -- /opt/etcd/ssl');
    expect(script).toContain('install -d -m 0750 -o root -g etcd -- /opt/etcd/cfg');
    const key = plan.upload.find((f) => f.role === 'serverKey');
    const tmp = '/opt/etcd/ssl/.server.key.etcd-kit-new';
    const order = [
      `mv -f -- /root/.etcd-kit-staging/${key?.sha256} ${tmp}`,
      'chown etcd:etcd -- ',
      'chmod 0600 -- ',
      'sync -- ',
      `mv -f -- ${tmp} /opt/etcd/ssl/server.key`,
      'systemctl daemon-reload',
      'systemctl enable --no-reload --quiet etcd.service',
      'systemctl start --no-block etcd.service',
    ].map((line) => script.indexOf(line));
    expect(order.every((pos) => pos >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(script).toContain('rm -rf -- /root/.etcd-kit-staging');
    // One chown per owner and one chmod per mode, each naming the key's temp file.
    const linesOf = (prefix: string) => script.split('\n').filter((l) => l.startsWith(prefix));
    expect(linesOf('chown etcd:etcd -- ')).toHaveLength(1);
    expect(linesOf('chown etcd:etcd -- ')[0]).toContain(tmp);
    expect(linesOf('chmod 0600 -- ')).toHaveLength(1);
    expect(linesOf('chmod 0600 -- ')[0]).toContain(tmp);
    expect(linesOf('chmod ').length).toBe(new Set(plan.upload.map((f) => f.mode)).size);
  });

  it('skips the daemon-reload of a first install on systemd >= 246, which loads a new unit file by itself', () => {
    expect(planInstall(bundle, bareFacts({ systemdVersion: 252 }), ifChanged).daemonReload).toBe(false);
    expect(planInstall(bundle, bareFacts({ systemdVersion: 245 }), ifChanged).daemonReload).toBe(true);
    const known = bareFacts({ systemdVersion: 252 });
    known.unit = { ...known.unit, loadState: 'loaded' };
    expect(planInstall(bundle, known, ifChanged).daemonReload).toBe(true);
  });

  it('on an up-to-date running member: nothing at all', () => {
    const plan = planInstall(bundle, installedFacts(), ifChanged);
    expect(planIsEmpty(plan)).toBe(true);
    expect(planInstall(bundle, installedFacts(), { restart: 'always', openFirewall: true }).service).toBe('restart');
  });

  it('one changed setting: uploads only the env file and restarts', () => {
    const env = bundle.files.find((f) => f.role === 'env');
    const facts = installedFacts();
    facts.hashes.set(env?.path ?? '', 'f'.repeat(64));
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.upload.map((f) => f.role)).toEqual(['env']);
    expect(plan.service).toBe('restart');
    expect(plan.daemonReload).toBe(false);
    expect(applyScript(bundle, plan, '/s')).toContain('systemctl restart --no-block etcd.service');
    expect(planInstall(bundle, facts, { restart: 'never', openFirewall: true }).service).toBe('none');
  });

  it('an env file whose only change is a bootstrap-only setting: uploaded, no restart (the one restart rule)', () => {
    const env = bundle.files.find((f) => f.role === 'env')!;
    const text = env.data.toString('utf8');
    const facts = installedFacts();
    facts.hashes.set(env.path, 'f'.repeat(64));
    facts.contents.set(env.path, text.replace(/^ETCD_INITIAL_CLUSTER_STATE=.*$/m, 'ETCD_INITIAL_CLUSTER_STATE="new"'));
    expect(restartCauses(bundle, facts)).toEqual([]);
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.upload.map((f) => f.role)).toEqual(['env']);
    expect(plan.service).toBe('none');
    // a setting etcd reads at start: named
    facts.contents.set(env.path, text.replace(/^ETCD_NAME=.*$/m, 'ETCD_NAME="other"'));
    expect(restartCauses(bundle, facts)).toEqual([{ role: 'env', path: env.path, settings: ['ETCD_NAME'] }]);
    expect(planInstall(bundle, facts, ifChanged).service).toBe('restart');
    // the host's text unknown: a restart, without a list of settings
    facts.contents.delete(env.path);
    expect(restartCauses(bundle, facts)).toEqual([{ role: 'env', path: env.path }]);
  });

  it('restartCauses names the binary and the certificates; etcdctl files never', () => {
    const facts = installedFacts();
    const changed = bundle.files.filter((f) => ['etcd', 'serverCert', 'etcdctl', 'etcdctlEnv'].includes(f.role));
    expect(changed.map((f) => f.role)).toContain('etcdctlEnv');
    for (const f of changed) facts.hashes.set(f.path, null);
    expect(restartCauses(bundle, facts).map((c) => c.role)).toEqual(['etcd', 'serverCert']);
  });

  it('unitIsRunning: a process, active or starting up — not waiting to restart after a crash', () => {
    const unit = { activeState: 'inactive', subState: 'dead', mainPid: 0 };
    expect(unitIsRunning(unit)).toBe(false);
    expect(unitIsRunning({ ...unit, mainPid: 7 })).toBe(true);
    expect(unitIsRunning({ activeState: 'activating', subState: 'start', mainPid: 0 })).toBe(true);
    expect(unitIsRunning({ activeState: 'active', subState: 'running', mainPid: 0 })).toBe(true);
    expect(unitIsRunning({ activeState: 'activating', subState: 'auto-restart', mainPid: 0 })).toBe(false);
  });

  it('a changed etcdctl env file does not restart etcd; a changed unit reloads systemd', () => {
    const facts = installedFacts();
    facts.hashes.set(bundle.files.find((f) => f.role === 'etcdctlEnv')?.path ?? '', null);
    expect(planInstall(bundle, facts, ifChanged).service).toBe('none');
    facts.hashes.set(bundle.files.find((f) => f.role === 'unit')?.path ?? '', 'a'.repeat(64));
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.daemonReload).toBe(true);
    expect(plan.service).toBe('restart');
  });

  it('fixes a loosened key mode without uploading or restarting', () => {
    const facts = installedFacts();
    const key = bundle.files.find((f) => f.role === 'serverKey');
    facts.stats.set(key?.path ?? '', { mode: 0o644, owner: 'root', group: 'root', type: 'regular file' });
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.upload).toEqual([]);
    expect(plan.fixMetadata.map((f) => f.role)).toEqual(['serverKey']);
    expect(plan.service).toBe('none');
    const script = applyScript(bundle, plan, undefined);
    expect(script).toContain('chown -h etcd:etcd -- /opt/etcd/ssl/server.key');
    expect(script).toContain('chmod 0600 -- /opt/etcd/ssl/server.key');
  });

  it('opens firewall ports only when allowed to, and reports the firewall either way', () => {
    const facts = installedFacts({
      firewall: { firewalld: { active: false, openPorts: [] }, ufw: { active: true, allowedPorts: [] }, nftables: [] },
    });
    const open = planInstall(bundle, facts, ifChanged);
    expect(open.firewall).toMatchObject({ kind: 'ufw', opens: [2379, 2380] });
    expect(applyScript(bundle, open, undefined)).toContain('ufw allow 2379/tcp');
    const closed = planInstall(bundle, facts, { restart: 'if-changed', openFirewall: false });
    expect(closed.firewall).toMatchObject({ kind: 'ufw', opens: [], commands: [] });
    expect(planIsEmpty(closed)).toBe(true);
  });

  it('starts a stopped member even when nothing changed, unless told never to', () => {
    const facts = installedFacts({
      unit: { loadState: 'loaded', activeState: 'failed', subState: 'failed', mainPid: 0, unitFileState: 'enabled', needDaemonReload: false },
    });
    expect(planInstall(bundle, facts, ifChanged).service).toBe('start');
    expect(planInstall(bundle, facts, { restart: 'never', openFirewall: true }).service).toBe('none');
    // A first member waiting for quorum is "activating": it is running, not to be started again.
    const waiting = installedFacts({
      unit: { loadState: 'loaded', activeState: 'activating', subState: 'start', mainPid: 77, unitFileState: 'enabled', needDaemonReload: false },
    });
    expect(planInstall(bundle, waiting, ifChanged).service).toBe('none');
  });
});

describe('describeHostChanges', () => {
  it('names the account, loosened directories, a disabled unit and a stale unit; nothing on an installed host', () => {
    expect(describeHostChanges(bundle, planInstall(bundle, installedFacts(), ifChanged))).toEqual([]);
    const bare = describeHostChanges(bundle, planInstall(bundle, bareFacts({ systemdVersion: 252 }), ifChanged));
    expect(bare).toEqual(expect.arrayContaining(['create group etcd', 'create user etcd', 'enable etcd.service (start at boot)']));
    // On a bare host the unit file itself is uploaded: no separate daemon-reload line.
    expect(bare.some((c) => c.includes('daemon-reload'))).toBe(false);
    const ssl = bundle.dirs.find((d) => d.path.endsWith('/ssl'))!;
    const installed = installedFacts();
    const drifted = installedFacts({
      stats: new Map([...installed.stats, [ssl.path, { ...installed.stats.get(ssl.path)!, mode: 0o755 }]]),
      unit: { ...installed.unit, unitFileState: 'disabled', needDaemonReload: true },
    });
    expect(describeHostChanges(bundle, planInstall(bundle, drifted, ifChanged))).toEqual([
      `directory ${ssl.path}: mode 0700, owner etcd:etcd`,
      'systemctl daemon-reload (systemd holds an outdated copy of the unit)',
      'enable etcd.service (start at boot)',
    ]);
  });
});

describe('versioned binaries: <binDir>/<version>/, current and the stable links', () => {
  const bin = '/opt/etcd/bin';
  /** The bundle with its binaries labelled `version` (same bytes: planning only looks at hashes and names). */
  const labelled = (version: string): PreparedBundle => {
    const files = bundle.files.map((f) => (['etcd', 'etcdctl', 'etcdutl'].includes(f.role) ? { ...f, path: `${bin}/${version}/${f.role}` } : f));
    return {
      ...bundle,
      version,
      files,
      dirs: bundle.dirs.map((d) => (d.path === `${bin}/${bundle.version}` ? { ...d, path: `${bin}/${version}` } : d)),
      links: bundle.links.map((l) => (l.role === 'current' ? { ...l, target: version } : l)),
    };
  };
  /** A running host on `from`, with `dirs` version directories (binaries of `from` in place). */
  const onVersion = (from: PreparedBundle, dirs: string[]) => {
    const facts = installedFacts({
      links: new Map(from.links.map((l) => [l.path, l.target])),
      versionDirs: dirs,
      etcdVersion: from.version,
    });
    for (const f of bundle.files) if (['etcd', 'etcdctl', 'etcdutl'].includes(f.role)) facts.hashes.delete(f.path);
    for (const f of from.files) facts.hashes.set(f.path, f.sha256);
    return facts;
  };
  const pos = (script: string, line: string) => {
    const i = script.indexOf(line);
    expect(i, line).toBeGreaterThanOrEqual(0);
    return i;
  };

  it('switches `current` after the new etcd is verified and every file renamed, right before the start', () => {
    const plan = planInstall(bundle, bareFacts(), ifChanged);
    expect(plan.links.map((l) => [l.path, l.target])).toEqual([
      [`${bin}/current`, bundle.version],
      [`${bin}/etcd`, 'current/etcd'],
    ]);
    const script = applyScript(bundle, plan, '/s');
    const order = [
      `${bin}/${bundle.version}/.etcd.etcd-kit-new --version`,
      `mv -f -- ${bin}/${bundle.version}/.etcd.etcd-kit-new ${bin}/${bundle.version}/etcd`,
      'mv -f -- /etc/systemd/system/.etcd.service.etcd-kit-new /etc/systemd/system/etcd.service',
      `ln -sfn -- ${bundle.version} ${bin}/.current.etcd-kit-new`,
      `mv -T -f -- ${bin}/.current.etcd-kit-new ${bin}/current`,
      `ln -sfn -- current/etcd ${bin}/.etcd.etcd-kit-new`,
      `mv -T -f -- ${bin}/.etcd.etcd-kit-new ${bin}/etcd`,
      `sync -- ${bin} 2>/dev/null || sync`,
      'systemctl start --no-block etcd.service',
    ].map((line) => pos(script, line));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(script).not.toContain('rm -rf -- /opt/etcd/bin/');
  });

  it('everything in place: nothing to do, not even the apply script', () => {
    const plan = planInstall(bundle, installedFacts(), ifChanged);
    expect(planIsEmpty(plan)).toBe(true);
    expect(plan).toMatchObject({ upload: [], adopt: [], links: [], removeLinks: [], pruneVersions: [], etcdChanges: false });
    // a stable link pointing elsewhere is put back, and that changes the etcd that starts
    const facts = installedFacts();
    facts.links.set(`${bin}/etcd`, `${bundle.version}/etcd`);
    const fix = planInstall(bundle, facts, ifChanged);
    expect(fix.links.map((l) => l.path)).toEqual([`${bin}/etcd`]);
    expect(fix).toMatchObject({ upload: [], etcdChanges: true, service: 'restart' });
  });

  it('an upgrade uploads the new version, switches, restarts, and keeps only the previous version and the new one', () => {
    const old = labelled('3.0.1');
    const facts = onVersion(old, ['3.0.0', '3.0.1', '3.1.0-rc.1']);
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.upload.map((f) => f.path)).toEqual([`${bin}/${bundle.version}/etcd`]);
    expect(plan.links.map((l) => l.role)).toEqual(['current']);
    expect(plan.pruneVersions).toEqual(['3.0.0', '3.1.0-rc.1']);
    expect(plan).toMatchObject({ etcdChanges: true, service: 'restart' });
    const script = applyScript(bundle, plan, '/s');
    const switchAt = pos(script, `mv -T -f -- ${bin}/.current.etcd-kit-new ${bin}/current`);
    expect(pos(script, `rm -rf -- ${bin}/3.0.0 ${bin}/3.1.0-rc.1`)).toBeGreaterThan(switchAt);
    expect(pos(script, 'systemctl restart --no-block etcd.service')).toBeGreaterThan(switchAt);
    expect(script).not.toContain(`${bin}/3.0.1 `);
    expect(describeHostChanges(bundle, plan)).toEqual([
      `link ${bin}/current -> ${bundle.version}`,
      `remove ${bin}/3.0.0 (older version)`,
      `remove ${bin}/3.1.0-rc.1 (older version)`,
    ]);
    // with the facts the install leaves, a second install has nothing to do
    const after = factsAfterInstall(bundle, plan, facts);
    expect(after.versionDirs).toEqual(['3.0.1', bundle.version].sort());
    expect(after.etcdVersion).toBe(bundle.version);
    expect(planIsEmpty(planInstall(bundle, after, ifChanged))).toBe(true);
    // staged only (rolling restarts): the switch happens, the restart is the caller's
    const staged = planInstall(bundle, facts, { restart: 'never', openFirewall: true });
    expect(staged.service).toBe('none');
    expect(applyScript(bundle, staged, '/s')).toContain(`mv -T -f -- ${bin}/.current.etcd-kit-new ${bin}/current`);
  });

  it('back to a version whose directory is still there: no upload, only the switch (and the restart)', () => {
    const newer = labelled('3.9.1');
    const facts = onVersion(newer, ['3.9.1', bundle.version]);
    for (const f of bundle.files) facts.hashes.set(f.path, f.sha256);
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.upload).toEqual([]);
    expect(plan.adopt).toEqual([]);
    expect(plan.links.map((l) => [l.role, l.target])).toEqual([['current', bundle.version]]);
    expect(plan).toMatchObject({ pruneVersions: [], etcdChanges: true, service: 'restart', fixMetadata: [] });
    expect(planIsEmpty(plan)).toBe(false);
    const script = applyScript(bundle, plan, undefined);
    expect(script).not.toContain('etcd-kit-staging');
    expect(script).not.toContain('--version');
    expect(pos(script, 'systemctl restart --no-block')).toBeGreaterThan(pos(script, `mv -T -f -- ${bin}/.current.etcd-kit-new ${bin}/current`));
  });

  it('a flat install with the same bytes: hard links into the version directory, links over the files, no upload, no restart', () => {
    const flat = installedFacts({ links: new Map(), versionDirs: [], etcdVersion: bundle.version });
    const etcd = bundle.files.find((f) => f.role === 'etcd')!;
    flat.hashes.delete(etcd.path);
    flat.hashes.set(`${bin}/etcd`, etcd.sha256);
    flat.stats.delete(`${bin}/${bundle.version}`);
    const plan = planInstall(bundle, flat, ifChanged);
    expect(plan.upload).toEqual([]);
    expect(plan.adopt.map((f) => f.path)).toEqual([etcd.path]);
    expect(plan.links.map((l) => l.role)).toEqual(['current', 'etcd']);
    expect(plan).toMatchObject({ etcdChanges: false, service: 'none', pruneVersions: [] });
    expect(plan.keepFlat).toBeUndefined();
    const script = applyScript(bundle, plan, undefined);
    const tmp = `${bin}/${bundle.version}/.etcd.etcd-kit-new`;
    const order = [
      `install -d -m 0755 -o root -g root -- ${bin}/${bundle.version}`,
      `ln -f -- ${bin}/etcd ${tmp}`,
      `${tmp} --version`,
      `mv -f -- ${tmp} ${etcd.path}`,
      `mv -T -f -- ${bin}/.current.etcd-kit-new ${bin}/current`,
      `mv -T -f -- ${bin}/.etcd.etcd-kit-new ${bin}/etcd`,
    ].map((line) => pos(script, line));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const after = factsAfterInstall(bundle, plan, flat);
    expect(after.hashes.get(`${bin}/etcd`)).toBeNull();
    expect(planIsEmpty(planInstall(bundle, after, ifChanged))).toBe(true);
    // the same bytes labelled as another release are not adopted: uploaded, so the apply's --version check refuses them
    const mislabelled = planInstall(labelled('3.9.1'), flat, ifChanged);
    expect(mislabelled.adopt).toEqual([]);
    expect(mislabelled.upload.map((f) => f.role)).toContain('etcd');
  });

  it('a flat install of another version: kept as its version directory, the new one uploaded and switched to, restarted', () => {
    const flat = installedFacts({ links: new Map(), versionDirs: [], etcdVersion: '3.0.1' });
    const etcd = bundle.files.find((f) => f.role === 'etcd')!;
    flat.hashes.delete(etcd.path);
    flat.hashes.set(`${bin}/etcd`, 'e'.repeat(64));
    flat.hashes.set(`${bin}/etcdutl`, 'a'.repeat(64));
    const plan = planInstall(bundle, flat, ifChanged);
    expect(plan.keepFlat).toEqual({ version: '3.0.1', names: ['etcd', 'etcdutl'] });
    expect(plan.upload.map((f) => f.path)).toEqual([etcd.path]);
    // the bundle has no etcdutl: the flat one goes, after the switch (its bytes stay in 3.0.1/)
    expect(plan.removeLinks).toEqual([`${bin}/etcdutl`]);
    expect(plan).toMatchObject({ etcdChanges: true, service: 'restart', pruneVersions: [] });
    const script = applyScript(bundle, plan, '/s');
    const order = [
      `install -d -m 0755 -o root -g root -- ${bin}/3.0.1`,
      `ln -f -- ${bin}/etcd ${bin}/3.0.1/etcd`,
      `ln -f -- ${bin}/etcdutl ${bin}/3.0.1/etcdutl`,
      `mv -T -f -- ${bin}/.current.etcd-kit-new ${bin}/current`,
      `mv -T -f -- ${bin}/.etcd.etcd-kit-new ${bin}/etcd`,
      `rm -f -- ${bin}/etcdutl`,
      'systemctl restart --no-block',
    ].map((line) => pos(script, line));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const after = factsAfterInstall(bundle, plan, flat);
    expect(after.versionDirs).toEqual(['3.0.1', bundle.version].sort());
    expect(planIsEmpty(planInstall(bundle, after, ifChanged))).toBe(true);
    // its version unknown (etcd would not run): the old bytes are not kept
    const { etcdVersion: _v, ...unknown } = flat;
    expect(planInstall(bundle, unknown as HostFacts, ifChanged).keepFlat).toBeUndefined();
  });

  it('a stable link of a binary the bundle lacks is removed; other links in binDir are left alone', () => {
    const facts = installedFacts();
    facts.links.set(`${bin}/etcdutl`, 'current/etcdutl');
    facts.links.set(`${bin}/mytool`, '/usr/local/bin/mytool');
    const plan = planInstall(bundle, facts, ifChanged);
    expect(plan.removeLinks).toEqual([`${bin}/etcdutl`]);
    expect(plan).toMatchObject({ etcdChanges: false, service: 'none', links: [] });
    expect(factsAfterInstall(bundle, plan, facts).links.get(`${bin}/mytool`)).toBe('/usr/local/bin/mytool');
  });
});

describe('factsAfterInstall', () => {
  it('predicts a host a chained install has nothing left to do on, firewall and unit included', () => {
    const bare = bareFacts({
      systemdVersion: 252,
      firewall: {
        firewalld: { active: false, openPorts: [] },
        ufw: { active: false, allowedPorts: [] },
        nftables: [{ family: 'inet', table: 'filter', chain: 'input' }],
      },
    });
    const first = planInstall(bundle, bare, ifChanged);
    expect(first.firewall.commands).toHaveLength(1);
    const after = factsAfterInstall(bundle, first, bare);
    expect(after.unit).toMatchObject({ loadState: 'loaded', activeState: 'activating', unitFileState: 'enabled', mainPid: 0 });
    expect(after.firewall.nftables[0]?.etcdKitRule?.ports).toEqual(bundle.firewallPorts);
    // The next install (etcd still starting) plans nothing: no upload, no restart, no second firewall rule.
    expect(planIsEmpty(planInstall(bundle, after, ifChanged))).toBe(true);

    // Finalize-like: a bundle whose env file differs uploads only that file and leaves the service alone.
    const env = bundle.files.find((f) => f.role === 'env')!;
    const steady = { ...bundle, files: bundle.files.map((f) => (f === env ? { ...f, data: Buffer.from('X=1\n'), sha256: 'f'.repeat(64) } : f)) };
    const finalize = planInstall(steady, after, { restart: 'never', openFirewall: true });
    expect(finalize.upload.map((f) => f.role)).toEqual(['env']);
    expect(finalize).toMatchObject({ service: 'none', daemonReload: false, enable: false, createUser: false, fixDirs: [] });
    expect(factsAfterInstall(steady, finalize, after).contents.get(env.path)).toBe('X=1\n');
  });

  it('counts ports a firewalld or ufw install opened as open', () => {
    for (const kind of ['firewalld', 'ufw'] as const) {
      const firewall = {
        firewalld: { active: kind === 'firewalld', openPorts: [22] },
        ufw: { active: kind === 'ufw', allowedPorts: [22] },
        nftables: [],
      };
      const facts = installedFacts({ firewall });
      const plan = planInstall(bundle, facts, ifChanged);
      expect(plan.firewall.opens).toEqual([2379, 2380]);
      const after = factsAfterInstall(bundle, plan, facts);
      expect(planInstall(bundle, after, ifChanged).firewall.commands).toEqual([]);
    }
  });
});

describe('checkHost', () => {
  const fails = (facts: HostFacts, code: string) => {
    let caught: unknown;
    try {
      checkHost('h1', bundle, facts);
    } catch (err) {
      caught = err;
    }
    expect(isEtcdKitError(caught) && caught.code).toBe(code);
    return caught as { message: string; details?: Record<string, unknown> };
  };

  it('refuses hosts without systemd, of another architecture, or missing tools', () => {
    fails(bareFacts({ systemd: false }), 'HOST_UNSUPPORTED');
    expect(fails(bareFacts({ arch: 'aarch64' }), 'HOST_UNSUPPORTED').message).toContain('aarch64');
    fails(bareFacts({ missingTools: ['useradd'] }), 'HOST_UNSUPPORTED');
    fails(bareFacts({ uid: 1000 }), 'HOST_UNSUPPORTED');
  });

  it('refuses ports held by another process, accepts ports held by our etcd', () => {
    const err = fails(bareFacts({ listening: [{ port: 2379, inode: '9' }, { port: 22, inode: '10' }] }), 'HOST_PORT_IN_USE');
    expect(err.details?.ports).toEqual([2379]);
    expect(() => checkHost('h1', bundle, installedFacts())).not.toThrow();
    expect(() => checkHost('h1', bundle, bareFacts({ listening: [{ port: 22, inode: '10' }] }))).not.toThrow();
  });
});

/** A PATH with every command of this machine except b2sum: an old host (coreutils < 8.26, e.g. CentOS 7). */
async function pathWithoutB2sum(): Promise<string> {
  const bin = join(dir, 'no-b2sum-bin');
  await mkdir(bin);
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const names = await readdir(d).catch(() => [] as string[]);
    for (const name of names) {
      if (name !== 'b2sum') await symlink(join(d, name), join(bin, name)).catch(() => {});
    }
  }
  return bin;
}

describe('applyScript, run by a real /bin/sh against a scratch layout', () => {
  it.each([
    ['b2sum', false],
    ['sha256sum (no b2sum on the host)', true],
  ])('checks staged copies with %s: refuses to place anything if one is wrong, then places all with mode and owner', async (tool, oldHost) => {
    const env = oldHost ? { ...process.env, PATH: await pathWithoutB2sum() } : process.env;
    const sh = (script: string) => run('/bin/sh', ['-c', script], { env });
    if (oldHost) await expect(sh('command -v b2sum')).rejects.toBeTruthy();
    else await sh('command -v b2sum');
    const root = join(dir, `host-${tool.split(' ')[0]}`);
    const layout = { prefix: `${root}/opt/etcd`, dataDir: `${root}/var/lib/etcd`, unitPath: `${root}/systemd/etcd.service` };
    const pki = await createTestPki(members);
    const rendered = renderMemberFiles(pki, { members, layout }).etcd01 as MemberFiles;
    // The account must exist on this machine: use nobody/nogroup instead of etcd.
    const files = { ...rendered, unit: renderSystemdUnit({ layout, user: 'nobody', group: 'nogroup' }) };
    const local = await prepareMemberBundle({ binaries: { ...(await prepareBinaries({ dir: join(dir, 'bin') })), version: realVersion }, files, layout });
    const query = {
      files: local.files.map((f) => f.path),
      dirs: local.dirs.map((d) => d.path),
      unitName: local.unitName,
      serviceUser: local.serviceUser,
      serviceGroup: local.serviceGroup,
      hashCacheFile: join(root, 'hash-cache'),
    };
    const facts = parseFacts((await sh(factsScript(query))).stdout);
    const plan = planInstall(local, facts, { restart: 'never', openFirewall: false });
    // No systemd here: keep the script to files only.
    plan.daemonReload = false;
    plan.enable = false;
    expect(plan.createUser).toBe(false);

    const staging = join(root, 'staging');
    await mkdir(staging, { mode: 0o700, recursive: true });
    for (const f of plan.upload) await writeFile(join(staging, f.sha256), f.data, { mode: 0o600 });
    // Corrupt the staged copy of the peer key: it must not be installed.
    const peerKey = plan.upload.find((f) => f.role === 'peerKey');
    if (!peerKey) throw new Error('peer key not planned');
    await writeFile(join(staging, peerKey.sha256), 'truncated');
    const script = applyScript(local, plan, staging);
    const failed = await sh(script).catch((e) => e);
    expect(failed.code).toBe(STAGED_HASH_MISMATCH_EXIT);
    // All staged copies are checked before any is placed: not one file changed.
    for (const f of local.files) await expect(stat(f.path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(root, 'opt/etcd/ssl'))).toEqual([]);

    await writeFile(join(staging, peerKey.sha256), peerKey.data, { mode: 0o600 });
    await sh(script);
    for (const f of local.files) {
      const st = await stat(f.path);
      expect((await readFile(f.path)).equals(f.data)).toBe(true);
      expect(st.mode & 0o7777).toBe(f.mode);
    }
    const keyStat = await stat(peerKey.path);
    const { stdout: nobody } = await run('id', ['-u', 'nobody']);
    expect(keyStat.uid).toBe(Number(nobody.trim()));
    expect((await stat(join(root, 'opt/etcd/ssl'))).mode & 0o7777).toBe(0o700);
    await expect(stat(staging)).rejects.toMatchObject({ code: 'ENOENT' });

    // Run facts again: the plan is now empty apart from the systemd steps this machine cannot do.
    const after = parseFacts((await sh(factsScript(query))).stdout);
    const again = planInstall(local, after, { restart: 'never', openFirewall: false });
    expect(again.upload).toEqual([]);
    expect(again.fixMetadata).toEqual([]);
    expect(again.fixDirs).toEqual([]);
    // What install predicts for a chained call is what the host reports.
    const predicted = factsAfterInstall(local, plan, facts);
    expect(predicted.hashes).toEqual(after.hashes);
    expect(predicted.stats).toEqual(after.stats);
  });

  it('runs the new etcd before placing anything: a release whose name lies about its version replaces nothing', async () => {
    const root = join(dir, 'host-version');
    const layout = { prefix: `${root}/opt/etcd`, dataDir: `${root}/var/lib/etcd`, unitPath: `${root}/systemd/etcd.service` };
    const pki = await createTestPki(members);
    const rendered = renderMemberFiles(pki, { members, layout }).etcd01 as MemberFiles;
    const files = { ...rendered, unit: renderSystemdUnit({ layout, user: 'nobody', group: 'nogroup' }) };
    const binaries = await prepareBinaries({ dir: join(dir, 'bin') });
    const real = (await run(SOURCE_ETCD, ['--version'])).stdout.split('\n')[0]!.replace('etcd Version: ', '');
    const bundleOf = (version: string) => prepareMemberBundle({ binaries: { ...binaries, version }, files, layout });
    const query = (b: PreparedBundle) => ({
      files: b.files.map((f) => f.path),
      dirs: b.dirs.map((d) => d.path),
      unitName: b.unitName,
      serviceUser: b.serviceUser,
      serviceGroup: b.serviceGroup,
      hashCacheFile: join(root, 'hash-cache'),
      etcdBinary: b.files.find((f) => f.role === 'etcd')!.path,
    });
    const apply = async (b: PreparedBundle) => {
      await mkdir(root, { recursive: true });
      const facts = parseFacts((await run('/bin/sh', ['-c', factsScript(query(b))])).stdout);
      const plan = planInstall(b, facts, { restart: 'never', openFirewall: false });
      plan.daemonReload = false;
      plan.enable = false;
      const staging = join(root, 'staging');
      await mkdir(staging, { mode: 0o700, recursive: true });
      for (const f of plan.upload) await writeFile(join(staging, f.sha256), f.data, { mode: 0o600 });
      return { facts, plan, result: await run('/bin/sh', ['-c', applyScript(b, plan, staging)]).catch((e) => e) };
    };

    const lying = await bundleOf('3.5.99');
    const refused = await apply(lying);
    expect([refused.result.code, refused.result.stdout]).toEqual([ETCD_VERSION_MISMATCH_EXIT, '']);
    expect(refused.result.stderr).toContain(`the new etcd reports: etcd Version: ${real}`);
    // not one file placed, no temp file left next to them, the staging copies gone
    for (const f of lying.files) await expect(stat(f.path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(root, 'opt/etcd/bin'))).toEqual([]);
    await expect(stat(join(root, 'staging'))).rejects.toMatchObject({ code: 'ENOENT' });

    const honest = await bundleOf(real);
    const placed = await apply(honest);
    expect(placed.result.code).toBeUndefined();
    expect((await readFile(honest.files[0]!.path)).equals(honest.files[0]!.data)).toBe(true);
    // the predicted facts carry the version; the host then reports the same
    expect(factsAfterInstall(honest, placed.plan, placed.facts).etcdVersion).toBe(real);
    expect(parseFacts((await run('/bin/sh', ['-c', factsScript(query(honest))])).stdout).etcdVersion).toBe(real);
  });
});

describe('versioned binaries, run by a real /bin/sh against a scratch layout', () => {
  /** Stand-in binaries of `version`: shell scripts printing what etcd and etcdctl print (the script runs etcd --version). */
  const fakeBinaries = (version: string, tag = ''): PreparedBinaries => ({
    kind: 'prepared-binaries',
    version,
    arch: 'x86_64',
    files: (['etcd', 'etcdctl'] as const).map((name) => {
      const data = Buffer.from(`#!/bin/sh\n# ${tag}\nprintf '${name === 'etcd' ? 'etcd Version' : 'etcdctl version'}: %s\\n' ${version}\n`);
      return { name, data, sha256: createHash('sha256').update(data).digest('hex') };
    }),
  });

  async function scratch(name: string) {
    const root = join(dir, name);
    const layout = { prefix: `${root}/opt/etcd`, dataDir: `${root}/var/lib/etcd`, unitPath: `${root}/systemd/etcd.service` };
    const pki = await createTestPki(members);
    const rendered = renderMemberFiles(pki, { members, layout }).etcd01 as MemberFiles;
    const files = { ...rendered, unit: renderSystemdUnit({ layout, user: 'nobody', group: 'nogroup' }) };
    const bin = `${root}/opt/etcd/bin`;
    const bundleOf = (version: string, tag = '') => prepareMemberBundle({ binaries: fakeBinaries(version, tag), files, layout });
    const read = async (b: PreparedBundle) =>
      parseFacts((await run('/bin/sh', ['-c', factsScript({ ...factsQueryFor(b), hashCacheFile: join(root, 'hash-cache') })])).stdout);
    /** Reads the host, plans, stages the uploads, applies (systemd steps left out: no systemd here). */
    const install = async (b: PreparedBundle) => {
      await mkdir(root, { recursive: true });
      const facts = await read(b);
      const plan = planInstall(b, facts, { restart: 'never', openFirewall: false });
      plan.daemonReload = false;
      plan.enable = false;
      const staging = join(root, 'staging');
      if (plan.upload.length > 0) {
        await mkdir(staging, { mode: 0o700, recursive: true });
        for (const f of plan.upload) await writeFile(join(staging, f.sha256), f.data, { mode: 0o600 });
      }
      if (!planIsEmpty(plan)) await run('/bin/sh', ['-c', applyScript(b, plan, plan.upload.length > 0 ? staging : undefined)]);
      const after = await read(b);
      // what install predicts for a chained call is what the host reports
      const predicted = factsAfterInstall(b, plan, facts);
      expect([predicted.hashes, predicted.stats, predicted.links, predicted.versionDirs, predicted.etcdVersion]).toEqual([
        after.hashes,
        after.stats,
        after.links,
        after.versionDirs,
        after.etcdVersion,
      ]);
      const again = planInstall(b, after, { restart: 'never', openFirewall: false });
      again.daemonReload = false;
      again.enable = false;
      expect(planIsEmpty(again)).toBe(true);
      return { facts, plan, after };
    };
    const etcdRuns = async () => (await run(`${bin}/etcd`, ['--version'])).stdout.trim();
    return { root, bin, bundleOf, install, read, etcdRuns };
  }

  it('installs into <binDir>/<version>, switches to another version and back (no upload), keeps the previous one only', async () => {
    const host = await scratch('host-versioned');
    const { bin } = host;
    const v30 = await host.bundleOf('3.5.30');
    const first = await host.install(v30);
    expect(first.plan.upload.map((f) => f.path)).toContain(`${bin}/3.5.30/etcd`);
    expect(await readlink(`${bin}/current`)).toBe('3.5.30');
    expect(await readlink(`${bin}/etcd`)).toBe('current/etcd');
    expect(await readlink(`${bin}/etcdctl`)).toBe('current/etcdctl');
    expect(await host.etcdRuns()).toBe('etcd Version: 3.5.30');
    expect(first.after.etcdVersion).toBe('3.5.30');
    expect((await stat(`${bin}/3.5.30`)).mode & 0o7777).toBe(0o755);
    // things in binDir that are not etcd-kit's version directories
    await mkdir(`${bin}/notes`);
    await mkdir(`${bin}/3.5`);
    await symlink('/nonexistent', `${bin}/mytool`);

    const v33 = await host.bundleOf('3.5.33');
    const up = await host.install(v33);
    expect(up.plan.upload.map((f) => f.role).sort()).toEqual(['etcd', 'etcdctl']);
    expect(await readlink(`${bin}/current`)).toBe('3.5.33');
    expect(await host.etcdRuns()).toBe('etcd Version: 3.5.33');
    expect(up.after.versionDirs).toEqual(['3.5.30', '3.5.33']);

    // back: the directory is still there, nothing uploaded, only the link switched
    const back = await host.install(v30);
    expect(back.plan.upload).toEqual([]);
    expect(back.plan.links.map((l) => l.role)).toEqual(['current']);
    expect(back.plan.etcdChanges).toBe(true);
    expect(await host.etcdRuns()).toBe('etcd Version: 3.5.30');
    expect(back.after.versionDirs).toEqual(['3.5.30', '3.5.33']);

    // forward again: 3.5.30 (what current named) and 3.6.14 stay, 3.5.33 goes; nothing else is touched
    const v36 = await host.bundleOf('3.6.14');
    const next = await host.install(v36);
    expect(next.plan.pruneVersions).toEqual(['3.5.33']);
    expect((await readdir(bin)).sort()).toEqual(['3.5', '3.5.30', '3.6.14', 'current', 'etcd', 'etcdctl', 'mytool', 'notes']);
    expect(await host.etcdRuns()).toBe('etcd Version: 3.6.14');
  });

  it('converts a flat install: regular files replaced by the links, the old bytes kept as their version', async () => {
    const host = await scratch('host-flat');
    const { bin } = host;
    const old = fakeBinaries('3.4.23');
    await mkdir(bin, { recursive: true });
    for (const f of old.files) await writeFile(`${bin}/${f.name}`, f.data, { mode: 0o755 });
    const v30 = await host.bundleOf('3.5.30');
    // what a flat host reports: the hashes of the regular files, the version its etcd prints
    const before = await host.read(v30);
    expect(before.hashes.get(`${bin}/etcd`)).toBe(old.files[0]!.sha256);
    expect(before.etcdVersion).toBe('3.4.23');
    const migrated = await host.install(v30);
    expect(migrated.plan.keepFlat).toEqual({ version: '3.4.23', names: ['etcd', 'etcdctl'] });
    expect(migrated.plan.etcdChanges).toBe(true);
    expect(await readlink(`${bin}/etcd`)).toBe('current/etcd');
    expect(await readlink(`${bin}/current`)).toBe('3.5.30');
    expect((await readFile(`${bin}/3.4.23/etcd`)).equals(old.files[0]!.data)).toBe(true);
    expect(migrated.after.versionDirs).toEqual(['3.4.23', '3.5.30']);
    // rolling back to the flat release needs no upload either
    const back = await host.install(await host.bundleOf('3.4.23'));
    expect(back.plan.upload.filter((f) => f.role === 'etcd')).toEqual([]);
    expect(await host.etcdRuns()).toBe('etcd Version: 3.4.23');
  });

  it('a flat install of the very same bytes moves in by hard link: no upload, no restart needed', async () => {
    const host = await scratch('host-flat-same');
    const { bin } = host;
    const v30 = await host.bundleOf('3.5.30');
    await mkdir(bin, { recursive: true });
    for (const f of v30.files.filter((x) => x.role === 'etcd' || x.role === 'etcdctl')) await writeFile(`${bin}/${f.role}`, f.data, { mode: 0o755 });
    const inode = (await stat(`${bin}/etcd`)).ino;
    const migrated = await host.install(v30);
    expect(migrated.plan.upload.map((f) => f.role)).not.toContain('etcd');
    expect(migrated.plan.adopt.map((f) => f.role).sort()).toEqual(['etcd', 'etcdctl']);
    expect(migrated.plan.etcdChanges).toBe(false);
    expect((await stat(`${bin}/3.5.30/etcd`)).ino).toBe(inode);
    expect(await readlink(`${bin}/etcd`)).toBe('current/etcd');
  });
});
