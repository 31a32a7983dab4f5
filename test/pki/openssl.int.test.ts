/**
 * etcd-kit certificates checked by a second, independent X.509 implementation: the openssl CLI.
 * verify (with -x509_strict and TLS purposes), x509 -text, pkey -check, an imported openssl CA, and a
 * real mutual-TLS handshake between openssl s_server and s_client.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterPki,
  type KeyAlgorithm,
  advanceCaRotation,
  beginCaRotation,
  createCA,
  createClusterPki,
  inspectCertificate,
  markCaRotationMemberDone,
  memberTrustedCaPem,
  pkiPaths,
  signServerCert,
  writePkiDir,
} from '../../src/pki/index.js';

/**
 * Runs openssl with stdin closed (s_client would otherwise wait for input); resolves with exit code and
 * output instead of throwing, so failures can be asserted. Killed after 30 s so a hang fails loudly.
 */
function openssl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill(), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end();
  });
}

const MEMBERS = [
  { name: 'etcd01', hosts: ['192.168.35.128', 'master.lan', 'fd00::128'] },
  { name: 'etcd02', hosts: ['192.168.35.195', 'node1.lan'] },
  { name: 'etcd03', hosts: ['192.168.35.138', 'node2.lan'] },
];

const SIGNATURE = {
  'rsa-2048': 'sha256WithRSAEncryption',
  'ecdsa-p256': 'ecdsa-with-SHA256',
  'ecdsa-p384': 'ecdsa-with-SHA384',
} as Record<KeyAlgorithm, string>;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etcd-kit-openssl-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `X509v3 <name>:` section of `openssl x509 -text`: [header line, value line]. */
function extension(text: string, name: string): { header: string; value: string } | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((line) => line.trim().startsWith(`X509v3 ${name}:`));
  return i < 0 ? undefined : { header: lines[i]!.trim(), value: lines[i + 1]!.trim() };
}
const keyId = (value: string | undefined) => value?.replace(/^keyid:/, '').trim();

describe.each(['rsa-2048', 'ecdsa-p256', 'ecdsa-p384'] as KeyAlgorithm[])('openssl and a %s cluster PKI', (keyAlgorithm) => {
  let dir: string;
  let pki: ClusterPki;
  const leafFiles = () => {
    const paths = pkiPaths(dir);
    return {
      hostCerts: MEMBERS.flatMap((m) => [
        { cert: paths.member(m.name).serverCert, key: paths.member(m.name).serverKey, member: m },
        { cert: paths.member(m.name).peerCert, key: paths.member(m.name).peerKey, member: m },
      ]),
      clientCerts: ['admin', 'kube-apiserver'].map((name) => ({ name, ...paths.client(name) })),
    };
  };

  beforeAll(async () => {
    dir = join(root, keyAlgorithm);
    pki = await createClusterPki({ members: MEMBERS, keyAlgorithm });
    await writePkiDir(dir, pki);
  });

  it('openssl verify -x509_strict accepts every certificate for its TLS purpose', async () => {
    const { hostCerts, clientCerts } = leafFiles();
    const ca = pkiPaths(dir).caCert;
    for (const { cert } of hostCerts) {
      for (const purpose of ['sslserver', 'sslclient']) {
        const result = await openssl(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', ca, cert]);
        expect({ purpose, ...result }).toEqual({ purpose, code: 0, stdout: `${cert}: OK\n`, stderr: '' });
      }
    }
    for (const { cert } of clientCerts) {
      const ok = await openssl(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', ca, cert]);
      expect(ok).toMatchObject({ code: 0, stdout: `${cert}: OK\n` });
      // A client certificate must not pass as a server certificate (EKU clientAuth only).
      const asServer = await openssl(['verify', '-purpose', 'sslserver', '-CAfile', ca, cert]);
      expect(asServer.code).not.toBe(0);
      expect(asServer.stdout + asServer.stderr).toMatch(/unsuitable certificate purpose/);
    }
    // And none of them verifies against another CA with the same name.
    const otherCa = join(root, `${keyAlgorithm}-other-ca.crt`);
    await writeFile(otherCa, (await createCA({ keyAlgorithm: 'ecdsa-p256' })).certPem);
    const foreign = await openssl(['verify', '-CAfile', otherCa, hostCerts[0]!.cert]);
    expect(foreign.code).not.toBe(0);
  });

  it('openssl x509 -text shows CA:TRUE critical, SANs, EKUs, key identifiers and the signature algorithm', async () => {
    const caText = (await openssl(['x509', '-in', pkiPaths(dir).caCert, '-noout', '-text'])).stdout;
    expect(extension(caText, 'Basic Constraints')).toEqual({ header: 'X509v3 Basic Constraints: critical', value: 'CA:TRUE, pathlen:0' });
    expect(extension(caText, 'Key Usage')).toEqual({
      header: 'X509v3 Key Usage: critical',
      value: 'Digital Signature, Certificate Sign, CRL Sign',
    });
    expect(caText).toContain(`Signature Algorithm: ${SIGNATURE[keyAlgorithm]}`);
    const caSki = keyId(extension(caText, 'Subject Key Identifier')?.value);
    expect(caSki).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(keyId(extension(caText, 'Authority Key Identifier')?.value)).toBe(caSki);

    const { hostCerts, clientCerts } = leafFiles();
    for (const { cert, member } of hostCerts) {
      const text = (await openssl(['x509', '-in', cert, '-noout', '-text'])).stdout;
      const expectedSans = member.hosts
        .map((h) => (h.includes(':') ? `IP Address:${h === 'fd00::128' ? 'FD00:0:0:0:0:0:0:128' : h}` : /^[\d.]+$/.test(h) ? `IP Address:${h}` : `DNS:${h}`))
        .concat(['IP Address:127.0.0.1', 'DNS:localhost'])
        .join(', ');
      expect(extension(text, 'Subject Alternative Name')?.value).toBe(expectedSans);
      expect(extension(text, 'Extended Key Usage')?.value).toBe('TLS Web Server Authentication, TLS Web Client Authentication');
      expect(extension(text, 'Basic Constraints')).toEqual({ header: 'X509v3 Basic Constraints: critical', value: 'CA:FALSE' });
      expect(extension(text, 'Key Usage')?.value).toBe(
        keyAlgorithm.startsWith('rsa') ? 'Digital Signature, Key Encipherment' : 'Digital Signature',
      );
      expect(keyId(extension(text, 'Authority Key Identifier')?.value)).toBe(caSki);
      expect(keyId(extension(text, 'Subject Key Identifier')?.value)).not.toBe(caSki);
      expect(text).toContain(`Signature Algorithm: ${SIGNATURE[keyAlgorithm]}`);
      expect(text).toContain(`Subject: CN = ${member.name}`);
      expect(text).toContain('Issuer: CN = etcd-ca');
    }
    for (const { cert, name } of clientCerts) {
      const text = (await openssl(['x509', '-in', cert, '-noout', '-text'])).stdout;
      expect(extension(text, 'Extended Key Usage')?.value).toBe('TLS Web Client Authentication');
      expect(extension(text, 'Subject Alternative Name')).toBeUndefined();
      expect(text).toContain(`Subject: CN = ${name}`);
    }
  });

  it('the subject key identifier is computed exactly as openssl computes it', async () => {
    // openssl req -x509 derives the SKI of a self-signed cert from the key ("hash" method, RFC 5280 method 1).
    const reference = join(dir, 'reference.crt');
    const made = await openssl(['req', '-x509', '-new', '-key', pkiPaths(dir).caKey, '-subj', '/CN=ref', '-days', '1', '-out', reference]);
    expect(made.code).toBe(0);
    const refText = (await openssl(['x509', '-in', reference, '-noout', '-text'])).stdout;
    const ours = inspectCertificate(pki.ca.certPem).subjectKeyId;
    expect(keyId(extension(refText, 'Subject Key Identifier')?.value)?.replaceAll(':', '').toLowerCase()).toBe(ours);
  });

  it('openssl pkey -check accepts every private key (unencrypted PKCS#8)', async () => {
    const { hostCerts, clientCerts } = leafFiles();
    const keys = [pkiPaths(dir).caKey, ...hostCerts.map((c) => c.key), ...clientCerts.map((c) => c.key)];
    for (const key of keys) {
      const result = await openssl(['pkey', '-in', key, '-passin', 'pass:', '-check', '-noout']);
      expect({ key, ...result }).toMatchObject({ key, code: 0, stdout: 'Key is valid\n' });
    }
  });
});

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('openssl interop beyond the happy path', () => {
  it('a CA valid until 2060 and a leaf past 2050 verify in openssl', async () => {
    const ca = await createCA({ keyAlgorithm: 'ecdsa-p256', validityDays: 34 * 365 });
    const leaf = await signServerCert(ca, { commonName: 'far', hosts: ['10.0.0.1'], validityDays: 33 * 365 });
    const caFile = join(root, 'far-ca.crt');
    const leafFile = join(root, 'far-leaf.crt');
    await writeFile(caFile, ca.certPem);
    await writeFile(leafFile, leaf.certPem);
    expect(await openssl(['verify', '-x509_strict', '-CAfile', caFile, leafFile])).toMatchObject({ code: 0 });
    const end = (await openssl(['x509', '-in', caFile, '-noout', '-enddate'])).stdout;
    expect(end).toMatch(/^notAfter=.* 20(6\d) GMT\n$/);
    expect((await openssl(['x509', '-in', leafFile, '-noout', '-enddate'])).stdout).toMatch(/ 205\d GMT\n$/);
  });

  it.each([
    ['RSA, PKCS#1 key, cfssl-style subject', ['genrsa', '-traditional', '-out', 'KEY', '2048'], 'rsa-2048', 'BEGIN RSA PRIVATE KEY'],
    ['EC P-256, SEC1 key', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'KEY'], 'ecdsa-p256', 'BEGIN EC PRIVATE KEY'],
  ])('signs with an imported openssl CA (%s)', async (label, genArgs, keyAlgorithm, keyHeader) => {
    const dir = await mkdtemp(join(root, 'imported-'));
    const keyFile = join(dir, 'ca.key');
    const certFile = join(dir, 'ca.crt');
    expect((await openssl(genArgs.map((arg) => (arg === 'KEY' ? keyFile : arg)))).code).toBe(0);
    const subject = '/C=CN/ST=Beijing/L=Beijing/O=etcd/CN=etcd CA';
    expect((await openssl(['req', '-x509', '-new', '-key', keyFile, '-subj', subject, '-days', '3650', '-out', certFile])).code).toBe(0);
    const ca = { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
    expect(ca.keyPem, label).toContain(keyHeader);

    const caInfo = inspectCertificate(ca.certPem);
    expect(caInfo).toMatchObject({ isCA: true, keyAlgorithm, subject: { commonName: 'etcd CA', organizations: ['etcd'] } });

    const leaf = await signServerCert(ca, { commonName: 'etcd01', hosts: ['192.168.35.128'] });
    const leafFile = join(dir, 'server.crt');
    await writeFile(leafFile, leaf.certPem);
    // No -x509_strict here: openssl's own `req -x509` CA lacks keyUsage, which strict mode rejects (error 92).
    expect(await openssl(['verify', '-purpose', 'sslserver', '-CAfile', certFile, leafFile])).toMatchObject({
      code: 0,
      stdout: `${leafFile}: OK\n`,
    });
    const text = (await openssl(['x509', '-in', leafFile, '-noout', '-text'])).stdout;
    expect(text).toContain('Issuer: C = CN, ST = Beijing, L = Beijing, O = etcd, CN = etcd CA');
    expect(inspectCertificate(leaf.certPem).authorityKeyId).toBe(caInfo.subjectKeyId);
    expect(inspectCertificate(leaf.certPem).keyAlgorithm).toBe(keyAlgorithm); // leaf follows the CA's algorithm
  });
});

describe('mutual TLS between openssl s_server and s_client', () => {
  let dir: string;
  let otherDir: string;

  beforeAll(async () => {
    dir = join(root, 'mtls');
    otherDir = join(root, 'mtls-other');
    const members = [{ name: 'etcd01', hosts: ['127.0.0.1'] }];
    await writePkiDir(dir, await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members }));
    await writePkiDir(otherDir, await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members }));
  });


  /** One handshake: s_server demands a client cert from the PKI's CA; s_client checks the server's IP SAN. */
  async function handshake(clientDir: string, verifyIp: string) {
    const paths = pkiPaths(dir);
    const port = await freePort();
    const server = spawn('openssl', [
      's_server', '-accept', String(port), '-naccept', '1',
      '-cert', paths.member('etcd01').serverCert, '-key', paths.member('etcd01').serverKey,
      '-CAfile', paths.caCert, '-Verify', '1', '-verify_return_error',
    ]); // prettier-ignore
    let serverOut = '';
    let serverErr = '';
    server.stdout.on('data', (d) => {
      serverOut += d;
    });
    server.stderr.on('data', (d) => {
      serverErr += d;
    });
    const serverDone = new Promise<void>((resolve) => server.on('close', () => resolve()));
    try {
      for (let i = 0; i < 300 && !serverOut.includes('ACCEPT'); i++) await new Promise((r) => setTimeout(r, 50));
      const client = pkiPaths(clientDir).client('admin');
      const result = await openssl([
        's_client', '-connect', `127.0.0.1:${port}`, '-brief', '-verify_return_error', '-verify_ip', verifyIp,
        '-CAfile', paths.caCert, '-cert', client.cert, '-key', client.key,
      ]); // prettier-ignore
      await Promise.race([serverDone, new Promise((r) => setTimeout(r, 15_000))]);
      return { client: result, serverOut, serverErr };
    } finally {
      server.kill();
    }
  }

  it('completes with an issued server and client certificate, both verified', async () => {
    const { client, serverOut, serverErr } = await handshake(dir, '127.0.0.1');
    expect(client.code).toBe(0);
    expect(client.stderr).toContain('Verification: OK');
    expect(client.stderr).toContain('Peer certificate: CN = etcd01');
    expect(serverErr).toMatch(/depth=0 CN = admin\nverify return:1/);
    expect(serverOut).toContain('Client certificate');
  });

  it('the server refuses a client certificate from another CA', async () => {
    const { serverErr, serverOut } = await handshake(otherDir, '127.0.0.1');
    expect(serverErr).toMatch(/certificate verify failed|unable to get local issuer certificate/);
    expect(serverOut).not.toContain('Client certificate');
  });

  it('the client refuses the server certificate for an IP it does not carry', async () => {
    const { client } = await handshake(dir, '10.9.9.9');
    expect(client.code).not.toBe(0);
    expect(client.stdout + client.stderr).toMatch(/IP address mismatch/);
  });
});

describe('a CA rotation RSA-2048 → ECDSA-P256, checked by openssl', () => {
  let dir: string;
  let old: ClusterPki;
  const file = async (name: string, pem: string) => {
    const path = join(root, `rot-${name}`);
    await writeFile(path, pem);
    return path;
  };
  const verify = (caFile: string, cert: string, purpose: string) => openssl(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', caFile, cert]);


  /** One mutual-TLS handshake; each side trusts its own CA file. */
  async function handshake(server: { cert: string; key: string; trust: string }, client: { cert: string; key: string; trust: string }) {
    const port = await freePort();
    const child = spawn('openssl', [
      's_server', '-accept', String(port), '-naccept', '1', '-cert', server.cert, '-key', server.key,
      '-CAfile', server.trust, '-Verify', '1', '-verify_return_error',
    ]); // prettier-ignore
    let serverOut = '';
    child.stdout.on('data', (d) => {
      serverOut += d;
    });
    const serverDone = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      for (let i = 0; i < 300 && !serverOut.includes('ACCEPT'); i++) await new Promise((r) => setTimeout(r, 50));
      const result = await openssl([
        's_client', '-connect', `127.0.0.1:${port}`, '-brief', '-verify_return_error', '-verify_ip', '127.0.0.1',
        '-CAfile', client.trust, '-cert', client.cert, '-key', client.key,
      ]); // prettier-ignore
      await Promise.race([serverDone, new Promise((r) => setTimeout(r, 15_000))]);
      return { client: result, serverOut };
    } finally {
      child.kill();
    }
  }

  beforeAll(async () => {
    dir = join(root, 'rotation');
    old = await createClusterPki({ members: [{ name: 'etcd01', hosts: ['127.0.0.1'] }], keyAlgorithm: 'rsa-2048', clients: ['admin'] });
    await writePkiDir(dir, old);
  }, 60_000);

  it('old and new leaves verify against ca-bundle.crt while both are in use; only new ones against the new CA', async () => {
    const paths = pkiPaths(dir);
    const oldServer = { cert: await file('old-server.crt', old.members.etcd01!.server.certPem), key: await file('old-server.key', old.members.etcd01!.server.keyPem) };
    const oldAdmin = { cert: await file('old-admin.crt', old.clients.admin!.certPem), key: await file('old-admin.key', old.clients.admin!.keyPem) };

    await beginCaRotation(dir, { keyAlgorithm: 'ecdsa-p256' });
    expect(await verify(paths.caBundle, oldServer.cert, 'sslserver')).toMatchObject({ code: 0 });
    await markCaRotationMemberDone(dir, 'trust-both', 'etcd01');
    await advanceCaRotation(dir, { members: ['etcd01'] });

    // new-leaves: the same names on two different CAs with the same subject; openssl picks the right one.
    const bundle = paths.caBundle;
    const newServer = { cert: paths.member('etcd01').serverCert, key: paths.member('etcd01').serverKey };
    const newAdmin = paths.client('admin');
    expect(await verify(bundle, newServer.cert, 'sslserver')).toMatchObject({ code: 0 });
    expect(await verify(bundle, oldServer.cert, 'sslserver')).toMatchObject({ code: 0 });
    expect(await verify(bundle, newAdmin.cert, 'sslclient')).toMatchObject({ code: 0 });
    expect(await verify(bundle, oldAdmin.cert, 'sslclient')).toMatchObject({ code: 0 });
    expect((await verify(paths.caNextCert, oldServer.cert, 'sslserver')).code).not.toBe(0);
    // A member restarted with a new leaf and a client still on its old certificate, both trusting the bundle.
    const mixed = await handshake({ ...newServer, trust: bundle }, { ...oldAdmin, trust: bundle });
    expect(mixed.client.code).toBe(0);
    expect(mixed.client.stderr).toContain('Verification: OK');
    expect(mixed.serverOut).toContain('Client certificate');
    const reverse = await handshake({ ...oldServer, trust: bundle }, { ...newAdmin, trust: bundle });
    expect(reverse.client.code).toBe(0);

    // drop-old: a member trusting the new CA only still accepts the new client certificate.
    await markCaRotationMemberDone(dir, 'new-leaves', 'etcd01');
    const dropping = await advanceCaRotation(dir, { members: ['etcd01'] });
    const memberTrust = await file('member-trust.crt', memberTrustedCaPem(dropping.phase, { oldCaPem: old.ca.certPem, newCaPem: await readFile(paths.caNextCert, 'utf8') }));
    const dropped = await handshake({ ...newServer, trust: memberTrust }, { ...newAdmin, trust: bundle });
    expect(dropped.client.code).toBe(0);
    const stale = await handshake({ ...newServer, trust: memberTrust }, { ...oldAdmin, trust: bundle });
    expect(stale.serverOut).not.toContain('Client certificate');

    // done: ca.crt is the new CA alone.
    await markCaRotationMemberDone(dir, 'drop-old', 'etcd01');
    const done = await advanceCaRotation(dir, { members: ['etcd01'] });
    for (const cert of [newServer.cert, paths.member('etcd01').peerCert]) {
      expect(await verify(paths.caCert, cert, 'sslserver')).toMatchObject({ code: 0, stdout: `${cert}: OK\n` });
    }
    expect(await verify(paths.caBundle, newAdmin.cert, 'sslclient')).toMatchObject({ code: 0 });
    expect((await verify(paths.caBundle, oldServer.cert, 'sslserver')).code).not.toBe(0);
    expect(await verify(join(dir, done.retiredDir!, 'ca.crt'), oldServer.cert, 'sslserver')).toMatchObject({ code: 0 });
    expect(inspectCertificate(await readFile(paths.caCert, 'utf8')).signatureAlgorithm).toBe('ecdsa-with-SHA256');
  }, 120_000);
});
