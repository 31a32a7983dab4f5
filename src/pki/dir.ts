/**
 * The PKI directory on the controller: layout, atomic writes with tight modes, and a validating reader.
 * @module
 */
import type { X509Certificate } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { parseCertificateDer } from './certificate-parse.js';
import {
  CERT_FILE_MODE,
  DIR_MODE,
  KEY_FILE_MODE,
  ioError,
  makeDir,
  readKeyFile,
  readText,
  readTextIfExists,
  syncDir,
  writeFileAtomic,
  writeFilesAtomic,
} from './files.js';
import { SAFE_NAME, checkSafeName } from './options.js';
import { loadCertificate, loadPrivateKey } from './pem.js';
import {
  type CaRotationState,
  ROTATION_STATE_FILE,
  type RotationCa,
  caBundlePem,
  caRotationRules,
  isRotating,
  readCaRotationState,
} from './rotation-state.js';
import type { CertificateAuthority, ClusterPki, IssuedCertificate } from './types.js';
import { signedBy } from './verify.js';

export { CERT_FILE_MODE, DIR_MODE, KEY_FILE_MODE } from './files.js';

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
  /**
   * `<dir>/ca-bundle.crt`: every CA a client must trust right now (the CA alone, or old + new during a CA
   * rotation). Point clients (etcdctl `--cacert`, kube-apiserver `--etcd-cafile`) here.
   */
  caBundle: string;
  /** `<dir>/ca.next.crt`: the new CA during a CA rotation. */
  caNextCert: string;
  /** `<dir>/ca.next.key`: its key (0600) during a CA rotation. */
  caNextKey: string;
  /** `<dir>/rotation.json`: the record of a CA rotation (0600), see {@link CaRotationState}. */
  rotationState: string;
  /** `<dir>/retired`: one folder per retired CA, `<UTC stamp>-<fingerprint prefix>/ca.crt` and `ca.key`. */
  retiredDir: string;
  /**
   * `<dir>/.etcd-kit.lock`: present (0600) while a mutating operation (deploy, restore, ...) runs from this
   * dir, holding `{ pid, hostname, operation, startedAt }`; see {@link acquirePkiLock}. The readers ignore it.
   */
  lock: string;
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
    caBundle: join(dir, 'ca-bundle.crt'),
    caNextCert: join(dir, 'ca.next.crt'),
    caNextKey: join(dir, 'ca.next.key'),
    rotationState: join(dir, ROTATION_STATE_FILE),
    retiredDir: join(dir, 'retired'),
    lock: join(dir, '.etcd-kit.lock'),
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
 *   ca-bundle.crt            0644  CAs clients trust: = ca.crt (old + new during a CA rotation)
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
 * `ca-bundle.crt` is written as a copy of `ca.crt`, except while a CA rotation is under way
 * (`rotation.json`, see {@link etcd-kit/pki!beginCaRotation | beginCaRotation}): the rotation owns the bundle then and it is left alone.
 *
 * @throws EtcdKitError PKI_IO (with `details.path`), PKI_INVALID_INPUT for unsafe member/client names,
 * PKI_MALFORMED_PEM when a certPem/keyPem does not hold what its name says.
 * @example
 * ```ts
 * await writePkiDir('./pki', await createClusterPki({ members }));
 * ```
 * @category PKI
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
  if (!isRotating(await readCaRotationState(dir))) files.push({ path: paths.caBundle, data: pki.ca.certPem, mode: CERT_FILE_MODE });
  // Each certificate before its key, all renamed back to back: a client reading its pair never gets a mix.
  await writeFilesAtomic(files);
  await Promise.all(dirs.map(syncDir));
}

/**
 * Makes `<dir>/ca-bundle.crt` a copy of `ca.crt` when it is missing or differs, so clients can always point
 * at the bundle (PKI dirs written before the bundle existed get one). During a CA rotation the bundle
 * belongs to the rotation and is left alone. Resolves to true when it wrote the file.
 * @throws EtcdKitError PKI_IO (`details.path`), PKI_ROTATION_STATE_INVALID (damaged `rotation.json`).
 */
export async function ensureCaBundle(dir: string): Promise<boolean> {
  const paths = pkiPaths(dir);
  if (isRotating(await readCaRotationState(dir))) return false;
  const ca = await readText(paths.caCert);
  if ((await readTextIfExists(paths.caBundle)) === ca) return false;
  await writeFileAtomic(paths.caBundle, ca, CERT_FILE_MODE);
  return true;
}

/**
 * Options of {@link readPkiDir}.
 * @category PKI
 */
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

const readKey = (reader: Reader, path: string) => readKeyFile(path, reader.dir, reader.fixPermissions);

async function listDir(path: string): Promise<{ name: string; isDirectory: boolean }[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return []; // no members/ or clients/: none
    throw ioError('cannot list directory', path, cause);
  }
}

/**
 * A client's credentials read by {@link readPkiClient}: what `EtcdTlsOptions` takes.
 * @category PKI
 */
export interface PkiClientCredentials {
  /** The CAs to trust, PEM: `ca.crt`, plus the next CA during a rotation (what `ca-bundle.crt` holds). */
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
 * @category PKI
 */
export async function readPkiClient(dir: string, name: string, opts: ReadPkiDirOptions = {}): Promise<PkiClientCredentials> {
  const reader: Reader = { dir, fixPermissions: opts.fixPermissions ?? false };
  const paths = pkiPaths(dir);
  const client = paths.client(name);
  const caPem = await readText(paths.caCert);
  // Mid-rotation the client pair may come from the next CA already, and a client must trust both.
  const nextPem = await readTextIfExists(paths.caNextCert);
  const issuers: AcceptedIssuer[] = [
    { x509: loadCertificate(caPem, 'ca.crt').x509, file: 'ca.crt' },
    ...(nextPem ? [{ x509: loadCertificate(nextPem, 'ca.next.crt').x509, file: 'ca.next.crt' }] : []),
  ];
  const pair = { certPem: await readText(client.cert), keyPem: await readKey(reader, client.key) };
  checkLeaf(reader, issuers, pair, client.cert, client.key);
  return { caPem: nextPem ? `${caPem.trimEnd()}\n${nextPem}` : caPem, ...pair };
}

/** A CA a leaf may be issued by, with the file it lives in (for messages). */
interface AcceptedIssuer {
  x509: X509Certificate;
  file: string;
}

/** Checks one leaf pair against the accepted CAs; errors name the file relative to the PKI dir. */
function checkLeaf(reader: Reader, issuers: AcceptedIssuer[], pair: IssuedCertificate, certPath: string, keyPath: string): void {
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
  if (!issuers.some((ca) => signedBy(cert, ca.x509))) {
    const names = issuers.map((ca) => ca.file).join(' or ');
    throw new EtcdKitError('PKI_CHAIN_INVALID', `${certPath} was not issued by the CA in ${names}`, {
      field: certField,
      details: { path: certPath },
    });
  }
}

/** Reads and checks a CA pair: a CA certificate whose key belongs to it. */
async function readCa(reader: Reader, certPath: string, keyPath: string): Promise<{ ca: CertificateAuthority; x509: X509Certificate }> {
  const certField = relative(reader.dir, certPath);
  const keyField = relative(reader.dir, keyPath);
  const ca = { certPem: await readText(certPath), keyPem: await readKey(reader, keyPath) };
  const caCert = loadCertificate(ca.certPem, certField);
  if (!parseCertificateDer(caCert.der).basicConstraints?.isCA) {
    throw new EtcdKitError('PKI_NOT_A_CA', `${certPath} is not a CA certificate`, { field: certField, details: { path: certPath } });
  }
  if (!caCert.x509.checkPrivateKey(loadPrivateKey(ca.keyPem, keyField))) {
    throw new EtcdKitError('PKI_KEY_MISMATCH', `${keyPath} does not belong to ${certPath}`, { field: keyField, details: { path: keyPath } });
  }
  return { ca, x509: caCert.x509 };
}

/**
 * Reads and checks one CA pair of the PKI dir (`ca.crt`/`ca.key` or `ca.next.*`), without looking at leaves.
 * Internal: used by the CA rotation.
 */
export function readCaPair(dir: string, certPath: string, keyPath: string): Promise<{ ca: CertificateAuthority; x509: X509Certificate }> {
  return readCa({ dir, fixPermissions: false }, certPath, keyPath);
}

/** Names of the members (directories under `members/`) and clients (`clients/<name>.crt`) in the PKI dir. Internal. */
export async function listPkiNames(dir: string): Promise<{ members: string[]; clients: string[] }> {
  const paths = pkiPaths(dir);
  const members = (await listDir(paths.membersDir)).filter((e) => e.isDirectory && SAFE_NAME.test(e.name)).map((e) => e.name);
  const clients = new Set<string>();
  for (const entry of await listDir(paths.clientsDir)) {
    const match = /^(.+)\.(crt|key)$/.exec(entry.name);
    if (!entry.isDirectory && match && SAFE_NAME.test(match[1]!)) clients.add(match[1]!);
  }
  return { members, clients: [...clients].sort() };
}

/**
 * A CA rotation under way, as {@link readPkiDir} sees it.
 * @category PKI
 */
export interface PkiDirRotation {
  /** The rotation record (`rotation.json`); its phase is never `done` here. */
  state: CaRotationState;
  /** The new CA: `ca.next.crt` / `ca.next.key`. */
  next: CertificateAuthority;
  /** The content of `ca-bundle.crt` (what it should hold for the phase, when the file is missing). */
  caBundlePem: string;
}

/**
 * What {@link readPkiDir} returns: the cluster PKI, plus the CA rotation when one is under way.
 * @category PKI
 */
export interface PkiDirContents extends ClusterPki {
  /** Absent when no CA rotation is under way (none began, or the last one is done). */
  rotation?: PkiDirRotation;
}

const stateMismatch = (path: string, reason: string) =>
  new EtcdKitError('PKI_ROTATION_STATE_INVALID', `${path}: ${reason}`, { field: ROTATION_STATE_FILE, details: { path, reason } });

/**
 * Reads a PKI dir written by {@link writePkiDir} and checks it: the CA certificate is a CA and `ca.key`
 * belongs to it; every leaf key belongs to its certificate (PKI_KEY_MISMATCH) and every leaf was issued
 * and signed by the CA (PKI_CHAIN_INVALID). Expiry is not checked here (expired certificates must stay
 * readable to be renewed): use {@link etcd-kit/pki!verifyCertificate | verifyCertificate} or {@link etcd-kit/pki!inspectCertificate | inspectCertificate}.
 * Missing `members/` or `clients/` directories mean none; files outside the layout are ignored.
 *
 * During a CA rotation (`rotation.json` with a phase other than `done`) it also reads and checks the new
 * CA (`ca.next.crt`/`ca.next.key`), checks both fingerprints against the record, and returns them as
 * `rotation`; leaves must then be issued by the CA(s) the phase allows ({@link caRotationRules}
 * `leafIssuers`: the old CA in `trust-both`, either in `new-leaves`, the new one in `drop-old`).
 * Without a rotation the result has no `rotation` and everything is as before rotations existed.
 *
 * @throws EtcdKitError PKI_IO (missing/unreadable file, `details.path`), PKI_INSECURE_PERMISSIONS (key file
 * readable by group/others), PKI_MALFORMED_PEM, PKI_NOT_A_CA, PKI_KEY_MISMATCH, PKI_CHAIN_INVALID; `field`
 * is the file path relative to `dir`, e.g. `members/etcd01/peer.key`. PKI_ROTATION_STATE_INVALID for a
 * damaged `rotation.json`, one whose fingerprints do not match the CA files, or a rotation interrupted
 * while finishing (run {@link etcd-kit/pki!resumeCaRotation | resumeCaRotation}).
 * @category PKI
 */
export async function readPkiDir(dir: string, opts: ReadPkiDirOptions = {}): Promise<PkiDirContents> {
  const reader: Reader = { dir, fixPermissions: opts.fixPermissions ?? false };
  const paths = pkiPaths(dir);
  const state = await readCaRotationState(dir);
  const rotating = isRotating(state);
  if (rotating && state.retiredDir !== undefined) {
    throw stateMismatch(paths.rotationState, 'the CA rotation stopped while finishing; run it again (resumeCaRotation) to complete it');
  }
  const current = await readCa(reader, paths.caCert, paths.caKey);
  const ca = current.ca;
  let rotation: PkiDirRotation | undefined;
  let issuers: AcceptedIssuer[] = [{ x509: current.x509, file: 'ca.crt' }];
  if (rotating) {
    const next = await readCa(reader, paths.caNextCert, paths.caNextKey);
    if (current.x509.fingerprint256 !== state.oldCaFingerprint256) {
      throw stateMismatch(paths.rotationState, `ca.crt is not the CA the rotation replaces (${state.oldCaFingerprint256})`);
    }
    if (next.x509.fingerprint256 !== state.newCaFingerprint256) {
      throw stateMismatch(paths.rotationState, `ca.next.crt is not the rotation's new CA (${state.newCaFingerprint256})`);
    }
    const bundle = (await readTextIfExists(paths.caBundle)) ?? caBundlePem(state.phase, { oldCaPem: ca.certPem, newCaPem: next.ca.certPem });
    rotation = { state, next: next.ca, caBundlePem: bundle };
    const byRole: Record<RotationCa, AcceptedIssuer> = {
      old: issuers[0]!,
      new: { x509: next.x509, file: 'ca.next.crt' },
    };
    issuers = caRotationRules(state.phase).leafIssuers.map((which) => byRole[which]);
  }

  const readPair = async (certPath: string, keyPath: string): Promise<IssuedCertificate> => {
    const pair = { certPem: await readText(certPath), keyPem: await readKey(reader, keyPath) };
    checkLeaf(reader, issuers, pair, certPath, keyPath);
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
  return rotation ? { ca, members, clients, rotation } : { ca, members, clients };
}
