/**
 * The CA rotation's record in the PKI dir (`rotation.json`) and the pure rules of its phases: what members
 * trust, what clients trust (`ca-bundle.crt`), which CA signs leaves. No I/O beyond that one file.
 * @module
 */
import { join } from 'node:path';
import { z } from 'zod';
import { EtcdKitError } from '../errors.js';
import { KEY_FILE_MODE, readTextIfExists, writeFileAtomic } from './files.js';
import { KEY_ALGORITHMS } from './keys.js';
import type { KeyAlgorithm } from './types.js';

/**
 * Phase of a CA rotation, in order. Each of the first three is rolled through the members one at a time:
 *
 * - `trust-both`: members get old + new CA as their trusted CA files; leaves stay those of the old CA.
 * - `new-leaves`: every member's server/peer certificate and every client certificate is re-issued by the
 *   new CA (same names and SANs); members are restarted with them.
 * - `drop-old`: members trust only the new CA.
 * - `done`: the new CA is `ca.crt`/`ca.key`; the old one is in `retired/`.
 */
export type CaRotationPhase = 'trust-both' | 'new-leaves' | 'drop-old' | 'done';

/** The three rolled phases, in order. */
export const CA_ROTATION_PHASES = Object.freeze(['trust-both', 'new-leaves', 'drop-old'] as const);

/** A phase rolled through the members (every {@link CaRotationPhase} but `done`). */
export type CaRotationRolledPhase = (typeof CA_ROTATION_PHASES)[number];

/** The state of a CA rotation as recorded in `<dir>/rotation.json` (mode 0600). */
export interface CaRotationState {
  /** Format version of the file: 1. */
  version: 1;
  /** Current phase. */
  phase: CaRotationPhase;
  /** SHA-256 fingerprint (`AB:CD:…`, as node's `X509Certificate.fingerprint256`) of the CA being replaced. */
  oldCaFingerprint256: string;
  /** SHA-256 fingerprint of the new CA (`ca.next.crt` during the rotation, `ca.crt` once done). */
  newCaFingerprint256: string;
  /** Key algorithm of the new CA (and, by default, of the leaves it issues). */
  keyAlgorithm: KeyAlgorithm;
  /** When the rotation began (ISO 8601, UTC). */
  startedAt: string;
  /** When this file was last written (ISO 8601, UTC). */
  updatedAt: string;
  /** Per rolled phase, the members that completed it (restarted and healthy), in completion order. */
  membersDone: Record<CaRotationRolledPhase, string[]>;
  /**
   * Set when finishing begins (all members done with `drop-old`): the folder, relative to the PKI dir, the
   * old CA moves to, e.g. `retired/20261201T130000Z-1a2b3c4d`. Fixed once chosen so an interrupted finish
   * resumes into the same folder.
   */
  retiredDir?: string;
  /** When the rotation finished (ISO 8601, UTC); set with phase `done`. */
  finishedAt?: string;
  /**
   * The cluster's token (`ETCD_INITIAL_CLUSTER_TOKEN`) when it was derived from the CA being replaced: kept
   * here so the env files do not change with the CA (the `clusterToken` option of `beginCaRotation`).
   */
  clusterToken?: string;
}

/** Which of the two CAs something uses: the CA being replaced or the new one. */
export type RotationCa = 'old' | 'new';

/** What each phase means for members, clients and leaf certificates. See {@link caRotationRules}. */
export interface CaRotationRules {
  /** CAs in each member's trusted CA files (`--trusted-ca-file`, `--peer-trusted-ca-file`) in this phase. */
  memberTrusts: readonly RotationCa[];
  /** CAs in `ca-bundle.crt`: what every client must trust right now. */
  clientTrusts: readonly RotationCa[];
  /** The CA that signs any leaf issued in this phase. */
  leafSigner: RotationCa;
  /** CAs the leaves in the PKI dir may be issued by in this phase (a mix only while re-issuing). */
  leafIssuers: readonly RotationCa[];
}

const RULES: Record<CaRotationPhase, CaRotationRules> = {
  'trust-both': { memberTrusts: ['old', 'new'], clientTrusts: ['old', 'new'], leafSigner: 'old', leafIssuers: ['old'] },
  'new-leaves': { memberTrusts: ['old', 'new'], clientTrusts: ['old', 'new'], leafSigner: 'new', leafIssuers: ['old', 'new'] },
  'drop-old': { memberTrusts: ['new'], clientTrusts: ['old', 'new'], leafSigner: 'new', leafIssuers: ['new'] },
  done: { memberTrusts: ['new'], clientTrusts: ['new'], leafSigner: 'new', leafIssuers: ['new'] },
};

/**
 * The rules of a phase. Why these:
 *
 * - Members trust old + new from `trust-both` until every member serves (and presents) new leaves, which is
 *   the end of `new-leaves`: before that, some peer or client still shows an old-CA certificate. `drop-old`
 *   then removes the old CA from members one at a time; nobody shows an old-CA certificate any more.
 * - Leaves are signed by the new CA only from `new-leaves` on, when every member already trusts it: a
 *   new-CA leaf shipped earlier would be refused by the members that do not trust the new CA yet.
 * - `ca-bundle.crt` (clients) holds old + new from `trust-both` through `drop-old`, and only the new CA once
 *   done. Both are needed from `trust-both` until every member serves a new-CA leaf (end of `new-leaves`);
 *   keeping the old CA through `drop-old` costs nothing (no member serves an old leaf then) and means the
 *   bundle changes exactly twice (old → old+new at the start, → new at the end), after which nothing in
 *   the cluster refers to the old CA. A client that loaded the bundle at any moment of the rotation
 *   can verify every member at every later moment (the new CA is in every version of it).
 * - Client certificates are re-issued with the member leaves (entering `new-leaves`): members already
 *   trust the new CA then, and stop trusting the old one only in `drop-old`.
 */
export function caRotationRules(phase: CaRotationPhase): CaRotationRules {
  return RULES[phase];
}

/** Concatenates PEM blocks, one newline-terminated block after the other. */
export function concatPem(pems: readonly string[]): string {
  return pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

/** The two CA certificates of a rotation, as PEM. */
export interface RotationCaPems {
  /** The CA being replaced. */
  oldCaPem: string;
  /** The new CA. */
  newCaPem: string;
}

const pick = (which: readonly RotationCa[], cas: RotationCaPems) => concatPem(which.map((w) => (w === 'old' ? cas.oldCaPem : cas.newCaPem)));

/** The trusted-CA file content a member gets in `phase`: old + new, then (from `drop-old`) the new CA only. */
export function memberTrustedCaPem(phase: CaRotationPhase, cas: RotationCaPems): string {
  return pick(RULES[phase].memberTrusts, cas);
}

/** The `ca-bundle.crt` content in `phase`: old + new until the rotation is `done`, then the new CA only. */
export function caBundlePem(phase: CaRotationPhase, cas: RotationCaPems): string {
  return pick(RULES[phase].clientTrusts, cas);
}

/** Roll `member` through `phase` (ship its files, restart, wait for health), then mark it done. */
export interface CaRotationMemberStep {
  /** Always `'member'`. */
  kind: 'member';
  /** The phase the member is rolled through. */
  phase: CaRotationRolledPhase;
  /** The member's name. */
  member: string;
}

/** Every member completed `from`: call advanceCaRotation to enter `to`. */
export interface CaRotationAdvanceStep {
  /** Always `'advance'`. */
  kind: 'advance';
  /** The phase every member completed. */
  from: CaRotationRolledPhase;
  /** The phase advancing enters (`done` = finishing: the new CA replaces ca.crt, the old one retires). */
  to: CaRotationPhase;
}

/** The rotation is finished. */
export interface CaRotationDoneStep {
  /** Always `'done'`. */
  kind: 'done';
}

/** What a rolling driver does next; see {@link nextCaRotationStep}. */
export type CaRotationStep = CaRotationMemberStep | CaRotationAdvanceStep | CaRotationDoneStep;

/**
 * The next step of a rotation for the cluster's `members` (names, in rolling order): the first member not
 * yet done with the current phase, else advancing to the next phase, else done. Pure.
 */
export function nextCaRotationStep(state: CaRotationState, members: readonly string[]): CaRotationStep {
  if (state.phase === 'done') return { kind: 'done' };
  const done = new Set(state.membersDone[state.phase]);
  const member = members.find((m) => !done.has(m));
  if (member !== undefined) return { kind: 'member', phase: state.phase, member };
  const next = state.phase === 'trust-both' ? 'new-leaves' : state.phase === 'new-leaves' ? 'drop-old' : 'done';
  return { kind: 'advance', from: state.phase, to: next };
}

/** True while a rotation is under way (a state that is not `done`). */
export function isRotating(state: CaRotationState | undefined): state is CaRotationState {
  return state !== undefined && state.phase !== 'done';
}

/** File name of the rotation state inside the PKI dir. */
export const ROTATION_STATE_FILE = 'rotation.json';

const fingerprint = z.string().regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/, 'expected a SHA-256 fingerprint AB:CD:…');
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO 8601 date');
const memberName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a member name');

const stateSchema = z
  .object({
    version: z.literal(1),
    phase: z.enum(['trust-both', 'new-leaves', 'drop-old', 'done']),
    oldCaFingerprint256: fingerprint,
    newCaFingerprint256: fingerprint,
    keyAlgorithm: z.enum(KEY_ALGORITHMS as unknown as [KeyAlgorithm, ...KeyAlgorithm[]]),
    startedAt: isoDate,
    updatedAt: isoDate,
    membersDone: z.object({ 'trust-both': z.array(memberName), 'new-leaves': z.array(memberName), 'drop-old': z.array(memberName) }).strict(),
    retiredDir: z
      .string()
      .regex(/^retired\/[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected retired/<name>')
      .optional(),
    finishedAt: isoDate.optional(),
    clusterToken: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a cluster token').optional(),
  })
  .strict();

const invalidState = (path: string, reason: string, cause?: unknown) =>
  new EtcdKitError('PKI_ROTATION_STATE_INVALID', `${path}: ${reason}`, { field: ROTATION_STATE_FILE, details: { path, reason }, cause });

/**
 * Parses and validates the text of `rotation.json`.
 * @throws EtcdKitError PKI_ROTATION_STATE_INVALID (field `rotation.json`, `details: { path, reason }`).
 */
export function parseCaRotationState(text: string, path: string): CaRotationState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw invalidState(path, 'not valid JSON', cause);
  }
  const result = stateSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw invalidState(path, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const state = result.data as CaRotationState;
  if (state.phase === 'done' && state.finishedAt === undefined) throw invalidState(path, 'phase done without finishedAt');
  if (state.oldCaFingerprint256 === state.newCaFingerprint256) throw invalidState(path, 'old and new CA are the same certificate');
  return state;
}

/**
 * Reads `<dir>/rotation.json`: undefined when there is none (no rotation ever began).
 * @throws EtcdKitError PKI_ROTATION_STATE_INVALID for a damaged file (naming it), PKI_IO when unreadable.
 */
export async function readCaRotationState(dir: string): Promise<CaRotationState | undefined> {
  const path = join(dir, ROTATION_STATE_FILE);
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parseCaRotationState(text, path);
}

/** Writes `<dir>/rotation.json` atomically with mode 0600, after validating `state` (stamps `updatedAt`). */
export async function writeCaRotationState(dir: string, state: CaRotationState, now: Date = new Date()): Promise<CaRotationState> {
  const path = join(dir, ROTATION_STATE_FILE);
  const stamped = parseCaRotationState(JSON.stringify({ ...state, updatedAt: now.toISOString() }), path);
  await writeFileAtomic(path, `${JSON.stringify(stamped, null, 2)}\n`, KEY_FILE_MODE);
  return stamped;
}
