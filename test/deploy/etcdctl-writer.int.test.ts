// The etcdctl writer (a client that re-reads ca-bundle.crt and its client cert/key before every request)
// against a real local 3-member etcd 3.6 with etcd-kit's PKI: a healthy cluster acknowledges every write;
// client files from an unrelated CA make writes fail, recorded with etcdctl's stderr, and writes succeed again
// once the right files are back; files wrong for less than the command timeout cost a slow ack instead (etcdctl
// re-reads its client pair at every TLS handshake); the flags work with etcdctl 3.4 and 3.7 too.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, type PkiPaths, pkiPaths, signClientCert } from '../../src/pki/index.js';
import { etcdRelease } from '../helpers/etcd-releases.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';
import { type EtcdctlClientOptions, type EtcdctlWriterReport, etcdctlRead, failuresBetween, missingWrites, startEtcdctlWriter } from './etcdctl-writer.js';

const server = etcdRelease('3.6');
let cluster: LocalCluster;
let paths: PkiPaths;
let client: EtcdctlClientOptions;

beforeAll(async () => {
  cluster = await startLocalCluster({ size: 3, namePrefix: 'ew', etcdBin: server.etcd, etcdctlBin: server.etcdctl });
  paths = pkiPaths(cluster.pkiDir);
  // The files of the rotation's contract: the CA bundle and the client's own pair in clients/.
  client = {
    etcdctl: server.etcdctl,
    endpoints: cluster.endpoints,
    caFile: paths.caBundle,
    certFile: paths.client('admin').cert,
    keyFile: paths.client('admin').key,
  };
});
afterAll(async () => {
  await cluster?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Replaces a file the way a careful tool does: a new file renamed over the old one. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** Every key `<prefix>0 … <prefix><writes-1>` was written exactly once: acknowledged or failed, never retried. */
function expectEveryKeyOnce(report: EtcdctlWriterReport, prefix: string): void {
  const written = [...report.acked, ...report.failures.map((f) => f.key)].sort();
  expect(written).toEqual(Array.from({ length: report.writes }, (_, n) => `${prefix}${n}`).sort());
}

function summary(label: string, r: EtcdctlWriterReport): string {
  const rate = (r.writes / (r.durationMs / 1000)).toFixed(1);
  const l = r.latencyMs;
  const lat = l ? `one put process: min ${l.min} / median ${l.median} / p95 ${l.p95} / max ${l.max} / mean ${l.mean} ms` : 'no acked write';
  return `[etcdctl-writer] ${label}: ${r.writes} writes (${r.acked.length} acked, ${r.failures.length} failed, ${r.slowAcks.length} slow acks) in ${r.durationMs} ms = ${rate} writes/s; ${lat}`;
}

describe('startEtcdctlWriter on a real 3-member etcd 3.6', () => {
  it('a healthy cluster acknowledges every write, and every acknowledged key is readable', async () => {
    const prefix = '/ew/healthy/';
    const seen: string[] = [];
    const writer = startEtcdctlWriter({ ...client, prefix, onAck: (k) => seen.push(k) });
    // A count of writes, not a time: a loaded machine spawns etcdctl more slowly.
    await until('11 acknowledged writes', () => writer.ackedCount > 10, 30_000);
    expect(writer.failedCount).toBe(0);
    const report = await writer.stop();
    console.log(summary(`etcdctl ${server.version}, healthy`, report));

    expect(report.failures).toEqual([]);
    expect(report.writes).toBeGreaterThan(10);
    expect(report.acked).toHaveLength(report.writes);
    expect(seen).toEqual(report.acked);
    expectEveryKeyOnce(report, prefix);
    const stored = await etcdctlRead(client, prefix);
    expect(stored).toHaveLength(report.writes);
    expect(missingWrites(report.acked, stored)).toEqual([]);
    // stop() is idempotent and nothing is written after it
    expect(await writer.stop()).toBe(report);
    expect(await etcdctlRead(client, prefix)).toHaveLength(report.writes);
  });

  it('client files from an unrelated CA make writes fail with etcdctl stderr; the right files back, writes succeed again', async () => {
    const prefix = '/ew/wrong-ca/';
    const certFile = paths.client('admin').cert;
    const keyFile = paths.client('admin').key;
    const [goodCert, goodKey] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const stranger = await signClientCert(await createCA({ commonName: 'unrelated-ca' }), { commonName: 'admin' });

    let ackedAfterFix = 0;
    let fixedAt = Number.POSITIVE_INFINITY;
    // A rejected TLS handshake makes etcdctl retry until its command timeout: a short one keeps the test short.
    const writer = startEtcdctlWriter({ ...client, prefix, timeoutMs: 2000, onAck: () => void (Date.now() >= fixedAt && ackedAfterFix++) });
    let brokenAt = Number.POSITIVE_INFINITY;
    try {
      await until('20 acknowledged writes', () => writer.ackedCount >= 20, 15_000);
      expect(writer.failedCount).toBe(0);

      brokenAt = Date.now();
      await replaceFile(certFile, stranger.certPem);
      await replaceFile(keyFile, stranger.keyPem);
      await until('3 failed writes', () => writer.failedCount >= 3, 20_000);
    } finally {
      await replaceFile(certFile, goodCert);
      await replaceFile(keyFile, goodKey);
      fixedAt = Date.now();
    }
    await until('20 acknowledged writes after the fix', () => ackedAfterFix >= 20, 20_000);
    const report = await writer.stop();
    console.log(summary(`etcdctl ${server.version}, client cert from an unrelated CA for a while (timeout 2 s)`, report));
    console.log(`[etcdctl-writer] failures: ${JSON.stringify(report.failures.map(({ key, ms, code, stderr, cause }) => ({ key, ms, code, stderr, cause })), null, 1)}`);
    console.log(`[etcdctl-writer] slow acks: ${JSON.stringify(report.slowAcks.map(({ key, ms }) => ({ key, ms })))}`);

    expect(report.failures.length).toBeGreaterThanOrEqual(3);
    // Only while the wrong files were in place (a process reads its files a few ms after it starts).
    expect(failuresBetween(report.failures, 0, brokenAt - 1000)).toEqual([]);
    expect(failuresBetween(report.failures, fixedAt)).toEqual([]);
    expect(writer.failuresSince(fixedAt)).toEqual([]);
    expect(writer.failuresSince(brokenAt - 1000)).toHaveLength(report.failures.length);
    for (const f of report.failures) {
      expect(f.code).not.toBe(0);
      expect(f.code).not.toBeNull(); // etcdctl gave up by itself, inside its command timeout
      expect(f.stderr).toMatch(/^Error: /);
    }
    // The member rejected the certificate: etcdctl 3.6 logs why before "Error: context deadline exceeded". It reads
    // the member's alert (`tls: unknown certificate authority`), or, when its first write after its side of the
    // TLS 1.3 handshake comes before it reads the alert, hits the connection the member closed (`broken pipe`).
    expect(
      report.failures.some((f) => f.stderr === 'Error: context deadline exceeded' && /tls: unknown certificate authority|write: broken pipe/.test(f.cause)),
      JSON.stringify(report.failures.map((f) => f.cause)),
    ).toBe(true);

    expectEveryKeyOnce(report, prefix);
    const stored = await etcdctlRead(client, prefix);
    expect(missingWrites(report.acked, stored)).toEqual([]);
    // A write the TLS layer refused never reached etcd.
    expect(stored.filter((k) => report.failures.some((f) => f.key === k))).toEqual([]);
    expect(stored).toHaveLength(report.acked.length);
  });

  it('a client pair wrong for less than the command timeout: etcdctl retries the handshake with the re-read files, a slow ack', async () => {
    const prefix = '/ew/short-break/';
    const certFile = paths.client('admin').cert;
    const keyFile = paths.client('admin').key;
    const [goodCert, goodKey] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const stranger = await signClientCert(await createCA({ commonName: 'unrelated-ca' }), { commonName: 'admin' });
    const writer = startEtcdctlWriter({ ...client, prefix, timeoutMs: 5000 });
    let fixedAt = 0;
    try {
      await until('10 acknowledged writes', () => writer.ackedCount >= 10, 15_000);
      await replaceFile(certFile, stranger.certPem);
      await replaceFile(keyFile, stranger.keyPem);
      await sleep(300); // shorter than gRPC's first reconnect backoff (1 s ± 20 %)
    } finally {
      await replaceFile(certFile, goodCert);
      await replaceFile(keyFile, goodKey);
      fixedAt = Date.now();
    }
    const before = writer.ackedCount;
    await until('10 more acknowledged writes', () => writer.ackedCount >= before + 10, 15_000);
    const report = await writer.stop();
    console.log(summary(`etcdctl ${server.version}, client pair from an unrelated CA for 300 ms (timeout 5 s)`, report));
    console.log(`[etcdctl-writer] slow acks: ${JSON.stringify(report.slowAcks.map(({ key, ms }) => ({ key, ms })))}`);

    // The only failure possible: a process that loaded the pair between the two renames (new cert, old key).
    expect(report.failures.filter((f) => !/private key does not match public key/.test(f.stderr))).toEqual([]);
    const retried = report.slowAcks.filter((a) => a.at < fixedAt && a.ms >= 700);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(missingWrites(report.acked, await etcdctlRead(client, prefix))).toEqual([]);
  });

  it.each(['3.4', '3.7'])('the same flags work with etcdctl %s', async (minor) => {
    const release = etcdRelease(minor);
    const prefix = `/ew/etcdctl-${minor}/`;
    const opts = { ...client, etcdctl: release.etcdctl };
    const writer = startEtcdctlWriter({ ...opts, prefix });
    await until('6 acknowledged writes', () => writer.ackedCount > 5, 30_000);
    const report = await writer.stop();
    console.log(summary(`etcdctl ${release.version}, healthy`, report));

    expect(report.failures).toEqual([]);
    expect(report.writes).toBeGreaterThan(5);
    expect(report.acked).toHaveLength(report.writes);
    const stored = await etcdctlRead(opts, prefix);
    expect(stored).toHaveLength(report.writes);
    expect(missingWrites(report.acked, stored)).toEqual([]);
  });
});

describe('missingWrites', () => {
  it('lists the acknowledged keys not stored, in write order', () => {
    expect(missingWrites(['/a0', '/a1', '/a2', '/a3'], ['/a3', '/a0', '/other'])).toEqual(['/a1', '/a2']);
    expect(missingWrites([], ['/a0'])).toEqual([]);
  });
});
