// Issue 10, scenario 2: a PKI dir that does not hold the running cluster's CA (lost, another laptop, a CI
// runner) is refused with CA_MISMATCH before any host changes: no file under /opt/etcd/ssl replaced, no
// etcd restarted, and no new CA written into the PKI dir. Without the check the deploy replaces ca.crt and
// every leaf on all hosts (a full outage). A renewal with the same CA is still no refusal.
import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, createClusterPki, deployEtcdCluster, planEtcdCluster, removeEtcdMember, writePkiDir } from '../../src/index.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, mainPids, testbedSpec } from './deploy-helpers.js';

let tb: Testbed;
let spec: ReturnType<typeof testbedSpec>;
let runningCa: string; // fingerprint of the CA the cluster was deployed with

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const newDir = () => join(mkdtempSync(join(tmpdir(), 'etcd-kit-ca-')), 'pki');

/** Everything that must not change: hashes of every TLS file on every host and etcd's main PIDs. */
async function hostState(): Promise<{ ssl: string[]; pids: number[] }> {
  const ssl = await Promise.all(tb.hosts.map(async (h) => (await tb.exec(h.name, 'sha256sum /opt/etcd/ssl/* /opt/etcd/cfg/etcd.env')).stdout));
  return { ssl, pids: await mainPids(tb) };
}

beforeAll(async () => {
  tb = await startTestbed({ hosts: 3 });
  spec = testbedSpec(tb, e2eRelease().tarball);
  const deployed = await deployEtcdCluster(spec);
  expect(deployed.health?.healthy).toBe(true);
  runningCa = fingerprint(readFileSync(join(spec.pki.dir, 'ca.crt'), 'utf8'));
  await etcdctl(deployed, 'put', '/ca/check', 'kept');
}, 300_000);
afterAll(async () => {
  await tb?.destroy();
});

describe('a PKI dir without the running cluster CA is refused, nothing changed', () => {
  it('fresh empty PKI dir: deploy refuses with CA_MISMATCH naming both fingerprints; hosts and the dir untouched', async () => {
    const before = await hostState();
    const dir = newDir();
    const started = performance.now();
    const err = await rejection(deployEtcdCluster({ ...spec, pki: { dir } }));
    const took = performance.now() - started;
    expect(err.code).toBe('CA_MISMATCH');
    expect(err.member).toBe('etcd01');
    for (const name of ['etcd01', 'etcd02', 'etcd03']) expect(err.message).toContain(name);
    expect(err.message).toContain(runningCa);
    const wouldBe = err.details?.['pkiCa'] as string;
    expect(wouldBe).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(wouldBe).not.toBe(runningCa);
    expect(err.message).toContain(wouldBe);
    expect(err.message).toContain('holds no CA');
    expect(err.message).toContain('etcd-kit pki rotate-ca');
    expect(err.details?.['createdCa']).toBe(true);
    expect(took).toBeLessThan(15_000);
    // nothing written into the fresh PKI dir: no CA key, no certificates
    expect(existsSync(join(dir, 'ca.key'))).toBe(false);
    expect(existsSync(join(dir, 'ca.crt'))).toBe(false);
    expect(await hostState()).toEqual(before);
  });

  it('plan refuses the same way, and writes nothing either', async () => {
    const before = await hostState();
    const dir = newDir();
    const err = await rejection(planEtcdCluster({ ...spec, pki: { dir } }));
    expect(err.code).toBe('CA_MISMATCH');
    expect(err.message).toContain(runningCa);
    expect(existsSync(dir)).toBe(false);
    expect(await hostState()).toEqual(before);
  });

  it("another cluster's complete PKI dir (other CA, its own leaves): CA_MISMATCH with both fingerprints", async () => {
    const before = await hostState();
    const dir = newDir();
    const other = await createClusterPki({ members: tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, hosts: [h.ip] })), clients: ['admin', 'kube-apiserver'] });
    await writePkiDir(dir, other);
    const files = readdirSync(dir, { recursive: true }).map(String).sort();
    const err = await rejection(deployEtcdCluster({ ...spec, pki: { dir } }));
    expect(err.code).toBe('CA_MISMATCH');
    expect(err.message).toContain(runningCa);
    expect(err.message).toContain(fingerprint(other.ca.certPem));
    expect(err.details?.['createdCa']).toBe(false);
    expect(((err.details?.['members'] ?? []) as { name: string; reason: string }[]).map((m) => [m.name, m.reason])).toEqual([
      ['etcd01', 'served'],
      ['etcd02', 'served'],
      ['etcd03', 'served'],
    ]);
    expect(readdirSync(dir, { recursive: true }).map(String).sort()).toEqual(files);
    expect(await hostState()).toEqual(before);
  });

  it('removeEtcdMember with another CA: CA_MISMATCH at once, no member removed, nothing changed', async () => {
    const before = await hostState();
    const dir = newDir();
    const other = await createClusterPki({ members: tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, hosts: [h.ip] })), clients: ['admin', 'kube-apiserver'] });
    await writePkiDir(dir, other);
    const started = performance.now();
    const smaller = { ...spec, members: spec.members.slice(0, 2), pki: { dir } };
    const err = await rejection(removeEtcdMember(smaller, 'etcd03', { healthTimeoutMs: 60_000 }));
    expect(err.code).toBe('CA_MISMATCH');
    // no host is read here: the running CA is known by its name only, the PKI dir's by its fingerprint
    expect(err.message).toContain('etcd01');
    expect(err.message).toContain(fingerprint(other.ca.certPem));
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await hostState()).toEqual(before);
  });

  it('a member that is down is judged by its host ca.crt', async () => {
    await tb.exec(2, 'systemctl stop etcd');
    try {
      const before = await hostState();
      expect(before.pids[2]).toBe(0);
      const dir = newDir();
      await writePkiDir(dir, await createClusterPki({ members: tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, hosts: [h.ip] })), clients: ['admin', 'kube-apiserver'] }));
      const err = await rejection(deployEtcdCluster({ ...spec, pki: { dir } }));
      expect(err.code).toBe('CA_MISMATCH');
      const members = err.details?.['members'] as { name: string; reason: string; foundFingerprint?: string }[];
      expect(members.find((m) => m.name === 'etcd03')).toMatchObject({ reason: 'host-ca', foundFingerprint: runningCa });
      expect(await hostState()).toEqual(before);
    } finally {
      await tb.exec(2, 'systemctl start etcd');
    }
  });

  it('a PKI dir with another CA but the cluster leaves copied in: refused before any host changes', async () => {
    const before = await hostState();
    const dir = newDir();
    cpSync(spec.pki.dir, dir, { recursive: true });
    const ca = await createCA();
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    const err = await rejection(deployEtcdCluster({ ...spec, pki: { dir } }));
    // readPkiDir already refuses leaves that do not chain to the dir's CA
    expect(['PKI_CHAIN_INVALID', 'CA_MISMATCH']).toContain(err.code);
    expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(ca.certPem);
    expect(await hostState()).toEqual(before);
  });

  it('the right PKI dir (a re-run, a renewal with the same CA) is not refused', async () => {
    const renewed = await deployEtcdCluster({ ...spec, pki: { ...spec.pki, renewBeforeDays: 3650 } });
    expect(renewed.plan.pki.issueMembers).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(renewed.health?.healthy).toBe(true);
    expect(fingerprint(readFileSync(join(spec.pki.dir, 'ca.crt'), 'utf8'))).toBe(runningCa);
    expect(await etcdctl(renewed, 'get', '/ca/check', '--print-value-only')).toBe('kept\n');
    const again = await deployEtcdCluster(spec);
    expect(again.changed).toBe(false);
  });
});
