import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterPki,
  PKI_FILE_MODES,
  createClusterPki,
  pkiPaths,
  readPkiClient,
  readPkiDir,
  writePkiDir,
} from '../../src/pki/index.js';
import { expectPkiError } from './helpers.js';

let root: string;
let pki: ClusterPki;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etcd-kit-pki-dir-'));
  pki = await createClusterPki({
    keyAlgorithm: 'ecdsa-p256',
    members: [
      { name: 'etcd01', hosts: ['10.0.0.1'] },
      { name: 'etcd02', hosts: ['10.0.0.2'] },
    ],
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh PKI dir with `pki` written to it. */
async function freshDir(content: ClusterPki = pki): Promise<string> {
  const dir = join(root, `pki-${++counter}`);
  await writePkiDir(dir, content);
  return dir;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('pkiPaths', () => {
  it('describes the documented layout', () => {
    const paths = pkiPaths('/srv/pki');
    expect(paths).toMatchObject({
      root: '/srv/pki',
      caCert: '/srv/pki/ca.crt',
      caKey: '/srv/pki/ca.key',
      membersDir: '/srv/pki/members',
      clientsDir: '/srv/pki/clients',
    });
    expect(paths.member('etcd01')).toEqual({
      dir: '/srv/pki/members/etcd01',
      serverCert: '/srv/pki/members/etcd01/server.crt',
      serverKey: '/srv/pki/members/etcd01/server.key',
      peerCert: '/srv/pki/members/etcd01/peer.crt',
      peerKey: '/srv/pki/members/etcd01/peer.key',
    });
    expect(paths.client('admin')).toEqual({ cert: '/srv/pki/clients/admin.crt', key: '/srv/pki/clients/admin.key' });
    expect(() => paths.member('../etc')).toThrow(/name/);
    expect(() => paths.client('a/b')).toThrow(/name/);
  });
});

describe('writePkiDir', () => {
  it('writes every file with keys 0600, certs 0644, dirs 0700, even under umask 0', async () => {
    const previous = process.umask(0);
    let dir: string;
    try {
      dir = await freshDir();
    } finally {
      process.umask(previous);
    }
    const paths = pkiPaths(dir);
    expect(PKI_FILE_MODES).toEqual({ key: 0o600, cert: 0o644, dir: 0o700 });
    for (const d of [dir, paths.membersDir, paths.clientsDir, paths.member('etcd01').dir, paths.member('etcd02').dir]) {
      expect(await mode(d)).toBe(0o700);
    }
    const keys = [paths.caKey, paths.client('admin').key, paths.client('kube-apiserver').key];
    const certs = [paths.caCert, paths.caBundle, paths.client('admin').cert, paths.client('kube-apiserver').cert];
    for (const name of ['etcd01', 'etcd02']) {
      const m = paths.member(name);
      keys.push(m.serverKey, m.peerKey);
      certs.push(m.serverCert, m.peerCert);
    }
    for (const key of keys) expect(await mode(key)).toBe(0o600);
    for (const cert of certs) expect(await mode(cert)).toBe(0o644);
    expect(await readFile(paths.member('etcd02').peerKey, 'utf8')).toBe(pki.members.etcd02!.peer.keyPem);
    expect(await readFile(paths.caCert, 'utf8')).toBe(pki.ca.certPem);
    // ca-bundle.crt (what clients trust) is ca.crt when no CA rotation is under way.
    expect(await readFile(paths.caBundle, 'utf8')).toBe(pki.ca.certPem);
    // Nothing but the layout: no temp files left behind.
    expect((await readdir(dir)).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'clients', 'members']);
    expect((await readdir(paths.member('etcd01').dir)).sort()).toEqual(['peer.crt', 'peer.key', 'server.crt', 'server.key']);
    expect((await readdir(paths.clientsDir)).sort()).toEqual(['admin.crt', 'admin.key', 'kube-apiserver.crt', 'kube-apiserver.key']);
  });

  it('tightens an existing dir and replaces existing files', async () => {
    const dir = join(root, `pki-${++counter}`);
    await mkdir(join(dir, 'members'), { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'ca.key'), 'old', { mode: 0o644 });
    await writePkiDir(dir, pki);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, 'members'))).toBe(0o700);
    expect(await mode(join(dir, 'ca.key'))).toBe(0o600);
    expect(await readFile(join(dir, 'ca.key'), 'utf8')).toBe(pki.ca.keyPem);
  });

  it('refuses swapped certPem/keyPem before writing anything (a key must never land in a 0644 file)', async () => {
    const dir = join(root, `pki-${++counter}`);
    const swapped = { ...pki, clients: { admin: { certPem: pki.clients.admin!.keyPem, keyPem: pki.clients.admin!.certPem } } };
    await expectPkiError(writePkiDir(dir, swapped), 'PKI_MALFORMED_PEM', 'clients.admin.certPem');
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('refuses unsafe member names', async () => {
    const evil = { ...pki, members: { '../../x': pki.members.etcd01! } };
    await expectPkiError(writePkiDir(join(root, 'evil'), evil), 'PKI_INVALID_INPUT', 'members.../../x');
    await expect(stat(join(root, 'evil'))).rejects.toThrow(/ENOENT/);
  });

  it('reports an unwritable location as PKI_IO with the path', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, '');
    const error = await expectPkiError(writePkiDir(join(file, 'pki'), pki), 'PKI_IO');
    expect(error.details?.path).toBe(join(file, 'pki'));
  });
});

describe('readPkiDir', () => {
  it('round-trips what writePkiDir wrote', async () => {
    const dir = await freshDir();
    expect(await readPkiDir(dir)).toEqual(pki);
  });

  it('ignores temp files and unknown entries; missing members/ and clients/ mean none', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'members', '.etcd01.tmp'), 'x');
    await writeFile(join(dir, 'README'), 'x');
    expect(await readPkiDir(dir)).toEqual(pki);
    await rm(join(dir, 'members'), { recursive: true });
    await rm(join(dir, 'clients'), { recursive: true });
    expect(await readPkiDir(dir)).toEqual({ ca: pki.ca, members: {}, clients: {} });
  });

  it('missing files → PKI_IO naming the path', async () => {
    const dir = await freshDir();
    const peerKey = pkiPaths(dir).member('etcd02').peerKey;
    await unlink(peerKey);
    const error = await expectPkiError(readPkiDir(dir), 'PKI_IO');
    expect(error.details?.path).toBe(peerKey);
    expect(error.message).toContain(peerKey);

    const adminCert = pkiPaths(dir).client('admin').cert;
    await writeFile(peerKey, pki.members.etcd02!.peer.keyPem, { mode: 0o600 });
    await unlink(adminCert);
    expect((await expectPkiError(readPkiDir(dir), 'PKI_IO')).details?.path).toBe(adminCert);

    await expectPkiError(readPkiDir(join(root, 'does-not-exist')), 'PKI_IO');
  });

  it('a key swapped between certificates → PKI_KEY_MISMATCH naming the key file', async () => {
    const dir = await freshDir();
    const m = pkiPaths(dir).member('etcd01');
    await writeFile(m.serverKey, pki.members.etcd01!.peer.keyPem);
    const error = await expectPkiError(readPkiDir(dir), 'PKI_KEY_MISMATCH', 'members/etcd01/server.key');
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  it('a CA key that does not match → PKI_KEY_MISMATCH on ca.key', async () => {
    const dir = await freshDir();
    await writeFile(pkiPaths(dir).caKey, pki.clients.admin!.keyPem);
    await expectPkiError(readPkiDir(dir), 'PKI_KEY_MISMATCH', 'ca.key');
  });

  it('a certificate from another CA → PKI_CHAIN_INVALID naming the cert file', async () => {
    const other = await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members: [{ name: 'etcd01', hosts: ['10.0.0.1'] }] });
    const dir = await freshDir();
    const { cert, key } = pkiPaths(dir).client('admin');
    await writeFile(cert, other.clients.admin!.certPem);
    await writeFile(key, other.clients.admin!.keyPem);
    await expectPkiError(readPkiDir(dir), 'PKI_CHAIN_INVALID', 'clients/admin.crt');

    // Same subject name, different CA key: the name matches but the signature does not.
    const forged = await freshDir({ ...other, ca: { ...other.ca } });
    await writeFile(pkiPaths(forged).caCert, pki.ca.certPem);
    await writeFile(pkiPaths(forged).caKey, pki.ca.keyPem);
    await expectPkiError(readPkiDir(forged), 'PKI_CHAIN_INVALID', 'members/etcd01/server.crt');
  });

  it('a leaf certificate as ca.crt → PKI_NOT_A_CA; garbage → PKI_MALFORMED_PEM', async () => {
    const dir = await freshDir();
    await writeFile(pkiPaths(dir).caCert, pki.clients.admin!.certPem);
    await writeFile(pkiPaths(dir).caKey, pki.clients.admin!.keyPem);
    await expectPkiError(readPkiDir(dir), 'PKI_NOT_A_CA', 'ca.crt');

    const dir2 = await freshDir();
    await writeFile(pkiPaths(dir2).member('etcd02').serverCert, 'garbage');
    await expectPkiError(readPkiDir(dir2), 'PKI_MALFORMED_PEM', 'members/etcd02/server.crt');
  });

  it('group/world-readable key files → PKI_INSECURE_PERMISSIONS, or fixed to 0600 with fixPermissions', async () => {
    const dir = await freshDir();
    const key = pkiPaths(dir).member('etcd02').serverKey;
    await chmod(key, 0o644);
    const error = await expectPkiError(readPkiDir(dir), 'PKI_INSECURE_PERMISSIONS', 'members/etcd02/server.key');
    expect(error.details).toEqual({ path: key, mode: '0644' });
    expect(await mode(key)).toBe(0o644); // reading alone changes nothing

    await chmod(pkiPaths(dir).caKey, 0o640);
    expect(await readPkiDir(dir, { fixPermissions: true })).toEqual(pki);
    expect(await mode(key)).toBe(0o600);
    expect(await mode(pkiPaths(dir).caKey)).toBe(0o600);
  });
});

describe('readPkiClient', () => {
  /** A dir holding only ca.crt and the admin pair (what a backup job needs), as writePkiDir wrote them. */
  async function clientOnlyDir(): Promise<string> {
    const dir = await freshDir();
    const paths = pkiPaths(dir);
    await unlink(paths.caKey);
    await rm(paths.membersDir, { recursive: true });
    await unlink(paths.client('kube-apiserver').key);
    return dir;
  }

  it("reads ca.crt and one client's pair from a dir without ca.key or member keys", async () => {
    const dir = await clientOnlyDir();
    expect(await readPkiClient(dir, 'admin')).toEqual({ caPem: pki.ca.certPem, certPem: pki.clients.admin!.certPem, keyPem: pki.clients.admin!.keyPem });
    // readPkiDir needs the whole PKI.
    await expectPkiError(readPkiDir(dir), 'PKI_IO');
  });

  it('checks what it reads: missing file, group-readable key, key of another cert, cert of another CA', async () => {
    const missing = await clientOnlyDir();
    await expectPkiError(readPkiClient(missing, 'kube-apiserver'), 'PKI_IO');
    const open = await clientOnlyDir();
    await chmod(pkiPaths(open).client('admin').key, 0o640);
    await expectPkiError(readPkiClient(open, 'admin'), 'PKI_INSECURE_PERMISSIONS', 'clients/admin.key');
    const swapped = await clientOnlyDir();
    await writeFile(pkiPaths(swapped).client('admin').key, pki.members.etcd01!.peer.keyPem, { mode: 0o600 });
    await expectPkiError(readPkiClient(swapped, 'admin'), 'PKI_KEY_MISMATCH', 'clients/admin.key');
    const other = await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members: [{ name: 'etcd01', hosts: ['10.0.0.1'] }] });
    const foreign = await clientOnlyDir();
    await writeFile(pkiPaths(foreign).client('admin').cert, other.clients.admin!.certPem);
    await writeFile(pkiPaths(foreign).client('admin').key, other.clients.admin!.keyPem, { mode: 0o600 });
    await expectPkiError(readPkiClient(foreign, 'admin'), 'PKI_CHAIN_INVALID', 'clients/admin.crt');
  });
});
