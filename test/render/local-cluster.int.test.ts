import { access } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The helper other test files build on: its lifecycle must do what it says, or their results mean nothing.
describe('startLocalCluster lifecycle', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startLocalCluster({ size: 3, keyAlgorithm: 'ecdsa-p256', namePrefix: 'node' });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('gives distinct OS-assigned ports and named members', () => {
    expect(cluster.members.map((m) => m.name)).toEqual(['node1', 'node2', 'node3']);
    const ports = cluster.members.flatMap((m) => [m.clientPort, m.peerPort]);
    expect(new Set(ports).size).toBe(6);
    expect(cluster.endpoints).toEqual(cluster.members.map((m) => `https://127.0.0.1:${m.clientPort}`));
    expect(cluster.tls.certPem).toContain('BEGIN CERTIFICATE');
    expect(cluster.tls.caPem).toBe(cluster.pki.ca.certPem);
  });

  it('keeps quorum with one member killed and restarts it from the same env file', async () => {
    const victim = cluster.members[2]!;
    const pid = victim.process!.pid!;
    await cluster.kill(victim.name);
    expect(alive(pid)).toBe(false);
    expect(victim.process).toBeUndefined();
    const all = await cluster.etcdctl(['endpoint', 'health', '--command-timeout=2s']);
    expect(all.code).not.toBe(0);
    expect(all.stderr).toContain(`${victim.clientUrl} is unhealthy`);
    const rest = await cluster.etcdctl(['put', 'k', 'v'], { endpoints: cluster.endpoints.slice(0, 2) });
    expect(rest.code).toBe(0);

    await cluster.start(victim.name);
    expect(victim.process!.pid).not.toBe(pid);
    const get = await cluster.etcdctl(['get', 'k', '--print-value-only'], { endpoints: [victim.clientUrl] });
    expect(get.stdout.trim()).toBe('v');
  });

  it('restarts a member gracefully', async () => {
    const m = cluster.members[0]!;
    const pid = m.process!.pid!;
    await cluster.restart(m.name);
    expect(alive(pid)).toBe(false);
    expect((await cluster.etcdctl(['endpoint', 'health'])).code).toBe(0);
  });

  it('close() kills every process and removes the temp dir', async () => {
    const pids = cluster.members.map((m) => m.process!.pid!);
    expect(pids.every(alive)).toBe(true);
    await cluster.close();
    expect(pids.some(alive)).toBe(false);
    await expect(access(cluster.dir)).rejects.toThrow();
    await cluster.close(); // idempotent
  });
});
