/** inspectPkiDir: every certificate of a PKI dir, including a rotation's next CA and retired CAs. @module */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pkiPaths, readPkiDir } from './dir.js';
import { ioError, readTextIfExists } from './files.js';
import { inspectCertificate } from './inspect.js';
import { type CaRotationState, readCaRotationState } from './rotation-state.js';
import type { CertificateInfo } from './types.js';

/**
 * What a certificate of the PKI dir is for.
 * @category PKI
 */
export type PkiDirCertificateRole = 'ca' | 'next-ca' | 'retired-ca' | 'server' | 'peer' | 'client';

/**
 * One certificate of the PKI dir: {@link inspectCertificate}'s facts plus where it is and what it is for.
 * @category PKI
 */
export interface PkiDirCertificate extends CertificateInfo {
  /** Path of the certificate file (`dir` joined with its place in the layout). */
  file: string;
  /**
   * `ca` (`ca.crt`), `next-ca` (`ca.next.crt`, during a CA rotation), `retired-ca`
   * (`retired/<stamp>-<fingerprint>/ca.crt`, after one), or the leaf kind.
   */
  role: PkiDirCertificateRole;
}

/**
 * What {@link inspectPkiDir} reports.
 * @category PKI
 */
export interface PkiDirInspection {
  /**
   * The CA, the next CA (during a rotation), every member's server and peer certificate, every client
   * certificate, then the retired CAs oldest first.
   */
  certificates: PkiDirCertificate[];
  /** The CA rotation record: one under way, or the last one finished; undefined when none ever began. */
  rotation: CaRotationState | undefined;
}

async function retiredCaFiles(dir: string): Promise<string[]> {
  const root = pkiPaths(dir).retiredDir;
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((name) => join(root, name, 'ca.crt'));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError('cannot list directory', root, cause);
  }
}

/**
 * Reads the PKI dir (checked as {@link readPkiDir} does) and reports every certificate in it with its role,
 * plus the CA rotation record. During a rotation the new CA (`ca.next.crt`) is listed as `next-ca`; after
 * one, each retired CA (`retired/*` folders holding a `ca.crt`) as `retired-ca`.
 *
 * @throws EtcdKitError the errors of {@link readPkiDir}; PKI_MALFORMED_PEM (field `certPem`) for a damaged
 * retired CA certificate; PKI_IO.
 * @example
 * ```ts
 * const { certificates, rotation } = await inspectPkiDir('./pki');
 * for (const c of certificates) console.log(c.role, c.file, c.daysLeft);
 * ```
 * @category PKI
 */
export async function inspectPkiDir(dir: string): Promise<PkiDirInspection> {
  const pki = await readPkiDir(dir);
  const paths = pkiPaths(dir);
  const entry = (file: string, role: PkiDirCertificateRole, pem: string): PkiDirCertificate => ({ file, role, ...inspectCertificate(pem) });
  const certificates: PkiDirCertificate[] = [entry(paths.caCert, 'ca', pki.ca.certPem)];
  if (pki.rotation) certificates.push(entry(paths.caNextCert, 'next-ca', pki.rotation.next.certPem));
  for (const [name, m] of Object.entries(pki.members)) {
    certificates.push(entry(paths.member(name).serverCert, 'server', m.server.certPem), entry(paths.member(name).peerCert, 'peer', m.peer.certPem));
  }
  for (const [name, c] of Object.entries(pki.clients)) certificates.push(entry(paths.client(name).cert, 'client', c.certPem));
  for (const file of await retiredCaFiles(dir)) {
    const pem = await readTextIfExists(file);
    if (pem !== undefined) certificates.push(entry(file, 'retired-ca', pem));
  }
  return { certificates, rotation: pki.rotation?.state ?? (await readCaRotationState(dir)) };
}
