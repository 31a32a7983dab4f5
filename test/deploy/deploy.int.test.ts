// deployEtcdCluster end to end on real hosts (systemd-nspawn, sshd, systemd) with Debian's etcd 3.4:
// bootstrap, idempotent re-run, rolling restart under writes, validation before any host is touched.
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth, type DeployProgressEvent, type DeployResult, deployEtcdCluster, EtcdKitError, planEtcdCluster, readPkiDir, resetEtcdCluster } from '../../src/index.js';
import { inspectCertificate } from '../../src/pki-entry.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, mainPids, testbedSpec } from './deploy-helpers.js';
import { lostWrites, startWriter, type WriterReport } from './writer.js';

let tb: Testbed;
let release: EtcdRelease;
let spec: ReturnType<typeof testbedSpec>;
let first: DeployResult;

beforeAll(async () => {
  release = e2eRelease();
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, release.tarball);
});
afterAll(async () => {
  await tb?.destroy();
});

describe('deployEtcdCluster on 3 real hosts', () => {
  it('refuses a bad spec before touching any host', async () => {
    const bad = { ...spec, settings: { heartbeatMs: 500, electionMs: 1000 } };
    const err = await deployEtcdCluster(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdKitError);
    expect((err as EtcdKitError).code).toBe('INVALID_SPEC');
    expect((err as EtcdKitError).field).toBe('settings.electionMs');
    for (const h of tb.hosts) {
      expect((await tb.exec(h.name, 'test -e /opt/etcd || test -e /etc/systemd/system/etcd.service', { allowFailure: true })).code).not.toBe(0);
    }
  });

  it('plans a bootstrap without changing anything', async () => {
    const plan = await planEtcdCluster(spec);
    expect(plan.mode).toBe('bootstrap');
    expect(plan.noChanges).toBe(false);
    expect(plan.members.map((m) => m.service)).toEqual(['start', 'start', 'start']);
    expect(plan.members[0]!.files.map((f) => f.path)).toContain(`/opt/etcd/bin/${release.version}/etcd`);
    expect((await tb.exec(0, 'test -e /opt/etcd', { allowFailure: true })).code).not.toBe(0);
  });

  it('founds a healthy mTLS cluster from code', async () => {
    const events: DeployProgressEvent[] = [];
    first = await deployEtcdCluster(spec, { onProgress: (e) => events.push(e) });
    expect(first.changed).toBe(true);
    expect(first.plan.mode).toBe('bootstrap');
    expect(first.health?.healthy).toBe(true);
    expect(first.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(first.health?.members.map((m) => m.name).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(first.members.every((m) => m.started && m.bytesSent > 1_000_000)).toBe(true);
    expect(first.endpoints).toEqual(tb.hosts.map((h) => `https://${h.ip}:2379`));
    expect(first.kubeApiserverFlags[0]).toBe(`--etcd-servers=${first.endpoints.join(',')}`);
    expect(first.kubeApiserverFlags).toContain(`--etcd-certfile=${spec.pki.dir}/clients/kube-apiserver.crt`);
    // progress names members and steps, and carries upload bytes
    expect(events.some((e) => e.step === 'upload' && e.member === 'etcd02' && (e.bytes ?? 0) > 0)).toBe(true);
    expect(events.at(-1)?.step).toBe('done');
    // after bootstrap every member holds state=existing: a wiped member rejoins instead of founding a new cluster
    for (const h of tb.hosts) {
      const env = (await tb.exec(h.name, 'cat /opt/etcd/cfg/etcd.env')).stdout;
      expect(env).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
      expect(env).toContain('ETCD_CLIENT_CERT_AUTH="true"');
    }
  });

  it('serves etcdctl with the issued admin cert: health, write, read', async () => {
    const health = await etcdctl(first, 'endpoint', 'health');
    expect(health.match(/is healthy/g)).toHaveLength(3);
    await etcdctl(first, 'put', '/demo/hello', 'world');
    expect(await etcdctl(first, 'get', '/demo/hello', '--print-value-only')).toBe('world\n');
  });

  it('runs etcd as user etcd with private keys, no CA key and no plaintext listener', async () => {
    for (const h of tb.hosts) {
      expect((await tb.exec(h.name, 'systemctl show -p User --value etcd')).stdout.trim()).toBe('etcd');
      expect((await tb.exec(h.name, 'stat -c "%a %U" /opt/etcd/ssl/server.key /opt/etcd/ssl/peer.key')).stdout).toBe('600 etcd\n600 etcd\n');
      expect((await tb.exec(h.name, 'ls /opt/etcd/ssl')).stdout.split('\n').filter(Boolean).sort()).toEqual([
        'ca.crt',
        'peer.crt',
        'peer.key',
        'server.crt',
        'server.key',
      ]);
      const ports = (await tb.exec(h.name, "ss -ltnH | awk '{print $4}'")).stdout.split('\n').filter((l) => /:23\d\d$/.test(l));
      expect(ports.sort()).toEqual([`${h.ip}:2379`, `${h.ip}:2380`, '127.0.0.1:2379'].sort());
    }
    const pki = await readPkiDir(spec.pki.dir);
    const caKeyBody = pki.ca.keyPem.split('\n')[1]!;
    for (const h of tb.hosts) {
      expect((await tb.exec(h.name, `grep -rlF ${JSON.stringify(caKeyBody)} /opt /etc /var/lib/etcd || true`)).stdout).toBe('');
    }
  });

  it('re-runs with nothing changed: no upload, no restart', async () => {
    const pids = await mainPids(tb);
    const again = await deployEtcdCluster(spec);
    expect(again.changed).toBe(false);
    expect(again.plan.noChanges).toBe(true);
    expect(again.members.map((m) => m.bytesSent)).toEqual([0, 0, 0]);
    expect(again.members.some((m) => m.started || m.restarted)).toBe(false);
    expect(await mainPids(tb)).toEqual(pids);
  });

  it('drift on a host (unit disabled, ssl dir loosened) is planned and undone without a restart', async () => {
    await tb.exec(1, 'systemctl disable --quiet etcd && chmod 0755 /opt/etcd/ssl');
    const pids = await mainPids(tb);
    const plan = await planEtcdCluster(spec);
    expect(plan.noChanges).toBe(false);
    expect(plan.members[1]!.hostChanges).toEqual(['directory /opt/etcd/ssl: mode 0700, owner etcd:etcd', 'enable etcd.service (start at boot)']);
    expect(plan.members[0]!.hostChanges).toEqual([]);
    expect(formatPlan(plan)).toContain('~ enable etcd.service (start at boot)');
    const fixed = await deployEtcdCluster(spec);
    expect(fixed.members.map((m) => m.bytesSent)).toEqual([0, 0, 0]);
    expect(await mainPids(tb)).toEqual(pids);
    expect((await tb.exec(1, 'systemctl is-enabled etcd; stat -c %a /opt/etcd/ssl')).stdout.trim().split('\n')).toEqual(['enabled', '700']);
    expect((await deployEtcdCluster(spec)).changed).toBe(false);
  });

  it('rolls a changed setting out one member at a time while writes keep succeeding', async () => {
    const pidsBefore = await mainPids(tb);
    const admin = await readPkiDir(spec.pki.dir);
    const tls = { caPem: admin.ca.certPem, certPem: admin.clients['admin']!.certPem, keyPem: admin.clients['admin']!.keyPem };
    const order: string[] = [];
    const leaderBefore = (await checkHealth({ endpoints: first.endpoints, tls, timeoutMs: 3000 })).leader?.name;
    // For each acknowledged write: how many members had begun restarting by then.
    const ackedAtStage = new Set<number>();
    const writer = startWriter(first.endpoints, tls, '/roll/', () => ackedAtStage.add(order.length));
    const samples: boolean[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push((await checkHealth({ endpoints: first.endpoints, tls, timeoutMs: 1500 })).healthy);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let rolled: DeployResult;
    let written: WriterReport;
    try {
      rolled = await deployEtcdCluster(
        { ...spec, settings: { snapshotCount: 20_000 } },
        { onProgress: (e) => e.step === 'restart' && e.member && order.at(-1) !== e.member && order.push(e.member) },
      );
    } finally {
      sampling = false;
      [written] = await Promise.all([writer.stop(), sampler]);
    }
    expect(rolled.plan.mode).toBe('update');
    expect(rolled.plan.members.map((m) => m.service)).toEqual(['restart', 'restart', 'restart']);
    expect(rolled.members.map((m) => m.changedFiles)).toEqual([['/opt/etcd/cfg/etcd.env'], ['/opt/etcd/cfg/etcd.env'], ['/opt/etcd/cfg/etcd.env']]);
    // one at a time, followers first, the leader last
    expect([...order].sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(order.at(-1)).toBe(leaderBefore);
    const pidsAfter = await mainPids(tb);
    pidsAfter.forEach((pid, i) => {
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(pidsBefore[i]);
    });
    // quorum held in every sample; writes were acknowledged while members were being restarted;
    // every acknowledged write survived
    expect(samples.length).toBeGreaterThan(3);
    expect(samples.every(Boolean)).toBe(true);
    // (not necessarily in every stage: a stage can be shorter than the client's circuit-breaker back-off)
    expect([...ackedAtStage].some((stage) => stage >= 1)).toBe(true);
    expect(await lostWrites(first.endpoints, tls, '/roll/', written.acked)).toEqual([]);
    for (const h of tb.hosts) expect((await tb.exec(h.name, 'cat /opt/etcd/cfg/etcd.env')).stdout).toContain('ETCD_SNAPSHOT_COUNT="20000"');
  });

  it('renews member certificates ending within renewBeforeDays: same CA, one rolling restart, etcd serves the new ones', async () => {
    const settings = { snapshotCount: 20_000 }; // as the last test left it: only the certificates change
    const before = await readPkiDir(spec.pki.dir);
    const pidsBefore = await mainPids(tb);
    // Leaves live 1825 days: with renewBeforeDays 2000 every one of them is "ending soon".
    const renewed = await deployEtcdCluster({ ...spec, settings, pki: { ...spec.pki, renewBeforeDays: 2000 } });
    expect(renewed.plan.pki).toMatchObject({ createCa: false, issueMembers: ['etcd01', 'etcd02', 'etcd03'] });
    expect(renewed.plan.pki.issueClients.sort()).toEqual(['admin', 'kube-apiserver']);
    expect(renewed.plan.members.map((m) => m.service)).toEqual(['restart', 'restart', 'restart']);
    expect(renewed.health?.endpoints.every((e) => e.healthy)).toBe(true);
    const after = await readPkiDir(spec.pki.dir);
    expect(after.ca.certPem).toBe(before.ca.certPem);
    const pidsAfter = await mainPids(tb);
    for (const [i, h] of tb.hosts.entries()) {
      const name = `etcd0${i + 1}`;
      const fresh = after.members[name]!;
      expect(fresh.server.certPem).not.toBe(before.members[name]!.server.certPem);
      expect(renewed.members[i]!.changedFiles.sort()).toEqual(
        ['/opt/etcd/ssl/peer.crt', '/opt/etcd/ssl/peer.key', '/opt/etcd/ssl/server.crt', '/opt/etcd/ssl/server.key'],
      );
      expect((await tb.exec(h.name, 'cat /opt/etcd/ssl/server.crt')).stdout).toBe(fresh.server.certPem);
      expect(pidsAfter[i]).not.toBe(pidsBefore[i]);
      // The certificate etcd presents on its client port is the new one: it was restarted onto it.
      const served = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: h.ip, port: 2379, ca: after.ca.certPem, cert: after.clients['admin']!.certPem, key: after.clients['admin']!.keyPem, servername: '' }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.destroy();
        });
        socket.once('error', reject);
      });
      expect(served.toLowerCase()).toBe(inspectCertificate(fresh.server.certPem).serial.replace(/:/g, '').toLowerCase());
    }
    // With the renewed certificates a re-run (default renewBeforeDays) has nothing to do.
    const again = await deployEtcdCluster({ ...spec, settings });
    expect(again.changed).toBe(false);
  });

  it('reset stops every member and deletes its files; a deploy brings the cluster back, data and all', async () => {
    const settings = { snapshotCount: 20_000 };
    const reset = await resetEtcdCluster(spec);
    expect(reset.members.map((m) => [m.name, m.wasRunning])).toEqual([['etcd01', true], ['etcd02', true], ['etcd03', true]]);
    for (const m of reset.members) expect(m.removedFiles).toContain('/opt/etcd/bin/etcd');
    for (const h of tb.hosts) {
      expect((await tb.exec(h.name, 'systemctl is-active etcd', { allowFailure: true })).stdout.trim()).not.toBe('active');
      expect((await tb.exec(h.name, 'test -e /opt/etcd/bin/etcd || test -e /etc/systemd/system/etcd.service', { allowFailure: true })).code).not.toBe(0);
      expect((await tb.exec(h.name, 'test -d /var/lib/etcd/member', { allowFailure: true })).code).toBe(0);
    }
    const back = await deployEtcdCluster({ ...spec, settings });
    expect(back.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(await etcdctl(back, 'get', '/roll/0', '--print-value-only')).toBe('0\n');
  });

  it('reset with removeData leaves nothing: the next deploy founds a new, empty cluster', async () => {
    const reset = await resetEtcdCluster(spec, { removeData: true });
    for (const m of reset.members) expect(m.removedDirs).toContain('/var/lib/etcd');
    for (const h of tb.hosts) {
      const left = await tb.exec(h.name, 'for p in /opt/etcd /var/lib/etcd /etc/systemd/system/etcd.service; do test -e "$p" && echo "$p"; done; getent passwd etcd; true');
      expect(left.stdout.trim()).toBe('');
    }
    const fresh = await deployEtcdCluster(spec);
    expect(fresh.plan.mode).toBe('bootstrap');
    expect(fresh.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(await etcdctl(fresh, 'get', '/roll/0', '--print-value-only')).toBe('');
  });
});
