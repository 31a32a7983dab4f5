// The cluster CA rotated on a running cluster (RSA → ECDSA), on etcd 3.6 and 3.4.23, under a writer of
// etcdctl processes that re-read ca-bundle.crt and clients/admin.* before every write: no write fails and
// every acknowledged one is readable afterwards. On 3.6 the rotation is interrupted after each phase — a
// host powered off, a member's etcd stopped, Ctrl-C in the middle of a phase — refused while the cluster is
// not whole, and resumed where it stopped. At the end the members serve certificates that chain to the new
// CA only (openssl s_client, client and peer ports), an old-CA client is refused, the old CA is retired
// (0600), and a deploy changes nothing.
// Allowed, each only during the step that explains it (stop-cut-writes.ts), are the writes etcd fails itself
// in a rolling restart: on every version a proposal the leader drops while handing leadership over; on 3.4
// also a request cut by its member stopping (logged by that member; 3.5+ drain). Any other failure (a TLS
// refusal, a timeout) fails the test.
import { copyFile, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterSpecInput, connectCluster, deployEtcdCluster, inspectPkiDir, type RotateCaResult, rotateEtcdCa } from '../../src/index.js';
import { pkiPaths, readCaRotationState } from '../../src/pki-entry.js';
import { etcdRelease } from '../helpers/etcd-releases.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { testbedSpec } from './deploy-helpers.js';
import { type EtcdctlWriter, etcdctlRead, missingWrites, startEtcdctlWriter } from './etcdctl-writer.js';
import { etcdctlHealth, listenerAddresses, servedChainVerifies } from './rotation-checks.js';
import { type RestartWindow, restartWindowRecorder, STOPPED_MEMBER_CUT_LOG, splitStopCuts } from './stop-cut-writes.js';

let tb: Testbed | undefined;
let writer: EtcdctlWriter | undefined;
// Each test's hosts and writer go when it ends, passed or failed: a writer left running would load the next test.
afterEach(async () => {
  await writer?.stop();
  await tb?.destroy();
  writer = undefined;
  tb = undefined;
});

/** Three hosts running `version` with an rsa-2048 PKI, the old admin client kept, the contract's writer started. */
async function rotationCluster(version: string) {
  const release = etcdRelease(version);
  tb = await startTestbed({ hosts: 3 });
  const spec = testbedSpec(tb, release.tarball);
  spec.pki = { ...spec.pki, keyAlgorithm: 'rsa-2048' };
  const deployed = await deployEtcdCluster(spec);
  const old = await keepOldClient(spec);
  writer = startEtcdctlWriter({ etcdctl: release.etcdctl, endpoints: deployed.endpoints, ...contractFiles(spec), prefix: '/rotate/', timeoutMs: 5000 });
  return { tb, release, spec, deployed, old, writer };
}

/** Waits until every member answers, with the contract's files as they are now. */
async function healthy(endpoints: string[], spec: { pki: { dir: string } }): Promise<void> {
  const files = contractFiles(spec);
  const tls = { caPem: await readFile(files.caFile, 'utf8'), certPem: await readFile(files.certFile, 'utf8'), keyPem: await readFile(files.keyFile, 'utf8') };
  const cluster = connectCluster({ endpoints, tls });
  try {
    await cluster.waitForHealthy({ timeoutMs: 60_000, mustAnswer: 'all' });
  } finally {
    cluster.close();
  }
}

const countCerts = (pem: string) => (pem.match(/BEGIN CERTIFICATE/g) ?? []).length;

/** The files a client of the contract reads: the bundle and the admin pair, by path (re-read per write). */
function contractFiles(spec: { pki: { dir: string } }) {
  const paths = pkiPaths(spec.pki.dir);
  return { caFile: paths.caBundle, certFile: paths.client('admin').cert, keyFile: paths.client('admin').key };
}

/** Copies of the admin pair and the CA as they are before the rotation: an old-CA client afterwards. */
async function keepOldClient(spec: { pki: { dir: string } }) {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-old-client-'));
  const files = contractFiles(spec);
  const old = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'admin.crt'), keyFile: join(dir, 'admin.key') };
  await copyFile(pkiPaths(spec.pki.dir).caCert, old.caFile);
  await copyFile(files.certFile, old.certFile);
  await copyFile(files.keyFile, old.keyFile);
  return old;
}

/** The end state every rotation must reach, seen by openssl, etcdctl, the PKI dir and a deploy. */
async function expectRotated(spec: ClusterSpecInput & { pki: { dir: string } }, etcdctl: string, endpoints: string[], old: { caFile: string; certFile: string; keyFile: string }) {
  const paths = pkiPaths(spec.pki.dir);
  const state = (await readCaRotationState(spec.pki.dir))!;
  expect(state.phase).toBe('done');
  const retiredKey = join(spec.pki.dir, state.retiredDir!, 'ca.key');
  expect((await stat(retiredKey)).mode & 0o777).toBe(0o600);
  expect(await readFile(join(spec.pki.dir, state.retiredDir!, 'ca.crt'), 'utf8')).toBe(await readFile(old.caFile, 'utf8'));
  expect(countCerts(await readFile(paths.caBundle, 'utf8'))).toBe(1);

  const admin = contractFiles(spec);
  for (const address of listenerAddresses({ endpoints })) {
    const withNew = await servedChainVerifies(address, paths.caCert, admin);
    expect(withNew, `${address} with the new CA`).toMatchObject({ code: 0 });
    expect(withNew.keyType, `${address} serves an ECDSA key`).toBe('ECDSA');
    const withOld = await servedChainVerifies(address, old.caFile, admin);
    expect(withOld.code, `${address} must not chain to the old CA: ${withOld.text}`).not.toBe(0);
  }
  // The old-CA client, trusting old + new so that only its own certificate can be the reason.
  const oldClient = await etcdctlHealth(etcdctl, endpoints, { ...old, caFile: paths.caBundle });
  expect(oldClient.code, oldClient.output).not.toBe(0);
  expect((await etcdctlHealth(etcdctl, endpoints, admin)).code).toBe(0);

  const inspected = await inspectPkiDir(spec.pki.dir);
  expect(inspected.certificates.filter((c) => c.role === 'retired-ca')).toHaveLength(1);
  expect(inspected.certificates.find((c) => c.role === 'ca')?.keyAlgorithm).toBe('ecdsa-p256');

  const again = await deployEtcdCluster(spec);
  expect(again.changed).toBe(false);
  expect(again.members.every((m) => !m.restarted && m.changedFiles.length === 0)).toBe(true);
}

/** Stops the writer; no write failed but those etcd fails itself during `allowed` steps (stop-cut-writes.ts), every acknowledged one is stored. */
async function expectWriterClean(w: EtcdctlWriter, etcdctl: string, endpoints: string[], spec: { pki: { dir: string } }, allowed: readonly RestartWindow[]) {
  const report = await w.stop();
  const { cut, other } = splitStopCuts(report.failures, allowed);
  expect(other, JSON.stringify(other.slice(0, 3))).toEqual([]);
  expect(cut.length).toBeLessThanOrEqual(allowed.length);
  expect(report.acked.length).toBeGreaterThan(50);
  const stored = await etcdctlRead({ etcdctl, endpoints, ...contractFiles(spec) }, '/rotate/');
  expect(missingWrites(report.acked, stored)).toEqual([]);
  return { report, cut };
}

describe('CA rotation on etcd 3.6, interrupted after each phase', () => {
  it('RSA → ECDSA under an etcdctl writer: refused while a host or member is down, resumed, no write fails', { timeout: 900_000 }, async () => {
    const { tb, release, spec, deployed, old, writer } = await rotationCluster('3.6');
    const paths = pkiPaths(spec.pki.dir);

    // Phase 1, then stop: every member trusts old + new, still serves its old certificate.
    const steps = restartWindowRecorder();
    const first = await rotateEtcdCa(spec, { keyAlgorithm: 'ecdsa-p256', stopAfter: 'trust-both', onProgress: steps.onProgress });
    expect(first).toMatchObject({ began: true, finished: false, state: { phase: 'trust-both' } });
    expect(first.steps.map((s) => [s.phase, s.restarted])).toEqual([0, 1, 2].map(() => ['trust-both', true]));
    expect(countCerts(await readFile(paths.caBundle, 'utf8'))).toBe(2);
    for (const h of tb.hosts) expect(countCerts((await tb.exec(h.name, 'cat /opt/etcd/ssl/ca.crt')).stdout)).toBe(2);
    for (const address of listenerAddresses(deployed)) expect((await servedChainVerifies(address, old.caFile, contractFiles(spec))).code).toBe(0);

    // The test's own stops below: a member that leads when it stops hands its leadership over first, which can
    // drop a proposal like any leadership move (which member leads by then depends on the first election).
    const stopping = async (member: string, stop: () => Promise<unknown>): Promise<void> => {
      const from = Date.now();
      await stop();
      steps.windows.push({ kind: 'leader-move', member, from, to: Date.now() });
    };

    // A host powered off: refused (it cannot be reached), nothing recorded; back up, the rotation goes on.
    await stopping(spec.members[1]!.name, () => tb.stopHost(1));
    const whileOff = await rejection(rotateEtcdCa(spec));
    expect(whileOff.code).toMatch(/^SSH_(UNREACHABLE|TIMEOUT)$/);
    await tb.startHost(1);
    expect((await readCaRotationState(spec.pki.dir))?.phase).toBe('trust-both');
    await healthy(deployed.endpoints, spec); // the refusal holds until the member answers again

    // Phase 2, then stop: new certificates everywhere, no member restarted.
    const second = await rotateEtcdCa(spec, { stopAfter: 'new-leaves', onProgress: steps.onProgress });
    expect(second).toMatchObject({ began: false, finished: false, state: { phase: 'new-leaves' } });
    expect(second.steps.map((s) => [s.phase, s.restarted])).toEqual([0, 1, 2].map(() => ['new-leaves', false]));
    for (const address of listenerAddresses(deployed)) expect((await servedChainVerifies(address, paths.caNextCert, contractFiles(spec))).code).toBe(0);

    // A member's etcd stopped: refused, naming it, before any host changes.
    await stopping(spec.members[2]!.name, () => tb.exec(tb.hosts[2]!.name, 'systemctl stop etcd'));
    const whileStopped = await rejection(rotateEtcdCa(spec));
    expect(whileStopped).toMatchObject({ code: 'UNSAFE_CHANGE', details: { notReady: ['etcd03'] } });
    await tb.exec(tb.hosts[2]!.name, 'systemctl start etcd');
    await healthy(deployed.endpoints, spec);

    // Phase 3, cut short (Ctrl-C) once its first member is done; the next run does the rest.
    const abort = new AbortController();
    const cut = await rejection(
      rotateEtcdCa(spec, {
        signal: abort.signal,
        onProgress: (e) => {
          steps.onProgress(e);
          if (e.step === 'rotate-ca' && /drop-old done/.test(e.message ?? '')) abort.abort();
        },
      }),
    );
    expect(cut.code).toBe('ABORTED');
    const mid = (await readCaRotationState(spec.pki.dir))!;
    expect(mid.phase).toBe('drop-old');
    expect(mid.membersDone['drop-old']).toHaveLength(1);
    const last: RotateCaResult = await rotateEtcdCa(spec, { onProgress: steps.onProgress });
    expect(last).toMatchObject({ began: false, finished: true, state: { phase: 'done' } });
    expect(last.steps.map((s) => s.phase)).toEqual(['drop-old', 'drop-old']);
    expect(last.steps.map((s) => s.member)).not.toContain(mid.membersDone['drop-old'][0]);

    // A leader handing over drops proposals on every version (etcd-io/etcd#8975); 3.6 drains a stopping member.
    const { report, cut: dropped } = await expectWriterClean(writer, release.etcdctl, deployed.endpoints, spec, steps.windows.filter((w) => w.kind === 'leader-move'));
    console.log(`3.6 rotation: ${report.acked.length} writes acknowledged, ${report.failures.length} failed (${dropped.length} dropped while leadership moved), ${report.slowAcks.length} slower than 500 ms`);
    await expectRotated(spec, release.etcdctl, deployed.endpoints, old);
  });
});

describe('CA rotation on etcd 3.4.23', () => {
  it('RSA → ECDSA in one run under an etcdctl writer: no write fails but those etcd 3.4 cuts as a member stops, the new CA only at the end', { timeout: 600_000 }, async () => {
    const { tb, release, spec, deployed, old, writer } = await rotationCluster('3.4.23');
    const restarts = restartWindowRecorder();
    const rotated = await rotateEtcdCa(spec, { keyAlgorithm: 'ecdsa-p256', onProgress: restarts.onProgress });
    expect(rotated).toMatchObject({ began: true, finished: true });
    expect(rotated.steps.map((s) => `${s.phase}:${s.restarted}`)).toEqual([
      ...[0, 1, 2].map(() => 'trust-both:true'),
      ...[0, 1, 2].map(() => 'new-leaves:false'),
      ...[0, 1, 2].map(() => 'drop-old:true'),
    ]);
    expect(restarts.windows.filter((w) => w.kind === 'restart').map((w) => w.member).sort()).toEqual(['etcd01', 'etcd01', 'etcd02', 'etcd02', 'etcd03', 'etcd03']);
    const { report, cut } = await expectWriterClean(writer, release.etcdctl, deployed.endpoints, spec, restarts.windows);
    // Each write counted as cut by a stopping member: that member logged cutting a request.
    const stopCuts = cut.filter((c) => c.window.kind === 'restart');
    for (const member of new Set(stopCuts.map((c) => c.window.member))) {
      const host = tb.hosts[spec.members.findIndex((m) => m.name === member)]!;
      const logged = Number((await tb.exec(host.name, `journalctl -u etcd --no-pager | grep -c '${STOPPED_MEMBER_CUT_LOG}' || true`)).stdout.trim());
      expect(logged, `${member} logged the requests it cut`).toBeGreaterThanOrEqual(stopCuts.filter((c) => c.window.member === member).length);
    }
    const explained = cut.map((c) => `${c.window.kind} of ${c.window.member}`).join(', ') || 'none';
    console.log(`3.4.23 rotation: ${report.acked.length} writes acknowledged, ${report.failures.length} failed (etcd 3.4's own: ${explained}), ${report.slowAcks.length} slower than 500 ms`);
    await expectRotated(spec, release.etcdctl, deployed.endpoints, old);
  });
});
