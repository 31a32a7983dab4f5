/**
 * The PKI dir side of a CA rotation: begin (new CA beside the old one), record members' progress, advance
 * through the phases (re-issuing every leaf with the new CA), finish (new CA becomes `ca.crt`, old one
 * retired). Local files only; the rolling restarts of members are the caller's. Every step is written
 * atomically and is safe to repeat: an interrupted step converges when run again.
 * @module
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { utcStamp } from '../utc-stamp.js';
import { type PkiDirContents, listPkiNames, pkiPaths, readCaPair, readPkiDir } from './dir.js';
import { CERT_FILE_MODE, KEY_FILE_MODE, makeDir, readText, readTextIfExists, removeFile, syncDir, writeFileAtomic, writeFilesAtomic } from './files.js';
import { inspectCertificate } from './inspect.js';
import { createCA, signClientCert, signPeerCert, signServerCert } from './issue.js';
import { isKeyAlgorithm } from './keys.js';
import { DEFAULT_CA_COMMON_NAME, DEFAULT_KEY_ALGORITHM, checkSafeName } from './options.js';
import {
  type CaRotationRolledPhase,
  type CaRotationState,
  caBundlePem,
  caRotationRules,
  isRotating,
  memberTrustedCaPem,
  nextCaRotationStep,
  readCaRotationState,
  writeCaRotationState,
} from './rotation-state.js';
import type { CertificateAuthority, IssuedCertificate, KeyAlgorithm } from './types.js';
import { signedBy } from './verify.js';

/** Options of {@link beginCaRotation}. */
export interface BeginCaRotationOptions {
  /** Key algorithm of the new CA; its leaves default to it too (RSA → ECDSA works). Default: the old CA's algorithm. */
  keyAlgorithm?: KeyAlgorithm;
  /** Lifetime of the new CA in days. Default: 3650 (10 years, as {@link createCA}). */
  validityDays?: number;
  /**
   * A cluster token to record in the rotation (`CaRotationState.clusterToken`): a token derived from the CA
   * would otherwise change with it. Default: the one the previous rotation recorded, if any.
   */
  clusterToken?: string;
  /** The clock, for tests. Default: the current time. */
  now?: Date;
}

const outOfOrder = (message: string, details: Record<string, unknown>) =>
  new EtcdKitError('CA_ROTATION_OUT_OF_ORDER', message, { details });

const stateMismatch = (path: string, reason: string) =>
  new EtcdKitError('PKI_ROTATION_STATE_INVALID', `${path}: ${reason}`, { field: 'rotation.json', details: { path, reason } });

const fingerprintOf = (pem: string | undefined): string | undefined => {
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
};

/** True when `keyPem` is the private key of `certPem` (false for anything missing or unreadable). */
function keyMatches(certPem: string | undefined, keyPem: string | undefined): boolean {
  if (certPem === undefined || keyPem === undefined) return false;
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** True when `certPem` was issued and signed by `ca` and `keyPem` belongs to it. */
function issuedBy(certPem: string | undefined, keyPem: string | undefined, ca: X509Certificate): boolean {
  if (!keyMatches(certPem, keyPem)) return false;
  const cert = new X509Certificate(certPem!);
  return signedBy(cert, ca);
}


/** The retired folder of a CA, relative to the PKI dir: `retired/<UTC stamp>-<first 8 hex of its SHA-256>`. */
export function retiredCaDirName(fingerprint256: string, now: Date): string {
  return `retired/${utcStamp(now)}-${fingerprint256.replace(/:/g, '').slice(0, 8).toLowerCase()}`;
}

/** Writes a certificate+key pair, the two replaced back to back (see {@link writeFilesAtomic}). */
async function writePair(certPath: string, keyPath: string, pair: IssuedCertificate): Promise<void> {
  await writeFilesAtomic([
    { path: certPath, data: pair.certPem, mode: CERT_FILE_MODE },
    { path: keyPath, data: pair.keyPem, mode: KEY_FILE_MODE },
  ]);
}

/** Loads both CAs of a rotation under way and checks them against the record. */
async function loadRotationCas(dir: string, state: CaRotationState): Promise<{ old: CertificateAuthority; next: CertificateAuthority; nextX509: X509Certificate }> {
  const paths = pkiPaths(dir);
  const old = await readCaPair(dir, paths.caCert, paths.caKey);
  const next = await readCaPair(dir, paths.caNextCert, paths.caNextKey);
  if (old.x509.fingerprint256 !== state.oldCaFingerprint256) {
    throw stateMismatch(paths.rotationState, `ca.crt is not the CA the rotation replaces (${state.oldCaFingerprint256})`);
  }
  if (next.x509.fingerprint256 !== state.newCaFingerprint256) {
    throw stateMismatch(paths.rotationState, `ca.next.crt is not the rotation's new CA (${state.newCaFingerprint256})`);
  }
  return { old: old.ca, next: next.ca, nextX509: next.x509 };
}

/** Writes `ca-bundle.crt` when its content differs from `pem`. */
async function writeBundle(dir: string, pem: string): Promise<void> {
  const path = pkiPaths(dir).caBundle;
  if ((await readTextIfExists(path)) !== pem) await writeFileAtomic(path, pem, CERT_FILE_MODE);
}

/**
 * Re-issues, with the new CA, every member server/peer certificate and every client certificate in the
 * PKI dir that is not yet a matching pair issued by it: same CN, same SANs (server/peer), same O (client);
 * fresh keys of the new CA's algorithm, default lifetimes. Returns the files re-issued (dir-relative).
 */
async function reissueLeaves(dir: string, ca: CertificateAuthority, caX509: X509Certificate): Promise<string[]> {
  const paths = pkiPaths(dir);
  const names = await listPkiNames(dir);
  type Job = { kind: 'server' | 'peer' | 'client'; certPath: string; keyPath: string; file: string };
  const jobs: Job[] = [];
  for (const name of names.members) {
    const mp = paths.member(name);
    jobs.push({ kind: 'server', certPath: mp.serverCert, keyPath: mp.serverKey, file: `members/${name}/server.crt` });
    jobs.push({ kind: 'peer', certPath: mp.peerCert, keyPath: mp.peerKey, file: `members/${name}/peer.crt` });
  }
  for (const name of names.clients) {
    const cp = paths.client(name);
    jobs.push({ kind: 'client', certPath: cp.cert, keyPath: cp.key, file: `clients/${name}.crt` });
  }
  const done: string[] = [];
  await Promise.all(
    jobs.map(async (job) => {
      const certPem = await readText(job.certPath); // the names and SANs to keep come from here
      if (issuedBy(certPem, await readTextIfExists(job.keyPath), caX509)) return;
      const info = inspectCertificate(certPem);
      const commonName = info.subject.commonName ?? '';
      const pair =
        job.kind === 'client'
          ? await signClientCert(ca, { commonName, organization: info.subject.organizations[0] })
          : await (job.kind === 'server' ? signServerCert : signPeerCert)(ca, { commonName, hosts: [...info.sans.ip, ...info.sans.dns] });
      await writePair(job.certPath, job.keyPath, pair);
      done.push(job.file);
    }),
  );
  await Promise.all([paths.membersDir, paths.clientsDir, ...names.members.map((m) => paths.member(m).dir)].map(syncDir));
  return done.sort();
}

/**
 * Finishes: the old CA cert+key are copied to `state.retiredDir` (key 0600), the new CA replaces
 * `ca.crt`/`ca.key`, `ca-bundle.crt` becomes the new CA alone, `ca.next.*` are removed, the record says
 * `done`. Each step checks what is already there, so a run interrupted anywhere converges.
 */
async function finish(dir: string, state: CaRotationState, now: Date): Promise<CaRotationState> {
  const paths = pkiPaths(dir);
  const retired = join(dir, state.retiredDir!);
  const retiredCert = join(retired, 'ca.crt');
  const retiredKey = join(retired, 'ca.key');
  await makeDir(paths.retiredDir);
  await makeDir(retired);

  // 1. Retire the old CA (copies: ca.crt/ca.key stay the old pair until step 2).
  const rc = await readTextIfExists(retiredCert);
  if (!(fingerprintOf(rc) === state.oldCaFingerprint256 && keyMatches(rc, await readTextIfExists(retiredKey)))) {
    const cert = await readTextIfExists(paths.caCert);
    const key = await readTextIfExists(paths.caKey);
    if (fingerprintOf(cert) !== state.oldCaFingerprint256 || !keyMatches(cert, key)) {
      throw stateMismatch(paths.rotationState, `the old CA (${state.oldCaFingerprint256}) is neither in ca.crt/ca.key nor in ${state.retiredDir}`);
    }
    await writePair(retiredCert, retiredKey, { certPem: cert!, keyPem: key! });
    await syncDir(retired);
  }

  // 2. Promote the new CA, unless ca.crt/ca.key already are it.
  const current = await readTextIfExists(paths.caCert);
  let newCaPem = current;
  if (!(fingerprintOf(current) === state.newCaFingerprint256 && keyMatches(current, await readTextIfExists(paths.caKey)))) {
    const next = await readCaPair(dir, paths.caNextCert, paths.caNextKey);
    if (next.x509.fingerprint256 !== state.newCaFingerprint256) {
      throw stateMismatch(paths.rotationState, `ca.next.crt is not the rotation's new CA (${state.newCaFingerprint256})`);
    }
    await writePair(paths.caCert, paths.caKey, next.ca);
    newCaPem = next.ca.certPem;
  }

  // 3. Clients trust only the new CA; 4. the next-CA files go; 5. the record says done.
  await writeBundle(dir, newCaPem!);
  await removeFile(paths.caNextKey);
  await removeFile(paths.caNextCert);
  await syncDir(dir);
  return writeCaRotationState(dir, { ...state, phase: 'done', finishedAt: now.toISOString() }, now);
}

/** Brings the files of a rotation in line with its recorded phase; repeats whatever an interruption skipped. */
async function converge(dir: string, state: CaRotationState, now: Date): Promise<CaRotationState> {
  if (state.phase === 'done') return state;
  if (state.retiredDir !== undefined) return finish(dir, state, now);
  const cas = await loadRotationCas(dir, state);
  await writeBundle(dir, caBundlePem(state.phase, { oldCaPem: cas.old.certPem, newCaPem: cas.next.certPem }));
  if (state.phase !== 'trust-both') await reissueLeaves(dir, cas.next, cas.nextX509);
  return state;
}

/**
 * Begins a CA rotation in the PKI dir `dir` (phase `trust-both`): creates a new CA with the old CA's
 * common name (same subject scheme as {@link createCA}), a fresh key of `keyAlgorithm`, and stores it as
 * `ca.next.crt` (0644) / `ca.next.key` (0600); records the rotation in `rotation.json` (0600); writes
 * `ca-bundle.crt` = old CA + new CA. `ca.crt`, `ca.key` and every leaf stay as they are.
 *
 * Idempotent: with a rotation under way it makes no second CA; it completes what an interruption left
 * undone (see {@link resumeCaRotation}) and returns the recorded state. After a finished rotation it
 * begins a new one. The PKI dir must read cleanly ({@link readPkiDir}) before a rotation begins.
 *
 * @throws EtcdKitError PKI_INVALID_INPUT (`keyAlgorithm`, `validityDays`; or a `keyAlgorithm` other than the
 * one of the rotation under way), every error of {@link readPkiDir}, PKI_IO.
 * @example
 * ```ts
 * const state = await beginCaRotation('./pki', { keyAlgorithm: 'ecdsa-p256' });
 * // roll every member through state.phase with memberTrustedCaPem(...), markCaRotationMemberDone(...)
 * ```
 */
export async function beginCaRotation(dir: string, opts: BeginCaRotationOptions = {}): Promise<CaRotationState> {
  const now = opts.now ?? new Date();
  if (opts.keyAlgorithm !== undefined && !isKeyAlgorithm(opts.keyAlgorithm)) {
    throw new EtcdKitError('PKI_INVALID_INPUT', `keyAlgorithm: unknown key algorithm ${JSON.stringify(opts.keyAlgorithm)}`, { field: 'keyAlgorithm' });
  }
  const existing = await readCaRotationState(dir);
  const clusterToken = opts.clusterToken ?? existing?.clusterToken; // a finished rotation's token carries over
  if (isRotating(existing)) {
    if (opts.keyAlgorithm !== undefined && opts.keyAlgorithm !== existing.keyAlgorithm) {
      throw new EtcdKitError(
        'PKI_INVALID_INPUT',
        `keyAlgorithm: a rotation to ${existing.keyAlgorithm} is under way (since ${existing.startedAt}); finish it before rotating to ${opts.keyAlgorithm}`,
        { field: 'keyAlgorithm', details: { phase: existing.phase, keyAlgorithm: existing.keyAlgorithm } },
      );
    }
    return converge(dir, existing, now);
  }

  const pki = await readPkiDir(dir);
  const oldInfo = inspectCertificate(pki.ca.certPem);
  const keyAlgorithm = opts.keyAlgorithm ?? (isKeyAlgorithm(oldInfo.keyAlgorithm) ? oldInfo.keyAlgorithm : DEFAULT_KEY_ALGORITHM);
  const next = await createCA({ commonName: oldInfo.subject.commonName ?? DEFAULT_CA_COMMON_NAME, keyAlgorithm, validityDays: opts.validityDays });
  const paths = pkiPaths(dir);
  // Order matters for a crash: the CA files first (unused until the record names them), then the record.
  await writePair(paths.caNextCert, paths.caNextKey, next);
  await syncDir(dir);
  const state = await writeCaRotationState(
    dir,
    {
      version: 1,
      phase: 'trust-both',
      oldCaFingerprint256: oldInfo.fingerprint256,
      newCaFingerprint256: new X509Certificate(next.certPem).fingerprint256,
      keyAlgorithm,
      startedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      membersDone: { 'trust-both': [], 'new-leaves': [], 'drop-old': [] },
      ...(clusterToken ? { clusterToken } : {}),
    },
    now,
  );
  return converge(dir, state, now);
}

/**
 * Completes whatever an interrupted rotation step left undone, from the record alone: rewrites
 * `ca-bundle.crt` for the phase, re-issues the leaves not yet issued by the new CA (from `new-leaves` on),
 * or completes an interrupted finish. Returns the state (undefined when no rotation was ever begun).
 * Safe to call at any time; changes nothing when nothing is undone.
 *
 * @throws EtcdKitError PKI_ROTATION_STATE_INVALID (damaged record, or CA files that do not match it),
 * the CA errors of {@link readPkiDir}, PKI_IO.
 */
export async function resumeCaRotation(dir: string, opts: { now?: Date } = {}): Promise<CaRotationState | undefined> {
  const state = await readCaRotationState(dir);
  return state === undefined ? undefined : converge(dir, state, opts.now ?? new Date());
}

async function rotatingState(dir: string): Promise<CaRotationState> {
  const state = await readCaRotationState(dir);
  if (state === undefined || state.phase === 'done') {
    throw outOfOrder(`no CA rotation is under way in ${dir}`, { phase: state?.phase ?? 'none' });
  }
  return state;
}

/**
 * Records that `member` completed `phase` (its files shipped, restarted, cluster healthy again). Repeating
 * it is harmless. `phase` must be the rotation's current phase: a driver that lost track is stopped rather
 * than recording progress in the wrong phase.
 *
 * @throws EtcdKitError CA_ROTATION_OUT_OF_ORDER (no rotation under way, or another phase; `details.phase`
 * is the current one), PKI_INVALID_INPUT (`member` not a safe name), PKI_ROTATION_STATE_INVALID.
 */
export async function markCaRotationMemberDone(dir: string, phase: CaRotationRolledPhase, member: string): Promise<CaRotationState> {
  checkSafeName(member, 'member');
  const state = await rotatingState(dir);
  if (state.phase !== phase) {
    throw outOfOrder(`cannot mark ${member} done with ${phase}: the rotation is in phase ${state.phase}`, { phase: state.phase });
  }
  if (state.membersDone[phase].includes(member)) return state;
  return writeCaRotationState(dir, { ...state, membersDone: { ...state.membersDone, [phase]: [...state.membersDone[phase], member] } });
}

/** Options of {@link advanceCaRotation}. */
export interface AdvanceCaRotationOptions {
  /** Every member of the cluster (names): each must have completed the current phase. Required, non-empty. */
  members: readonly string[];
  /** The clock, for tests. Default: the current time. */
  now?: Date;
}

/**
 * Moves the rotation to its next phase once every one of `members` completed the current one:
 *
 * - `trust-both` → `new-leaves`: records the phase first, then re-issues every member's server and peer
 *   certificate and every client certificate with the new CA (same names and SANs). Only now are new-CA
 *   leaves safe: every member trusts the new CA.
 * - `new-leaves` → `drop-old`: checks every leaf is the new CA's (re-issuing any an interruption left).
 * - `drop-old` → `done`: the new CA becomes `ca.crt`/`ca.key`; the old CA cert and key move to
 *   `retired/<UTC stamp>-<fingerprint prefix>/` (key 0600, kept, never deleted); `ca-bundle.crt` becomes
 *   the new CA alone; `ca.next.*` are removed.
 *
 * On a finished rotation it returns the state unchanged. Every step is atomic per file and resumable.
 *
 * @throws EtcdKitError CA_ROTATION_OUT_OF_ORDER (no rotation under way; members not done, named in
 * `details.pending`), PKI_INVALID_INPUT (`members` empty or not safe names), PKI_ROTATION_STATE_INVALID, PKI_IO.
 */
export async function advanceCaRotation(dir: string, opts: AdvanceCaRotationOptions): Promise<CaRotationState> {
  const now = opts.now ?? new Date();
  if (!Array.isArray(opts?.members) || opts.members.length === 0) {
    throw new EtcdKitError('PKI_INVALID_INPUT', 'members: at least one member is required', { field: 'members' });
  }
  for (const [i, m] of opts.members.entries()) checkSafeName(m, `members[${i}]`);
  const recorded = await readCaRotationState(dir);
  if (recorded === undefined) throw outOfOrder(`no CA rotation is under way in ${dir}`, { phase: 'none' });
  const state = await converge(dir, recorded, now);
  const step = nextCaRotationStep(state, opts.members);
  if (step.kind === 'done') return state;
  if (step.kind === 'member') {
    const done = new Set(state.membersDone[step.phase]);
    const pending = opts.members.filter((m) => !done.has(m));
    throw outOfOrder(`cannot leave phase ${step.phase}: ${pending.join(', ')} not done with it yet`, { phase: step.phase, pending });
  }
  if (step.to === 'done') {
    const finishing = await writeCaRotationState(dir, { ...state, retiredDir: retiredCaDirName(state.oldCaFingerprint256, now) }, now);
    return finish(dir, finishing, now);
  }
  return converge(dir, await writeCaRotationState(dir, { ...state, phase: step.to }, now), now);
}

/**
 * The CA to sign any leaf with right now, for a PKI dir read by {@link readPkiDir}: `ca.crt` without a
 * rotation and in `trust-both`, the new CA (`ca.next.*`) from `new-leaves` on. Pure.
 */
export function leafSigningCa(pki: PkiDirContents): CertificateAuthority {
  return pki.rotation && caRotationRules(pki.rotation.state.phase).leafSigner === 'new' ? pki.rotation.next : pki.ca;
}

/**
 * The trusted-CA file content every member gets right now (`--trusted-ca-file`, `--peer-trusted-ca-file`):
 * `ca.crt` without a rotation, old + new in `trust-both` and `new-leaves`, the new CA alone in `drop-old`. Pure.
 */
export function memberTrustedCa(pki: PkiDirContents): string {
  if (!pki.rotation) return pki.ca.certPem;
  return memberTrustedCaPem(pki.rotation.state.phase, { oldCaPem: pki.ca.certPem, newCaPem: pki.rotation.next.certPem });
}
