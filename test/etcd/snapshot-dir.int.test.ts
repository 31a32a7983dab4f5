// saveSnapshotToDir against a real local etcd cluster: timestamped names, .sha256 files that the real
// sha256sum accepts, mode 0600, the oldest snapshots of the prefix pruned beyond keep, other files (and
// other prefixes) untouched, and a failed save deleting nothing.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../src/cli/run.js';
import { createEtcdClient, type SnapshotDirResult, saveSnapshotToDir } from '../../src/etcd/index.js';
import { isEtcdKitError } from '../../src/errors.js';
import { freePorts, type LocalCluster, runEtcdctl, startLocalCluster } from '../helpers/local-cluster.js';
import { caught } from './support.js';

let cluster: LocalCluster;
let root: string;

function sha256sumCheck(dir: string, file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('sha256sum', ['-c', file], { cwd: dir }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

beforeAll(async () => {
  [cluster, root] = await Promise.all([startLocalCluster({ size: 3 }), mkdtemp(join(tmpdir(), 'etcd-kit-snapdir-'))]);
  const client = createEtcdClient({ endpoints: cluster.endpoints, tls: cluster.tls });
  try {
    for (let i = 0; i < 20; i++) await client.put(`/backup/${i}`).value(`value ${i}`);
  } finally {
    client.close();
  }
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('saveSnapshotToDir', () => {
  const dir = () => join(root, 'backups');
  const unrelated = ['notes.txt', 'prod-20200101T000000Z.db', 'prod-20200101T000000Z.db.sha256', 'other-20200101T000000Z.db', 'prod-x-20200101T000000Z.db'];
  const saves: SnapshotDirResult[] = [];

  it('three saves with keep 2: the dir is created 0700, exactly the 2 newest remain with their .sha256, other files untouched', async () => {
    const at = (h: number) => new Date(Date.UTC(2026, 11, 1, h, 0, 0));
    // First save creates the directory.
    saves.push(await saveSnapshotToDir({ endpoints: cluster.endpoints, tls: cluster.tls, dir: dir(), keep: 2, prefix: 'prod', now: at(10) }));
    expect((await stat(dir())).mode & 0o777).toBe(0o700);
    for (const f of unrelated) await writeFile(join(dir(), f), `unrelated ${f}`);
    // A partial left by an interrupted run (old) and one of a run still writing (newer than this run).
    const stale = join(dir(), '.prod-20261201T090000Z.db.etcd-kit-partial-999999');
    const live = join(dir(), '.prod-20261201T095959Z.db.etcd-kit-partial-999998');
    await writeFile(stale, 'partial');
    await writeFile(live, 'partial');
    await utimes(stale, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    await utimes(live, new Date(Date.now() + 3600_000), new Date(Date.now() + 3600_000));
    saves.push(await saveSnapshotToDir({ endpoints: cluster.endpoints, tls: cluster.tls, dir: dir(), keep: 2, prefix: 'prod', now: at(11) }));
    // The planted 2020 file has the prefix and the pattern: the oldest of three snapshots of 'prod', it goes
    // (with its .sha256).
    expect(saves[1]!.pruned).toEqual([join(dir(), 'prod-20200101T000000Z.db')]);
    expect(saves[1]!.partialsRemoved).toEqual([stale]);
    saves.push(await saveSnapshotToDir({ endpoints: cluster.endpoints, tls: cluster.tls, dir: dir(), keep: 2, prefix: 'prod', now: at(12) }));
    expect(saves.map((s) => s.path)).toEqual([
      join(dir(), 'prod-20261201T100000Z.db'),
      join(dir(), 'prod-20261201T110000Z.db'),
      join(dir(), 'prod-20261201T120000Z.db'),
    ]);
    expect(saves[2]!.pruned).toEqual([join(dir(), 'prod-20261201T100000Z.db')]);
    const left = (await readdir(dir())).sort();
    expect(left).toEqual(
      [
        'notes.txt',
        'other-20200101T000000Z.db',
        'prod-x-20200101T000000Z.db',
        'prod-20261201T110000Z.db',
        'prod-20261201T110000Z.db.sha256',
        'prod-20261201T120000Z.db',
        'prod-20261201T120000Z.db.sha256',
        '.prod-20261201T095959Z.db.etcd-kit-partial-999998',
      ].sort(),
    );
    for (const f of ['notes.txt', 'other-20200101T000000Z.db', 'prod-x-20200101T000000Z.db']) {
      expect(await readFile(join(dir(), f), 'utf8')).toBe(`unrelated ${f}`);
    }
  });

  it('each kept snapshot is 0600, etcdctl reads it, its .sha256 is 0600 and sha256sum -c accepts it', async () => {
    for (const s of saves.slice(1)) {
      const name = s.path.slice(dir().length + 1);
      expect(s.sha256File).toBe(`${s.path}.sha256`);
      expect((await stat(s.path)).mode & 0o777).toBe(0o600);
      expect((await stat(s.sha256File)).mode & 0o777).toBe(0o600);
      expect(await readFile(s.sha256File, 'utf8')).toBe(`${s.sha256}  ${name}\n`);
      const check = await sha256sumCheck(dir(), `${name}.sha256`);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toBe(`${name}: OK\n`);
      expect((await runEtcdctl(['snapshot', 'status', s.path])).code).toBe(0);
    }
    // sha256sum -c really checks: a flipped byte fails it.
    const copy = join(root, 'tampered');
    await rm(copy, { recursive: true, force: true });
    await mkdir(copy);
    const name = 'prod-20261201T120000Z.db';
    await copyFile(join(dir(), `${name}.sha256`), join(copy, `${name}.sha256`));
    const bytes = await readFile(join(dir(), name));
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(join(copy, name), bytes);
    expect((await sha256sumCheck(copy, `${name}.sha256`)).code).not.toBe(0);
  });

  it('never overwrites: a second save in the same second gets a -1 suffix', async () => {
    const now = new Date(Date.UTC(2026, 11, 1, 12, 0, 0));
    const again = await saveSnapshotToDir({ endpoints: cluster.endpoints, tls: cluster.tls, dir: dir(), keep: 3, prefix: 'prod', now });
    expect(again.path).toBe(join(dir(), 'prod-20261201T120000Z-1.db'));
    expect(again.pruned).toEqual([]);
    // The first one of that second is intact.
    const check = await sha256sumCheck(dir(), 'prod-20261201T120000Z.db.sha256');
    expect(check.code, check.stderr).toBe(0);
    // keep 2 now: of 11:00, 12:00, 12:00-1 the 11:00 one goes.
    const later = await saveSnapshotToDir({ endpoints: cluster.endpoints, tls: cluster.tls, dir: dir(), keep: 2, prefix: 'prod', now });
    expect(later.path).toBe(join(dir(), 'prod-20261201T120000Z-2.db'));
    expect(later.pruned).toEqual([join(dir(), 'prod-20261201T110000Z.db'), join(dir(), 'prod-20261201T120000Z.db')]);
  });

  it('the CLI does it from a PKI dir holding only ca.crt and the admin pair (the backup user of docs/backups.md); --json names file, sha256, pruned', async () => {
    const pkiDir = join(root, 'backup-pki');
    await mkdir(join(pkiDir, 'clients'), { recursive: true, mode: 0o700 });
    await copyFile(join(cluster.pkiDir, 'ca.crt'), join(pkiDir, 'ca.crt'));
    await copyFile(join(cluster.pkiDir, 'clients/admin.crt'), join(pkiDir, 'clients/admin.crt'));
    await copyFile(join(cluster.pkiDir, 'clients/admin.key'), join(pkiDir, 'clients/admin.key'));
    const cliDir = join(root, 'cli-backups');
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (t: string) => {
        stdout += t;
      },
      stderr: (t: string) => {
        stderr += t;
      },
      isTTY: false,
    };
    const args = ['snapshot', 'save', '--endpoints', cluster.endpoints.join(','), '--pki-dir', pkiDir, '--prefix', 'cli', '--dir', cliDir, '--keep', '1', '--json'];
    expect(await runCli(['node', 'etcd-kit', ...args], io), stderr).toBe(EXIT.ok);
    const first = JSON.parse(stdout) as { file: string; sha256: string; bytes: number; pruned: string[] };
    expect(first.file).toMatch(/\/cli-\d{8}T\d{6}Z\.db$/);
    expect(first.pruned).toEqual([]);
    stdout = '';
    // A second run in the same second would get a -1 suffix; wait past it so the names differ by time.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await runCli(['node', 'etcd-kit', ...args], io), stderr).toBe(EXIT.ok);
    const second = JSON.parse(stdout) as { file: string; sha256: string; bytes: number; revision?: string; pruned: string[] };
    expect(second.pruned).toEqual([first.file]);
    expect(second.bytes).toBe((await stat(second.file)).size);
    expect((await readdir(cliDir)).sort()).toEqual([basename(second.file), `${basename(second.file)}.sha256`]);
    expect((await sha256sumCheck(cliDir, `${basename(second.file)}.sha256`)).code).toBe(0);
  });

  it('a failed save (no endpoint serves) deletes nothing', async () => {
    const before = (await readdir(dir())).sort();
    const [deadPort] = await freePorts([['127.0.0.1']]);
    const err = await caught(
      saveSnapshotToDir({ endpoints: [`https://127.0.0.1:${deadPort}`], tls: cluster.tls, dir: dir(), keep: 1, prefix: 'prod', timeoutMs: 3000 }),
    );
    expect(isEtcdKitError(err) && err.code).toBe('ETCD_UNREACHABLE');
    expect((await readdir(dir())).sort()).toEqual(before);
  });

  it('a save while the whole cluster is stopped deletes nothing either', async () => {
    const before = (await readdir(dir())).sort();
    await Promise.all(cluster.members.map((m) => cluster.stop(m.name)));
    const err = await caught(saveSnapshotToDir({ endpoints: cluster.endpoints, tls: cluster.tls, dir: dir(), keep: 1, prefix: 'prod', timeoutMs: 3000 }));
    expect(isEtcdKitError(err) && err.code).toMatch(/^ETCD_(UNREACHABLE|TIMEOUT)$/);
    expect((await readdir(dir())).sort()).toEqual(before);
  });
});
