import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import {
  type ClusterHealth,
  checkHealth,
  connectCluster,
  createEtcdClient,
  type EtcdCluster,
  waitForHealthy,
} from '../../src/etcd/index.js';
import { createCA, signClientCert } from '../../src/pki/index.js';
import { freePorts, type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';
import { caught, followers, nameOf, startTcpForwarder } from './support.js';

const CHECK_MS = 1500;

let cluster: LocalCluster;
let handle: EtcdCluster;
const paused = new Set<number>();

function pid(name: string): number {
  const p = cluster.member(name).process?.pid;
  if (p === undefined) throw new Error(`${name} is not running`);
  return p;
}

/**
 * SIGSTOP: the process keeps its sockets open but answers nothing, like a hung host. Resolves once every
 * thread of it has stopped: the signal is only queued when kill() returns, and a Go runtime thread that is
 * running right then can still answer a request that arrives meanwhile.
 */
async function pause(name: string): Promise<void> {
  const p = pid(name);
  process.kill(p, 'SIGSTOP');
  paused.add(p);
  for (let i = 0; i < 200; i++) {
    const tasks = await readdir(`/proc/${p}/task`);
    const states = await Promise.all(tasks.map(async (t) => (await readFile(`/proc/${p}/task/${t}/stat`, 'utf8')).replace(/^.*\) /s, '')[0]));
    if (states.every((s) => s === 'T' || s === 't')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${name} (pid ${p}) did not stop`);
}

function resume(name: string): void {
  const p = pid(name);
  process.kill(p, 'SIGCONT');
  paused.delete(p);
}

function endpointOf(health: ClusterHealth, name: string) {
  const url = cluster.member(name).clientUrl;
  const e = health.endpoints.find((x) => x.endpoint === url);
  if (!e) throw new Error(`no endpoint entry for ${name}`);
  return e;
}

beforeAll(async () => {
  cluster = await startLocalCluster({ size: 3, keyAlgorithm: 'ecdsa-p256' });
  handle = connectCluster({ endpoints: cluster.endpoints, tls: cluster.tls });
});

afterEach(async () => {
  // A failed test must not leave a member frozen or dead for the next one.
  for (const p of paused) process.kill(p, 'SIGCONT');
  paused.clear();
  for (const m of cluster.members) if (!m.process) await cluster.start(m.name);
});

afterAll(async () => {
  handle?.close();
  await cluster?.close();
});

describe('checkHealth on a healthy 3-member mTLS cluster', () => {
  it('sees every member healthy, the leader, status fields, members and no alarms', async () => {
    const health = await handle.checkHealth();
    expect(health.healthy).toBe(true);
    expect(health.error).toBeUndefined();
    expect(health.alarms).toEqual([]);
    expect(health.quorum).toEqual({ votingMembers: 3, needed: 2, healthyVoters: 3 });
    expect(health.verdict).toBe('healthy');

    expect(health.members.map((m) => m.name).sort()).toEqual(cluster.members.map((m) => m.name).sort());
    for (const m of health.members) {
      const local = cluster.member(m.name);
      expect(m.id).toMatch(/^[0-9a-f]+$/);
      expect(m.peerUrls).toEqual([local.peerUrl]);
      expect(m.clientUrls).toEqual([local.clientUrl]);
      expect(m.isLearner).toBe(false);
    }

    expect(health.leader).not.toBeNull();
    const leader = health.members.find((m) => m.id === health.leader?.id);
    expect(leader?.name).toBe(health.leader?.name);

    expect(health.endpoints.map((e) => e.endpoint)).toEqual(cluster.endpoints);
    for (const e of health.endpoints) {
      expect(e.healthy).toBe(true);
      expect(e.error).toBeUndefined();
      expect(e.memberName).toBe(nameOf(cluster, e.endpoint));
      expect(e.tookMs).toBeGreaterThan(0);
      const s = e.status!;
      expect(s.version).toMatch(/^3\.4\./);
      expect(s.memberId).toBe(health.members.find((m) => m.name === e.memberName)?.id);
      expect(s.leaderId).toBe(health.leader?.id);
      expect(s.dbSizeBytes).toBeGreaterThan(0);
      expect(s.raftIndex).toBeGreaterThan(0);
      expect(s.raftTerm).toBeGreaterThan(0);
      expect(s.isLearner).toBe(false);
    }
  });

  it('gives the same verdict one-shot as through the handle', async () => {
    const health = await checkHealth({ endpoints: cluster.endpoints, tls: cluster.tls });
    expect(health.healthy).toBe(true);
    expect(health.endpoints.every((e) => e.healthy)).toBe(true);
    expect(health.members).toHaveLength(3);
  });

  it('hands out a raw etcd3 client with the same mTLS settings', async () => {
    const client = createEtcdClient({ endpoints: cluster.endpoints, tls: cluster.tls });
    try {
      await client.put('etcd-kit/raw').value('mtls');
      expect(await client.get('etcd-kit/raw').string()).toBe('mtls');
    } finally {
      client.close();
    }
  });
});

describe('alarms', () => {
  it('reports an active NOSPACE alarm with the member that raised it, and none once disarmed', async () => {
    const before = await handle.checkHealth();
    const target = before.members[0]!;
    const raw = createEtcdClient({ endpoints: cluster.endpoints, tls: cluster.tls });
    const memberID = BigInt(`0x${target.id}`).toString();
    try {
      await raw.maintenance.alarm({ action: 'Activate', memberID, alarm: 'Nospace' });
      const raised = await handle.checkHealth();
      expect(raised.alarms).toEqual([{ memberId: target.id, memberName: target.name, alarm: 'NOSPACE' }]);
      expect(raised.healthy).toBe(true);
    } finally {
      await raw.maintenance.alarm({ action: 'Deactivate', memberID, alarm: 'Nospace' });
      raw.close();
    }
    // The disarm is applied by the member that served it first; a follower reports it a moment later.
    await expect.poll(async () => (await handle.checkHealth()).alarms, { timeout: 5000, interval: 100 }).toEqual([]);
  });
});

describe('classified connection failures', () => {
  it('ETCD_TLS_UNTRUSTED when the server certificate is not signed by the given CA', async () => {
    const otherCa = await createCA({ keyAlgorithm: 'ecdsa-p256' });
    const health = await checkHealth({ endpoints: cluster.endpoints, tls: { ...cluster.tls, caPem: otherCa.certPem } });
    expect(health.healthy).toBe(false);
    expect(health.error?.code).toBe('ETCD_TLS_UNTRUSTED');
    for (const e of health.endpoints) expect(e.error?.code).toBe('ETCD_TLS_UNTRUSTED');
  });

  it('ETCD_TLS_BAD_CERT when the server refuses a client certificate from another CA', async () => {
    const otherCa = await createCA({ keyAlgorithm: 'ecdsa-p256' });
    const rogue = await signClientCert(otherCa, { commonName: 'admin' });
    const tls = { ...cluster.tls, certPem: rogue.certPem, keyPem: rogue.keyPem };
    const health = await checkHealth({ endpoints: cluster.endpoints, tls });
    expect(health.healthy).toBe(false);
    expect(health.error?.code).toBe('ETCD_TLS_BAD_CERT');
    for (const e of health.endpoints) {
      expect(e.error?.code).toBe('ETCD_TLS_BAD_CERT');
      expect(e.error?.message).not.toContain('PRIVATE KEY');
    }
  });

  it('ETCD_TLS_HOSTNAME when the endpoint address is not in the server certificate SANs', async () => {
    // 127.0.0.3 is loopback too, but the member's certificate names only its address, 127.0.0.1 and localhost.
    const member = cluster.members[0]!;
    const forwarder = await startTcpForwarder('127.0.0.3', member.address, member.clientPort);
    try {
      const health = await checkHealth({ endpoints: [forwarder.url], tls: cluster.tls });
      expect(health.healthy).toBe(false);
      expect(health.endpoints[0]?.error?.code).toBe('ETCD_TLS_HOSTNAME');
      expect(health.endpoints[0]?.error?.message).toContain('127.0.0.3');
      expect(health.error?.code).toBe('ETCD_TLS_HOSTNAME');
    } finally {
      await forwarder.close();
    }
  });

  it('ETCD_UNREACHABLE for a closed port, while the live endpoint still proves quorum', async () => {
    const [port] = await freePorts([['127.0.0.1']]);
    const closed = `https://127.0.0.1:${port}`;
    const health = await checkHealth({ endpoints: [closed, cluster.endpoints[0]!], tls: cluster.tls });
    expect(health.endpoints[0]).toMatchObject({ endpoint: closed, healthy: false, error: { code: 'ETCD_UNREACHABLE' } });
    expect(health.endpoints[1]?.healthy).toBe(true);
    expect(health.healthy).toBe(true);
  });

  it('refuses http:// endpoints before connecting', async () => {
    const plain = cluster.endpoints[0]!.replace('https://', 'http://');
    const err = await caught(checkHealth({ endpoints: [plain], tls: cluster.tls }));
    expect(isEtcdKitError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as { field?: string }).field).toBe('endpoints[0]');
  });
});

describe('members down', () => {
  it('a hung member (SIGSTOP) is unhealthy with ETCD_TIMEOUT; the cluster keeps quorum and its leader', async () => {
    const before = await handle.checkHealth();
    const [victim] = followers(cluster, before);
    await pause(victim!);
    for (const health of [
      await handle.checkHealth({ timeoutMs: CHECK_MS }),
      await checkHealth({ endpoints: cluster.endpoints, tls: cluster.tls, timeoutMs: CHECK_MS }),
    ]) {
      expect(health.healthy).toBe(true);
      expect(health.leader?.name).toBe(before.leader?.name);
      const e = endpointOf(health, victim!);
      expect(e.healthy).toBe(false);
      expect(e.error?.code).toBe('ETCD_TIMEOUT');
      expect(e.memberName).toBe(victim);
      expect(health.endpoints.filter((x) => x.healthy)).toHaveLength(2);
    }
    // A quorum is enough by default; mustAnswer 'all' (or naming the hung member) waits for it and gives up.
    expect((await handle.waitForHealthy({ timeoutMs: 5000, checkTimeoutMs: CHECK_MS })).healthy).toBe(true);
    const others = cluster.endpoints.filter((e) => e !== cluster.member(victim!).clientUrl);
    expect((await handle.waitForHealthy({ timeoutMs: 5000, checkTimeoutMs: CHECK_MS, mustAnswer: others })).healthy).toBe(true);
    for (const mustAnswer of ['all', [cluster.member(victim!).clientUrl]] as const) {
      const err = await caught(handle.waitForHealthy({ timeoutMs: 2500, checkTimeoutMs: 800, mustAnswer }));
      expect(isEtcdKitError(err) && err.code).toBe('ETCD_UNHEALTHY');
      expect((err as Error).message).toContain(victim!);
    }
    resume(victim!);
    await cluster.waitHealthy();
    const after = await handle.checkHealth();
    expect(after.endpoints.every((e) => e.healthy)).toBe(true);
  });

  it('a crashed member (SIGKILL) is unhealthy with ETCD_UNREACHABLE; the cluster keeps quorum', async () => {
    const [victim] = followers(cluster, await handle.checkHealth());
    await cluster.kill(victim!, 'SIGKILL');
    const health = await handle.checkHealth({ timeoutMs: CHECK_MS });
    expect(health.healthy).toBe(true);
    expect(endpointOf(health, victim!).error?.code).toBe('ETCD_UNREACHABLE');
    expect(endpointOf(health, victim!).memberName).toBe(victim);
    // Quorum, but not every member: the verdict says degraded while `healthy` (quorum) stays true.
    expect(health.verdict).toBe('degraded');
    await cluster.start(victim!);
    // The warm handle sees the restarted member again.
    const back = await handle.waitForHealthy({ timeoutMs: 30_000 });
    expect(back.healthy).toBe(true);
    await cluster.waitHealthy();
    const all = await handle.checkHealth();
    expect(all.endpoints.every((e) => e.healthy)).toBe(true);
    expect(all.verdict).toBe('healthy');
  });

  it('two hung members: healthy false with ETCD_NO_QUORUM; the live one is classified ETCD_NO_QUORUM too', async () => {
    const before = await handle.checkHealth();
    const [a, b] = followers(cluster, before);
    const live = before.leader!.name;
    await pause(a!);
    await pause(b!);
    const health = await handle.checkHealth({ timeoutMs: CHECK_MS });
    expect(health.healthy).toBe(false);
    expect(health.error?.code).toBe('ETCD_NO_QUORUM');
    expect(health.leader).toBeNull();
    expect(endpointOf(health, live).error?.code).toBe('ETCD_NO_QUORUM');
    expect(endpointOf(health, live).status).toBeDefined();
    expect(endpointOf(health, a!).error?.code).toBe('ETCD_TIMEOUT');
    expect(endpointOf(health, b!).error?.code).toBe('ETCD_TIMEOUT');

    // waitForHealthy gives up with the picture: which member, why.
    const err = await caught(handle.waitForHealthy({ timeoutMs: 2500, checkTimeoutMs: 800 }));
    expect(isEtcdKitError(err, 'ETCD_UNHEALTHY')).toBe(true);
    const e = err as { message: string; details?: { health?: ClusterHealth; lastCode?: string } };
    expect(e.details?.lastCode).toBe('ETCD_NO_QUORUM');
    expect(e.details?.health?.healthy).toBe(false);
    for (const name of [a!, b!]) expect(e.message).toContain(`${name} (${cluster.member(name).clientUrl}): ETCD_TIMEOUT`);
    expect(e.message).toContain(`${live} (${cluster.member(live).clientUrl}): ETCD_NO_QUORUM`);
    // The last check (2500 ms = 800 + pause + 800 + pause + the rest) is cut short by the deadline; the
    // message reports the last complete one, whose timeouts are the full 800 ms budget.
    const budgets = [...e.message.matchAll(/no answer within (\d+) ms/g)].map((x) => Number(x[1]));
    expect(budgets.length).toBeGreaterThan(0);
    expect(budgets.every((ms) => ms === 800)).toBe(true);
    expect(e.details?.health?.verdict).toBe('unavailable');

    // A wait that is running when quorum returns resolves with a healthy picture.
    const waiting = handle.waitForHealthy({ timeoutMs: 60_000 });
    resume(a!);
    resume(b!);
    const recovered = await waiting;
    expect(recovered.healthy).toBe(true);
    expect(recovered.leader).not.toBeNull();
    await cluster.waitHealthy();
  });

  it('two crashed members: ETCD_NO_QUORUM, the dead ones ETCD_UNREACHABLE', async () => {
    const [a, b] = followers(cluster, await handle.checkHealth());
    await cluster.kill(a!, 'SIGKILL');
    await cluster.kill(b!, 'SIGKILL');
    const health = await checkHealth({ endpoints: cluster.endpoints, tls: cluster.tls, timeoutMs: CHECK_MS });
    expect(health.healthy).toBe(false);
    expect(health.error?.code).toBe('ETCD_NO_QUORUM');
    expect(endpointOf(health, a!).error?.code).toBe('ETCD_UNREACHABLE');
    expect(endpointOf(health, b!).error?.code).toBe('ETCD_UNREACHABLE');
    expect(health.verdict).toBe('unavailable');
    await Promise.all([cluster.start(a!), cluster.start(b!)]);
    expect((await waitForHealthy({ endpoints: cluster.endpoints, tls: cluster.tls, timeoutMs: 30_000 })).healthy).toBe(true);
  });
});

describe('waitForHealthy', () => {
  it('returns once the cluster forms: the wait starts while every member is down', async () => {
    const names = cluster.members.map((m) => m.name);
    await Promise.all(names.map((n) => cluster.stop(n)));
    const waiting = waitForHealthy({ endpoints: cluster.endpoints, tls: cluster.tls, timeoutMs: 60_000 });
    await Promise.all(names.map((n) => cluster.start(n)));
    const health = await waiting;
    expect(health.healthy).toBe(true);
    expect(health.leader).not.toBeNull();
  });

  it('an AbortSignal cancels a wait promptly with ABORTED', async () => {
    const [a, b] = followers(cluster, await handle.checkHealth());
    await pause(a!);
    await pause(b!);
    const controller = new AbortController();
    const waiting = handle.waitForHealthy({ timeoutMs: 120_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    // If the abort were ignored this would wait 120 s and the test would time out first.
    const err = await caught(waiting);
    expect(isEtcdKitError(err, 'ABORTED')).toBe(true);
    const already = await caught(handle.checkHealth({ signal: controller.signal }));
    expect(isEtcdKitError(already, 'ABORTED')).toBe(true);
    resume(a!);
    resume(b!);
    await cluster.waitHealthy();
  }, 20_000);
});

describe('no connection outlives close()', () => {
  it('a process that checks a cluster with a hung member and closes exits by itself', async () => {
    const [victim] = followers(cluster, await handle.checkHealth());
    await pause(victim!);
    const script = fileURLToPath(new URL('./fixtures/check-and-close.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, JSON.stringify({ endpoints: cluster.endpoints, ...cluster.tlsFiles, timeoutMs: 1000 })],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    // Liveness bound, not a speed check: a leaked socket would keep the child alive as long as the member hangs.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    resume(victim!);
    expect(signal).toBeNull();
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { handle: ClusterHealth; oneShot: ClusterHealth };
    for (const health of [report.handle, report.oneShot]) {
      expect(health.healthy).toBe(true);
      expect(endpointOf(health, victim!).error?.code).toBe('ETCD_TIMEOUT');
    }
    await cluster.waitHealthy();
  });
});
