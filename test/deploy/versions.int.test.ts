// The deploy knows etcd versions, on real hosts with real releases (the cache of scripts/etcd-releases.sh):
// what every member runs is planned and shown, a change etcd's rules forbid is refused before any host
// changes, a binDir's version is read by running it, and a release whose name lies is caught.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployProgressEvent, deployEtcdCluster, EtcdKitError, planEtcdCluster } from '../../src/index.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import { type EtcdRelease, etcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { mainPids, testbedSpec } from './deploy-helpers.js';

const run = promisify(execFile);

let tb: Testbed;
let r3530: EtcdRelease;
let r3533: EtcdRelease;
let r3614: EtcdRelease;
let spec: ReturnType<typeof testbedSpec>;
let scratch: string;

/** Everything etcd-kit put on each host, by SHA-256, plus etcd's main PID and any staging leftovers. */
async function hostState(): Promise<string[]> {
  const state = await Promise.all(
    tb.hosts.map(async (h) => {
      const files = await tb.exec(
        h.name,
        'ls -A -l --time-style=+%s /opt/etcd/bin; sha256sum /opt/etcd/bin/[0-9]*/* /opt/etcd/cfg/* /opt/etcd/ssl/* /etc/systemd/system/etcd.service; ls -A ~/.etcd-kit-staging 2>&1 || true',
      );
      return files.stdout;
    }),
  );
  return [...state, (await mainPids(tb)).join(',')];
}

async function refusalOf(promise: Promise<unknown>): Promise<EtcdKitError> {
  const err = await promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  if (!(err instanceof EtcdKitError)) throw err;
  return err;
}

beforeAll(async () => {
  [r3530, r3533, r3614] = [etcdRelease('3.5.30'), etcdRelease('3.5.33'), etcdRelease('3.6.14')];
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, r3530.tarball);
  scratch = await mkdtemp(join(tmpdir(), 'etcd-kit-versions-'));
});
afterAll(async () => {
  await tb?.destroy();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('versions on a 3.5.30 cluster', () => {
  it('founds it on 3.5.30, etcdutl installed beside etcd with the release’s exact bytes', async () => {
    const result = await deployEtcdCluster(spec);
    expect(result.etcdVersion).toBe('3.5.30');
    expect(result.plan.members.map((m) => m.version)).toEqual([0, 1, 2].map(() => ({ target: '3.5.30', change: 'install' })));
    expect(result.members.map((m) => m.version)).toEqual(['3.5.30', '3.5.30', '3.5.30']);
    const [local] = (await run('sha256sum', [r3530.etcdutl!])).stdout.split(' ');
    for (const h of tb.hosts) {
      const { stdout } = await tb.exec(h.name, 'sha256sum /opt/etcd/bin/3.5.30/etcdutl; stat -c "%a %U" /opt/etcd/bin/3.5.30/etcdutl; readlink /opt/etcd/bin/etcdutl; /opt/etcd/bin/etcdutl version');
      expect(stdout).toContain(`${local}  /opt/etcd/bin/3.5.30/etcdutl\n755 root\ncurrent/etcdutl\netcdutl version: 3.5.30\n`);
    }
  });

  it('plans a patch upgrade, showing every member’s versions', async () => {
    const before = await hostState();
    const plan = await planEtcdCluster({ ...spec, etcd: { tarball: r3533.tarball } });
    expect(plan.etcdVersion).toBe('3.5.33');
    expect(plan.noChanges).toBe(false);
    expect(plan.members.map((m) => [m.version.running, m.version.target, m.version.change, m.service])).toEqual(
      [0, 1, 2].map(() => ['3.5.30', '3.5.33', 'patch-up', 'restart']),
    );
    const text = formatPlan(plan);
    expect(text).toContain('    etcd01: 3.5.30 → 3.5.33 (patch-up)');
    expect(text).toContain('    + /opt/etcd/bin/3.5.33/etcdutl');
    expect(text).toContain('    ~ link /opt/etcd/bin/current -> 3.5.33');
    expect(await hostState()).toEqual(before);
  });

  it('refuses 3.6.14 below the minimum 3.5 patch — plan and deploy alike — with no host changed', async () => {
    const before = await hostState();
    const next = { ...spec, etcd: { tarball: r3614.tarball } };
    for (const attempt of [() => planEtcdCluster(next), () => deployEtcdCluster(next)]) {
      const err = await refusalOf(attempt());
      expect(err).toMatchObject({ code: 'VERSION_CHANGE_REFUSED', member: 'etcd01', details: { from: '3.5.30', to: '3.6.14', rule: 'min-patch' } });
      expect(err.message).toContain('upgrade every member to ≥ 3.5.32 first');
    }
    expect(await hostState()).toEqual(before);
  });

  it('reads the version of a binDir by running it on the first host once, and remembers it', async () => {
    const before = await hostState();
    const cache = join(scratch, 'cache', 'downloads');
    const events: DeployProgressEvent[] = [];
    const fromDir = { ...spec, etcd: { binDir: r3533.binDir } };
    const plan = await planEtcdCluster(fromDir, { downloadCacheDir: cache, onProgress: (e) => events.push(e) });
    expect(plan.etcdVersion).toBe('3.5.33');
    expect(plan.members[0]!.version).toEqual({ running: '3.5.30', target: '3.5.33', change: 'patch-up' });
    expect(events.filter((e) => e.step === 'binaries' && e.member === 'etcd01')).toHaveLength(1);
    // the probe left nothing behind (the staging dir is gone again)
    expect(await hostState()).toEqual(before);
    events.length = 0;
    expect((await planEtcdCluster(fromDir, { downloadCacheDir: cache, onProgress: (e) => events.push(e) })).etcdVersion).toBe('3.5.33');
    expect(events.some((e) => e.step === 'binaries' && e.member !== undefined)).toBe(false);
  });

  it('catches a release whose name lies: 3.5.30 binaries in an etcd-v3.5.33 tarball', async () => {
    const top = join(scratch, 'liar', 'etcd-v3.5.33-linux-amd64');
    await mkdir(top, { recursive: true });
    for (const name of ['etcd', 'etcdctl', 'etcdutl']) await copyFile(join(r3530.binDir, name), join(top, name));
    const tarball = join(scratch, 'etcd-v3.5.33-linux-amd64.tar.gz');
    await run('tar', ['-I', 'gzip -1', '-cf', tarball, '-C', join(scratch, 'liar'), 'etcd-v3.5.33-linux-amd64']);
    const before = await hostState();
    // every host has these very bytes already and they report 3.5.30: refused before anything changes
    const err = await refusalOf(deployEtcdCluster({ ...spec, etcd: { tarball } }));
    expect(err).toMatchObject({ code: 'BUNDLE_INVALID', member: 'etcd01', details: { expected: '3.5.33', reported: '3.5.30' } });
    expect(await hostState()).toEqual(before);
  });
});
