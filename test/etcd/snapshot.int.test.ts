// saveSnapshot against a real etcd 3.4 cluster, judged by the real etcdctl: `snapshot status` reads the
// file, `snapshot restore` turns it into a data dir, and an etcd started on that dir serves the keys.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient, type SnapshotResult, saveSnapshot } from '../../src/etcd/index.js';
import { isEtcdKitError } from '../../src/errors.js';
import { ETCD_BIN, freePorts, type LocalCluster, runEtcdctl, startLocalCluster } from '../helpers/local-cluster.js';
import { caught } from './support.js';

const KEYS = 50;
let cluster: LocalCluster;
let dir: string;
let revisionAfterWrites: string;

beforeAll(async () => {
  [cluster, dir] = await Promise.all([startLocalCluster({ size: 3 }), mkdtemp(join(tmpdir(), 'etcd-kit-snapshot-'))]);
  const client = createEtcdClient({ endpoints: cluster.endpoints, tls: cluster.tls });
  try {
    for (let i = 0; i < KEYS; i++) await client.put(`/backup/${String(i).padStart(3, '0')}`).value(`value ${i}`);
    revisionAfterWrites = String((await client.get('/backup/000').exec()).header.revision);
  } finally {
    client.close();
  }
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('saveSnapshot', () => {
  let snap: SnapshotResult;

  it('writes a complete, checked snapshot, mode 0600, that etcdctl reads', async () => {
    const path = join(dir, 'backup.db');
    snap = await saveSnapshot({ endpoints: cluster.endpoints, tls: cluster.tls, path });
    expect(snap.endpoint).toBe(cluster.endpoints[0]);
    expect(snap.skipped).toEqual([]);
    // etcd 3.4 sends no revision in the snapshot stream (3.5+ does): the file itself has it.
    expect(snap.revision).toBeUndefined();
    const st = await stat(path);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBe(snap.bytes);
    // No temp file left next to it.
    expect(await readdir(dir)).toEqual(['backup.db']);
    const status = await runEtcdctl(['snapshot', 'status', path, '--write-out=json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    expect(String(parsed.revision)).toBe(revisionAfterWrites);
    // The file's SHA-256 is what the result says.
    expect(createHash('sha256').update(await readFile(path)).digest('hex')).toBe(snap.sha256);
    expect(parsed.totalKey).toBeGreaterThanOrEqual(KEYS);
  });

  it('is a usable backup: etcdctl restores it and an etcd on the restored dir serves every key', async () => {
    const dataDir = join(dir, 'restored');
    const [clientPort, peerPort] = await freePorts([['127.0.0.1'], ['127.0.0.1']]);
    const peer = `http://127.0.0.1:${peerPort}`;
    const client = `http://127.0.0.1:${clientPort}`;
    const restore = await runEtcdctl([
      'snapshot', 'restore', snap.path, `--data-dir=${dataDir}`, '--name=restored',
      `--initial-cluster=restored=${peer}`, `--initial-advertise-peer-urls=${peer}`,
    ]);
    expect(restore.code, restore.stderr).toBe(0);
    // A throwaway single member on loopback, only to read the restored data back.
    const etcd = spawn(ETCD_BIN, [
      '--name=restored', `--data-dir=${dataDir}`, `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=restored=${peer}`,
    ], { stdio: 'ignore' });
    try {
      let keys = '';
      for (let i = 0; i < 50 && !keys.includes('/backup/049'); i++) {
        keys = (await runEtcdctl([`--endpoints=${client}`, 'get', '--prefix', '/backup/', '--keys-only'])).stdout;
        if (!keys.includes('/backup/049')) await new Promise((r) => setTimeout(r, 200));
      }
      expect(keys.split('\n').filter((l) => l.startsWith('/backup/'))).toHaveLength(KEYS);
      const one = await runEtcdctl([`--endpoints=${client}`, 'get', '/backup/007', '--print-value-only']);
      expect(one.stdout.trim()).toBe('value 7');
    } finally {
      etcd.kill('SIGKILL');
    }
  });

  it('skips an endpoint that does not answer and takes the snapshot from the next', async () => {
    const [deadPort] = await freePorts([['127.0.0.1']]);
    const dead = `https://127.0.0.1:${deadPort}`;
    const path = join(dir, 'second.db');
    const second = await saveSnapshot({ endpoints: [dead, cluster.endpoints[1]!], tls: cluster.tls, path, timeoutMs: 5000 });
    expect(second.endpoint).toBe(cluster.endpoints[1]);
    expect(second.skipped.map((s) => [s.endpoint, s.error.code])).toEqual([[dead, 'ETCD_UNREACHABLE']]);
    expect((await runEtcdctl(['snapshot', 'status', path])).code).toBe(0);
  });

  it('leaves an existing file untouched and no partial file when no endpoint can serve', async () => {
    const path = join(dir, 'keep.db');
    await writeFile(path, 'previous backup', { mode: 0o600 });
    const [deadPort] = await freePorts([['127.0.0.1']]);
    const err = await caught(saveSnapshot({ endpoints: [`https://127.0.0.1:${deadPort}`], tls: cluster.tls, path, timeoutMs: 3000 }));
    expect(isEtcdKitError(err) && err.code).toBe('ETCD_UNREACHABLE');
    expect(await readFile(path, 'utf8')).toBe('previous backup');
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('rejects a missing path and bad endpoints before connecting', async () => {
    const noPath = await caught(saveSnapshot({ endpoints: cluster.endpoints, tls: cluster.tls, path: '' }));
    expect(isEtcdKitError(noPath) && [noPath.code, noPath.field]).toEqual(['INVALID_ARGUMENT', 'path']);
    const plain = await caught(saveSnapshot({ endpoints: ['http://127.0.0.1:2379'], tls: cluster.tls, path: join(dir, 'x.db') }));
    expect(isEtcdKitError(plain) && plain.code).toBe('INVALID_ARGUMENT');
  });
});
