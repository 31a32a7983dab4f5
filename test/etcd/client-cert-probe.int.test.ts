// probeClientCertificate against real etcd: the members' own CA is accepted on the client and peer
// listeners, a certificate of another CA refused, a port with nothing behind it is no verdict at all.
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeClientCertificate } from '../../src/etcd/client-cert-probe.js';
import { createCA, signClientCert, signPeerCert, signServerCert } from '../../src/pki/index.js';
import { etcdRelease } from '../helpers/etcd-releases.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';
import { rejection } from '../helpers/rejection.js';

for (const minor of ['3.4', '3.6'] as const) {
  describe(`probeClientCertificate on etcd ${minor}`, () => {
    let cluster: LocalCluster;
    beforeAll(async () => {
      const release = etcdRelease(minor);
      cluster = await startLocalCluster({ size: 1, etcdBin: release.etcd, etcdctlBin: release.etcdctl });
    });
    afterAll(async () => {
      await cluster?.close();
    });

    it('the cluster CA is accepted, another CA refused, on the client and the peer listener', async () => {
      const m = cluster.members[0]!;
      const admin = cluster.pki.clients['admin']!;
      const peer = cluster.pki.members[m.name]!.peer;
      const other = await createCA({ commonName: 'etcd-ca', keyAlgorithm: 'ecdsa-p256' });
      const stranger = await signClientCert(other, { commonName: 'admin' });
      const strangerPeer = await signPeerCert(other, { commonName: m.name, hosts: [m.address] });
      expect(await probeClientCertificate(m.clientUrl, admin)).toBe('accepted');
      expect(await probeClientCertificate(m.peerUrl, peer)).toBe('accepted');
      expect(await probeClientCertificate(m.clientUrl, stranger)).toBe('refused');
      expect(await probeClientCertificate(m.peerUrl, strangerPeer)).toBe('refused');
    });
  });
}

it('nothing listening is ETCD_UNREACHABLE, not a verdict', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  const ca = await createCA({ keyAlgorithm: 'ecdsa-p256' });
  const client = await signClientCert(ca, { commonName: 'admin' });
  const err = await rejection(probeClientCertificate(`https://127.0.0.1:${port}`, client));
  expect(err).toMatchObject({ code: 'ETCD_UNREACHABLE' });
});

it('a TLS alert that is not about the certificate is ETCD_UNREACHABLE, not a refusal', async () => {
  const ca = await createCA({ keyAlgorithm: 'ecdsa-p256' });
  const served = await signServerCert(ca, { commonName: 'not-etcd', hosts: ['127.0.0.1'] });
  // Speaks only h2: the probe's http/1.1 gets a no_application_protocol alert, whatever its certificate.
  const server = createTlsServer({ cert: served.certPem, key: served.keyPem, ALPNProtocols: ['h2'] });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const client = await signClientCert(ca, { commonName: 'admin' });
    const err = await rejection(probeClientCertificate(`https://127.0.0.1:${port}`, client));
    expect(err).toMatchObject({ code: 'ETCD_UNREACHABLE' });
    expect(err.message).toMatch(/no TLS connection .*no application protocol/i);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
