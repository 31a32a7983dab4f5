// The built `etcd-kit` CLI end to end: a YAML spec whose binaries come by URL from a local HTTP server
// (checksum verified, cached), deploy, idempotent re-run, plan and health — on real testbed hosts.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease } from './deploy-helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = join(root, 'dist/cli.js');
let tb: Testbed;
let release: EtcdRelease;
let server: Server;
let baseUrl: string;
let sha: string;
const downloads: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'etcd-kit-cli-e2e-'));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { cwd: work, env: { ...process.env, XDG_CACHE_HOME: join(work, 'cache') }, timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function writeSpec(name: string, etcd: string): string {
  const path = join(work, name);
  const members = tb.hosts.map((h, i) => `  - name: etcd0${i + 1}\n    host: ${h.ip}`).join('\n');
  writeFileSync(
    path,
    `# written by the CLI e2e test\nmembers:\n${members}\nssh:\n  privateKeyPath: ${tb.rootKeyPath}\n  knownHostsPath: ${tb.knownHostsPath}\n${etcd}\npki:\n  dir: ./pki\n  keyAlgorithm: ecdsa-p256\n`,
  );
  return path;
}

/** The release tarball's file name, as the URLs the local server answers end. */
function tarballName(): string {
  return basename(release.tarball);
}

async function untouched(): Promise<boolean> {
  for (const h of tb.hosts) {
    if ((await tb.exec(h.name, 'test -e /opt/etcd', { allowFailure: true })).code === 0) return false;
  }
  return true;
}

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error('dist/cli.js missing: run npm run build first');
  release = e2eRelease();
  tb = await startTestbed({ hosts: 3 });
  const payload = readFileSync(release.tarball);
  sha = createHash('sha256').update(payload).digest('hex');
  server = createServer((req, res) => {
    downloads.push(req.url ?? '');
    if (req.url === `/${tarballName()}`) {
      res.writeHead(200, { 'content-length': payload.length }).end(payload);
    } else if (req.url === `/truncated/${tarballName()}`) {
      res.writeHead(200, { 'content-length': payload.length });
      res.write(payload.subarray(0, 1_000_000), () => res.socket?.destroy());
    } else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  await tb?.destroy();
});

describe('etcd-kit CLI on real hosts, binaries by URL', () => {
  it('refuses a wrong sha256 before any host is touched', async () => {
    const spec = writeSpec('wrong-sha.yaml', `etcd:\n  url: ${baseUrl}/${tarballName()}\n  sha256: "${'0'.repeat(64)}"`);
    const res = await cli('deploy', '-f', spec);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('CHECKSUM_MISMATCH');
    expect(res.stderr).toContain(sha);
    expect(await untouched()).toBe(true);
  });

  it('refuses a truncated download before any host is touched', async () => {
    const spec = writeSpec('truncated.yaml', `etcd:\n  url: ${baseUrl}/truncated/${tarballName()}\n  sha256: ${sha}`);
    const res = await cli('deploy', '-f', spec);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('DOWNLOAD_FAILED');
    expect(await untouched()).toBe(true);
  });

  it('deploys from a YAML file with the right sha256 and prints health and kube-apiserver flags', async () => {
    const before = downloads.filter((d) => d === `/${tarballName()}`).length;
    const spec = writeSpec('cluster.yaml', `etcd:\n  url: ${baseUrl}/${tarballName()}\n  sha256: ${sha}`);
    const res = await cli('deploy', '-f', spec);
    expect(res.stderr).not.toMatch(/error/i);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^deployed in/);
    expect(res.stdout).toMatch(/cluster is healthy: 3\/3 voting members answered/);
    expect(res.stdout).toContain(`--etcd-servers=${tb.hosts.map((h) => `https://${h.ip}:2379`).join(',')}`);
    expect(res.stdout).toContain('etcdctl --endpoints=');
    // plain (non-TTY) progress: one line per step per member
    expect(res.stderr).toMatch(new RegExp(`etcd02\\s+upload /opt/etcd/bin/${release.version.replaceAll('.', '\\.')}/etcd`));
    expect(downloads.filter((d) => d === `/${tarballName()}`).length).toBe(before + 1);
  });

  it('re-deploys with no changes and no download (cache)', async () => {
    const count = downloads.length;
    const res = await cli('deploy', '-f', join(work, 'cluster.yaml'), '--json');
    expect(res.code).toBe(0);
    const result = JSON.parse(res.stdout) as { changed: boolean; members: { bytesSent: number }[] };
    expect(result.changed).toBe(false);
    expect(result.members.map((m) => m.bytesSent)).toEqual([0, 0, 0]);
    expect(downloads.length).toBe(count);
  });

  it('plan reports no changes; health prints a healthy table', async () => {
    const plan = await cli('plan', '-f', join(work, 'cluster.yaml'), '--exit-code');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('No changes');
    const health = await cli('health', '-f', join(work, 'cluster.yaml'), '--all');
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/ENDPOINT\s+MEMBER\s+HEALTHY\s+LEADER\s+VERSION\s+DB SIZE\s+TOOK/);
    expect(health.stdout.match(/\strue\s/g)).toHaveLength(3);
    expect(health.stdout).toContain(release.version);
    const json = JSON.parse((await cli('health', '-f', join(work, 'cluster.yaml'), '--json')).stdout) as { healthy: boolean; leader: { name: string } };
    expect(json.healthy).toBe(true);
    expect(json.leader.name).toMatch(/^etcd0[123]$/);
  });

  it('health exits 5 (degraded) with one member down, 3 (unavailable) with two, 0 once they are back', async () => {
    const file = join(work, 'cluster.yaml');
    await tb.exec(2, 'systemctl stop etcd');
    try {
      const degraded = await cli('health', '-f', file, '--timeout', '1500');
      expect(degraded.code).toBe(5);
      expect(degraded.stdout).toMatch(/cluster is DEGRADED \(quorum, but not every member answers\): 2\/3 voting members answered.*not answering: etcd03 \(ETCD_UNREACHABLE\)/);
      const json = JSON.parse((await cli('health', '-f', file, '--json', '--timeout', '1500')).stdout) as { healthy: boolean; verdict: string };
      expect([json.healthy, json.verdict]).toEqual([true, 'degraded']);
      // --all is deprecated and changes nothing: still degraded.
      expect((await cli('health', '-f', file, '--all', '--timeout', '1500')).code).toBe(5);

      await tb.exec(1, 'systemctl stop etcd');
      const unavailable = await cli('health', '-f', file, '--timeout', '1500');
      expect(unavailable.code).toBe(3);
      expect(unavailable.stdout).toContain('cluster is UNAVAILABLE (no quorum): ETCD_NO_QUORUM');
    } finally {
      await tb.exec(1, 'systemctl start --no-block etcd');
      await tb.exec(2, 'systemctl start --no-block etcd');
    }
    // Back to healthy before the next test.
    let code = -1;
    for (let i = 0; i < 60 && code !== 0; i++) {
      code = (await cli('health', '-f', file, '--timeout', '1500')).code;
      if (code !== 0) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(code).toBe(0);
  });

  it('snapshot save writes a 0600 backup etcdctl reads; --json names the file and its sha256', async () => {
    const saved = await cli('snapshot', 'save', '-f', join(work, 'cluster.yaml'), '-o', 'backup.db');
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toMatch(/^saved backup\.db \([\d.]+ MB from https:\/\/10\.99\.\d+\.11:2379, \d+ ms\)\nsha256 [0-9a-f]{64}\n$/);
    const file = join(work, 'backup.db');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const status = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/etcdctl', ['snapshot', 'status', file, '--write-out=json'], { env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    expect((JSON.parse(status) as { totalKey: number }).totalKey).toBeGreaterThan(0);
    const json = await cli('snapshot', 'save', '-f', join(work, 'cluster.yaml'), '--json');
    const result = JSON.parse(json.stdout) as { path: string; sha256: string; bytes: number };
    expect(result.path).toMatch(/^etcd-snapshot-.+-\d{8}T\d{6}Z\.db$/);
    expect(createHash('sha256').update(readFileSync(join(work, result.path))).digest('hex')).toBe(result.sha256);
    // Without -f or --endpoints/--pki-dir: a usage error, exit 2.
    expect((await cli('snapshot', 'save')).code).toBe(2);
    // Scheduled backups: timestamped names in a 0700 dir, a .sha256 sha256sum accepts, keep 1 deletes the older.
    const first = JSON.parse((await cli('snapshot', 'save', '-f', join(work, 'cluster.yaml'), '--dir', 'backups', '--keep', '1', '--json')).stdout) as { file: string };
    expect(first.file).toMatch(/^backups\/etcd-snapshot-.+-\d{8}T\d{6}Z(-\d+)?\.db$/);
    expect(statSync(join(work, 'backups')).mode & 0o777).toBe(0o700);
    const second = await cli('snapshot', 'save', '-f', join(work, 'cluster.yaml'), '--dir', 'backups', '--keep', '1', '--json');
    expect(second.code, second.stderr).toBe(0);
    const kept = JSON.parse(second.stdout) as { file: string; pruned: string[] };
    expect(kept.pruned).toEqual([first.file]);
    expect(readdirSync(join(work, 'backups')).sort()).toEqual([basename(kept.file), `${basename(kept.file)}.sha256`]);
    const check = await new Promise<number>((resolve) =>
      execFile('sha256sum', ['-c', `${basename(kept.file)}.sha256`], { cwd: join(work, 'backups') }, (err) => resolve(err ? 1 : 0)),
    );
    expect(check).toBe(0);
    expect((await cli('snapshot', 'save', '-f', join(work, 'cluster.yaml'), '--dir', 'backups', '-o', 'x.db')).code).toBe(2);
  });

  it('defrag defragments the three members one at a time and prints their sizes', async () => {
    const run = await cli('defrag', '-f', join(work, 'cluster.yaml'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/MEMBER\s+ENDPOINT\s+DB BEFORE\s+DB AFTER\s+TOOK/);
    expect(run.stdout.match(/^etcd0[123]\s+https:/gm)).toHaveLength(3);
    expect(run.stderr.split('\n').filter((l) => l.endsWith(': defragment'))).toHaveLength(3);
    const json = JSON.parse((await cli('defrag', '-f', join(work, 'cluster.yaml'), '--json')).stdout) as { members: unknown[]; health: { healthy: boolean } };
    expect(json.members).toHaveLength(3);
    expect(json.health.healthy).toBe(true);
  });

  it('pki rotate-ca: stops after a phase when asked, deploy refuses meanwhile (exit 2), the next run finishes', async () => {
    const spec = join(work, 'cluster.yaml');
    const first = await cli('pki', 'rotate-ca', '-f', spec, '--stop-after', 'trust-both');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^trust-both\s+etcd01\s+yes\s/m);
    expect(first.stdout).toContain('CA rotation stopped in phase trust-both');
    expect((await cli('pki', 'inspect', '-d', join(work, 'pki'))).stdout).toContain('CA rotation in progress');
    const refused = await cli('deploy', '-f', spec);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('CA_ROTATION_IN_PROGRESS');
    expect((await cli('pki', 'rotate-ca', '-f', spec, '--stop-after', 'drop-old')).code).toBe(2);
    const rest = await cli('pki', 'rotate-ca', '-f', spec, '--json');
    expect(rest.code, rest.stderr).toBe(0);
    const result = JSON.parse(rest.stdout) as { finished: boolean; began: boolean; steps: { phase: string }[] };
    expect(result).toMatchObject({ finished: true, began: false });
    expect(result.steps.map((s) => s.phase)).toEqual(['new-leaves', 'new-leaves', 'new-leaves', 'drop-old', 'drop-old', 'drop-old']);
    const inspect = await cli('pki', 'inspect', '-d', join(work, 'pki'));
    expect(inspect.stdout).toContain('CA (retired)');
    expect(inspect.stdout).toMatch(/last CA rotation finished .*; the old CA is kept in retired\//);
    expect((await cli('health', '-f', spec)).code).toBe(0);
  });

  it('plan --exit-code reports pending changes with exit 4', async () => {
    const spec = readFileSync(join(work, 'cluster.yaml'), 'utf8');
    writeFileSync(join(work, 'changed.yaml'), `${spec}settings:\n  heartbeatMs: 150\n  electionMs: 1500\n`);
    const plan = await cli('plan', '-f', join(work, 'changed.yaml'), '--exit-code');
    expect(plan.code).toBe(4);
    expect(plan.stdout).toContain('~ /opt/etcd/cfg/etcd.env');
    expect(plan.stdout).toMatch(/\n {2}\d+\. restart etcd0\d: .*settings changed: /);
  });

  it('member remove takes a member out, cleans its host, and refuses one the spec still lists', async () => {
    const spec = readFileSync(join(work, 'cluster.yaml'), 'utf8');
    expect((await cli('member', 'remove', 'etcd03', '-f', join(work, 'cluster.yaml'))).code).toBe(2);
    const without = spec.replace(/ {2}- name: etcd03\n {4}host: [\d.]+\n/, '');
    expect(without).not.toContain('etcd03');
    writeFileSync(join(work, 'two.yaml'), without);
    const removed = await cli('member', 'remove', 'etcd03', '-f', join(work, 'two.yaml'));
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/^removed etcd03 \(member [0-9a-f]+\) from the cluster\n/);
    // etcd stops by itself once removed; the clean-up deletes what install put there.
    expect(removed.stdout).toMatch(new RegExp(`\\n${tb.hosts[2]!.ip.replace(/\./g, '\\.')}: (etcd stopped, )?\\d+ files and \\d+ directories removed\\n`));
    expect(removed.stdout.match(/\strue\s/g)).toHaveLength(2);
    expect((await tb.exec(2, 'systemctl is-active etcd', { allowFailure: true })).stdout.trim()).not.toBe('active');
  });

  it('reset needs --yes; with --yes --purge it leaves the members empty', async () => {
    const two = join(work, 'two.yaml');
    expect((await cli('reset', '-f', two)).code).toBe(2);
    expect((await tb.exec(0, 'systemctl is-active etcd', { allowFailure: true })).stdout.trim()).toBe('active');
    const reset = await cli('reset', '-f', two, '--yes', '--purge');
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/MEMBER\s+HOST\s+WAS RUNNING\s+FILES REMOVED\s+DIRS REMOVED/);
    expect(reset.stdout.match(/^etcd0[12]\s+10\.99\.\d+\.1[12]\s+yes\s+\d+\s+.*\/var\/lib\/etcd/gm)).toHaveLength(2);
    for (const i of [0, 1]) expect((await tb.exec(i, 'test -e /var/lib/etcd || test -e /opt/etcd', { allowFailure: true })).code).not.toBe(0);
  });
});
