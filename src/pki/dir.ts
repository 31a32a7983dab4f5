/**
 * The PKI directory on the controller: layout, atomic writes with tight modes, and a validating reader.
 * @module
 */
import { type X509Certificate, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { parseCertificateDer } from './certificate-parse.js';
import { SAFE_NAME, checkSafeName } from './options.js';
import { loadCertificate, loadPrivateKey } from './pem.js';
import type { ClusterPki, IssuedCertificate } from './types.js';

/** Mode of private key files: owner read/write only. */
export const KEY_FILE_MODE = 0o600;
/** Mode of certificate files: public data. */
export const CERT_FILE_MODE = 0o644;
/** Mode of every directory of the PKI dir. */
export const DIR_MODE = 0o700;

/** File modes {@link writePkiDir} sets: keys 0600, certificates 0644, directories 0700. */
export const PKI_FILE_MODES = Object.freeze({
  /** Private key files: 0600. */
  key: KEY_FILE_MODE,
  /** Certificate files: 0644. */
  cert: CERT_FILE_MODE,
  /** Directories: 0700. */
  dir: DIR_MODE,
});

/** Files of one member in the PKI dir. */
export interface MemberPaths {
  /** `<dir>/members/<name>` */
  dir: string;
  /** `server.crt`: client-listener certificate (etcd `--cert-file`). */
  serverCert: string;
  /** `server.key` (etcd `--key-file`). */
  serverKey: string;
  /** `peer.crt`: peer-listener certificate (etcd `--peer-cert-file`). */
  peerCert: string;
  /** `peer.key` (etcd `--peer-key-file`). */
  peerKey: string;
}

/** Files of one client in the PKI dir. */
export interface ClientPaths {
  /** `<dir>/clients/<name>.crt` */
  cert: string;
  /** `<dir>/clients/<name>.key` */
  key: string;
}

/** The documented PKI dir layout (see {@link writePkiDir}) as absolute or dir-relative paths. */
export interface PkiPaths {
  /** The PKI dir itself. */
  root: string;
  /** `<dir>/ca.crt` (etcd `--trusted-ca-file` and `--peer-trusted-ca-file`). */
  caCert: string;
  /** `<dir>/ca.key`: stays on the controller, never shipped to a member. */
  caKey: string;
  /** `<dir>/members` */
  membersDir: string;
  /** `<dir>/clients` */
  clientsDir: string;
  /** Paths of member `name` (a safe name; PKI_INVALID_INPUT otherwise). */
  member(name: string): MemberPaths;
  /** Paths of client `name` (a safe name; PKI_INVALID_INPUT otherwise). */
  client(name: string): ClientPaths;
}

/**
 * The paths of the PKI dir layout rooted at `dir`.
 * @example
 * ```ts
 * const paths = pkiPaths('/etc/etcd-kit/pki');
 * paths.member('etcd01').serverCert; // '/etc/etcd-kit/pki/members/etcd01/server.crt'
 * ```
 */
export function pkiPaths(dir: string): PkiPaths {
  const membersDir = join(dir, 'members');
  const clientsDir = join(dir, 'clients');
  return {
    root: dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    membersDir,
    clientsDir,
    member(name) {
      const memberDir = join(membersDir, checkSafeName(name, 'name'));
      return {
        dir: memberDir,
        serverCert: join(memberDir, 'server.crt'),
        serverKey: join(memberDir, 'server.key'),
        peerCert: join(memberDir, 'peer.crt'),
        peerKey: join(memberDir, 'peer.key'),
      };
    },
    client(name) {
      const base = join(clientsDir, checkSafeName(name, 'name'));
      return { cert: `${base}.crt`, key: `${base}.key` };
    },
  };
}

const ioError = (message: string, path: string, cause?: unknown) =>
  new EtcdKitError('PKI_IO', `${message}: ${path}`, { details: { path }, cause });

async function makeDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: DIR_MODE });
    await chmod(path, DIR_MODE); // mkdir's mode is masked by umask and ignored for existing dirs
  } catch (cause) {
    throw ioError('cannot create directory', path, cause);
  }
}

/** Writes `data` to a temporary file beside `path` with `mode` (umask-proof), fsyncs it, renames it over `path`. */
async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    await unlink(temp).catch(() => {});
    throw ioError('cannot write file', path, cause);
  }
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  await handle?.sync().catch(() => {}); // best effort: some filesystems refuse fsync on directories
  await handle?.close();
}

/** Refuses to write a private key into a world-readable .crt file because of swapped fields. */
function checkPemKinds(pair: IssuedCertificate, field: string): void {
  if (typeof pair?.certPem !== 'string' || !pair.certPem.includes('-----BEGIN CERTIFICATE-----') || /PRIVATE KEY-----/.test(pair.certPem)) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field}.certPem must hold only a PEM certificate`, {
      field: `${field}.certPem`,
    });
  }
  if (typeof pair.keyPem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pair.keyPem)) {
    throw new EtcdKitError('PKI_MALFORMED_PEM', `${field}.keyPem must hold a PEM private key`, { field: `${field}.keyPem` });
  }
}

/**
 * Writes a {@link ClusterPki} to `dir` in this layout (the reverse of {@link readPkiDir}):
 *
 * ```text
 * <dir>/                     0700
 *   ca.crt                   0644  CA certificate
 *   ca.key                   0600  CA private key (stays on the controller)
 *   members/<name>/          0700
 *     server.crt, server.key        client-listener cert (--cert-file / --key-file)
 *     peer.crt,   peer.key          peer-listener cert (--peer-cert-file / --peer-key-file)
 *   clients/                 0700
 *     <name>.crt, <name>.key        client certs (etcdctl, kube-apiserver)
 * ```
 *
 * Keys are 0600, certificates 0644, directories 0700 regardless of umask. Each file is written to a
 * temporary file in the same directory, fsynced and renamed into place, so a crash never leaves a
 * half-written key; existing files are replaced, files not in `pki` are left alone.
 *
 * @throws EtcdKitError PKI_IO (with `details.path`), PKI_INVALID_INPUT for unsafe member/client names,
 * PKI_MALFORMED_PEM when a certPem/keyPem does not hold what its name says.
 * @example
 * ```ts
 * await writePkiDir('./pki', await createClusterPki({ members }));
 * ```
 */
export async function writePkiDir(dir: string, pki: ClusterPki): Promise<void> {
  const paths = pkiPaths(dir);
  const files: { path: string; data: string; mode: number }[] = [];
  const addPair = (pair: IssuedCertificate, field: string, cert: string, key: string) => {
    checkPemKinds(pair, field);
    files.push({ path: cert, data: pair.certPem, mode: CERT_FILE_MODE }, { path: key, data: pair.keyPem, mode: KEY_FILE_MODE });
  };
  addPair(pki.ca, 'ca', paths.caCert, paths.caKey);
  const memberDirs: string[] = [];
  for (const [name, member] of Object.entries(pki.members)) {
    const mp = paths.member(checkSafeName(name, `members.${name}`));
    memberDirs.push(mp.dir);
    addPair(member.server, `members.${name}.server`, mp.serverCert, mp.serverKey);
    addPair(member.peer, `members.${name}.peer`, mp.peerCert, mp.peerKey);
  }
  for (const [name, client] of Object.entries(pki.clients)) {
    const cp = paths.client(checkSafeName(name, `clients.${name}`));
    addPair(client, `clients.${name}`, cp.cert, cp.key);
  }

  const dirs = [dir, paths.membersDir, paths.clientsDir, ...memberDirs];
  for (const path of dirs) await makeDir(path);
  await Promise.all(files.map((file) => writeFileAtomic(file.path, file.data, file.mode)));
  await Promise.all(dirs.map(syncDir));
}

/** Options of {@link readPkiDir}. */
export interface ReadPkiDirOptions {
  /**
   * Key files readable by group or others are refused with PKI_INSECURE_PERMISSIONS (like ssh refusing an
   * unprotected key). When true, they are chmod-ed to 0600 instead. Default: false.
   */
  fixPermissions?: boolean;
}

interface Reader {
  dir: string;
  fixPermissions: boolean;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw ioError(missing ? 'missing file' : 'cannot read file', path, cause);
  }
}

async function readKey(reader: Reader, path: string): Promise<string> {
  const text = await readText(path);
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    if (!reader.fixPermissions) {
      const octal = `0${mode.toString(8)}`;
      throw new EtcdKitError(
        'PKI_INSECURE_PERMISSIONS',
        `private key ${path} is accessible by group/others (mode ${octal}); run chmod 600 or pass fixPermissions`,
        { field: relative(reader.dir, path), details: { path, mode: octal } },
      );
    }
    await chmod(path, KEY_FILE_MODE).catch((cause) => {
      throw ioError('cannot chmod key file', path, cause);
    });
  }
  return text;
}

async function listDir(path: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return []; // no members/ or clients/: none
    throw ioError('cannot list directory', path, cause);
  }
}

/** A client's credentials read by {@link readPkiClient}: what `EtcdTlsOptions` takes. */
export interface PkiClientCredentials {
  /** `ca.crt`, PEM. */
  caPem: string;
  /** `clients/<name>.crt`, PEM. */
  certPem: string;
  /** `clients/<name>.key`, PEM. */
  keyPem: string;
}

/**
 * Reads only what a client of the cluster needs from a PKI dir: `ca.crt`, `clients/<name>.crt` and
 * `clients/<name>.key`, checked as {@link readPkiDir} checks them (the key belongs to the certificate, the
 * certificate was issued by the CA, the key is not readable by group/others). Unlike readPkiDir it needs
 * neither `ca.key` nor the members' keys, so a backup job can run from a dir holding those three files only.
 *
 * @throws EtcdKitError PKI_IO (missing/unreadable file, `details.path`), PKI_INSECURE_PERMISSIONS,
 * PKI_MALFORMED_PEM, PKI_KEY_MISMATCH, PKI_CHAIN_INVALID; `field` is the file path relative to `dir`.
 */
export async function readPkiClient(dir: string, name: string, opts: ReadPkiDirOptions = {}): Promise<PkiClientCredentials> {
  const reader: Reader = { dir, fixPermissions: opts.fixPermissions ?? false };
  const paths = pkiPaths(dir);
  const client = paths.client(name);
  const caPem = await readText(paths.caCert);
  const pair = { certPem: await readText(client.cert), keyPem: await readKey(reader, client.key) };
  checkLeaf(reader, loadCertificate(caPem, 'ca.crt').x509, pair, client.cert, client.key);
  return { caPem, ...pair };
}

/** Checks one leaf pair against the CA; errors name the file relative to the PKI dir. */
function checkLeaf(reader: Reader, ca: X509Certificate, pair: IssuedCertificate, certPath: string, keyPath: string): void {
  const certField = relative(reader.dir, certPath);
  const keyField = relative(reader.dir, keyPath);
  const cert = loadCertificate(pair.certPem, certField).x509;
  const key = loadPrivateKey(pair.keyPem, keyField);
  if (!cert.checkPrivateKey(key)) {
    throw new EtcdKitError('PKI_KEY_MISMATCH', `${keyPath} does not belong to ${certPath}`, {
      field: keyField,
      details: { path: keyPath },
    });
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new EtcdKitError('PKI_CHAIN_INVALID', `${certPath} was not issued by the CA in ca.crt`, {
      field: certField,
      details: { path: certPath },
    });
  }
}

/**
 * Reads a PKI dir written by {@link writePkiDir} and checks it: the CA certificate is a CA and `ca.key`
 * belongs to it; every leaf key belongs to its certificate (PKI_KEY_MISMATCH) and every leaf was issued
 * and signed by the CA (PKI_CHAIN_INVALID). Expiry is not checked here (expired certificates must stay
 * readable to be renewed): use {@link verifyCertificate} or {@link inspectCertificate}.
 * Missing `members/` or `clients/` directories mean none; files outside the layout are ignored.
 *
 * @throws EtcdKitError PKI_IO (missing/unreadable file, `details.path`), PKI_INSECURE_PERMISSIONS (key file
 * readable by group/others), PKI_MALFORMED_PEM, PKI_NOT_A_CA, PKI_KEY_MISMATCH, PKI_CHAIN_INVALID; `field`
 * is the file path relative to `dir`, e.g. `members/etcd01/peer.key`.
 */
export async function readPkiDir(dir: string, opts: ReadPkiDirOptions = {}): Promise<ClusterPki> {
  const reader: Reader = { dir, fixPermissions: opts.fixPermissions ?? false };
  const paths = pkiPaths(dir);
  const ca = { certPem: await readText(paths.caCert), keyPem: await readKey(reader, paths.caKey) };
  const caCert = loadCertificate(ca.certPem, 'ca.crt');
  if (!parseCertificateDer(caCert.der).basicConstraints?.isCA) {
    throw new EtcdKitError('PKI_NOT_A_CA', `${paths.caCert} is not a CA certificate`, {
      field: 'ca.crt',
      details: { path: paths.caCert },
    });
  }
  if (!caCert.x509.checkPrivateKey(loadPrivateKey(ca.keyPem, 'ca.key'))) {
    throw new EtcdKitError('PKI_KEY_MISMATCH', `${paths.caKey} does not belong to ${paths.caCert}`, {
      field: 'ca.key',
      details: { path: paths.caKey },
    });
  }

  const readPair = async (certPath: string, keyPath: string): Promise<IssuedCertificate> => {
    const pair = { certPem: await readText(certPath), keyPem: await readKey(reader, keyPath) };
    checkLeaf(reader, caCert.x509, pair, certPath, keyPath);
    return pair;
  };

  const members: ClusterPki['members'] = {};
  for (const entry of await listDir(paths.membersDir)) {
    if (!entry.isDirectory || !SAFE_NAME.test(entry.name)) continue;
    const mp = paths.member(entry.name);
    members[entry.name] = {
      server: await readPair(mp.serverCert, mp.serverKey),
      peer: await readPair(mp.peerCert, mp.peerKey),
    };
  }

  const clients: ClusterPki['clients'] = {};
  const clientNames = new Set<string>();
  for (const entry of await listDir(paths.clientsDir)) {
    const match = /^(.+)\.(crt|key)$/.exec(entry.name);
    if (!entry.isDirectory && match && SAFE_NAME.test(match[1]!)) clientNames.add(match[1]!);
  }
  for (const name of [...clientNames].sort()) {
    const cp = paths.client(name);
    clients[name] = await readPair(cp.cert, cp.key);
  }
  return { ca, members, clients };
}
