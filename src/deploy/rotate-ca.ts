/**
 * `rotateEtcdCa`: the cluster CA replaced on a running cluster without downtime. The PKI dir records the
 * rotation (src/pki/rotation.ts: new CA, phases, re-issued leaves, the old CA retired); this drives it over
 * the hosts, one member at a time with the cluster healthy between steps:
 *
 * 1. `trust-both`: each member's trusted CA file becomes old + new; restarted (etcd reads it only at start);
 *    then it must accept a client certificate of the new CA.
 * 2. `new-leaves`: the PKI dir re-issues every member and client certificate with the new CA; each member
 *    gets its new pair without a restart (etcd re-reads it on every handshake) and must serve it.
 * 3. `drop-old`: each member trusts the new CA only; restarted; then it must refuse an old-CA client
 *    certificate. Finally the new CA becomes `ca.crt`, the old one moves to `retired/`.
 *
 * Every member step is recorded in the PKI dir once it is verified, so an interrupted rotation resumes at
 * the member it stopped at. Before any host changes (and again on every resume) the cluster is observed:
 * every member up and healthy, nothing else pending, what members serve and trust fits the phase
 * (ca-rotation-rules.ts).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import {
  type ClusterHealth,
  type EtcdCluster,
  probeClientCertificate,
  readServedCertificate,
} from '../etcd/index.js';
import {
  advanceCaRotation,
  beginCaRotation,
  type CaRotationPhase,
  type CaRotationRolledPhase,
  type CaRotationState,
  isKeyAlgorithm,
  isRotating,
  type IssuedCertificate,
  type KeyAlgorithm,
  markCaRotationMemberDone,
  memberTrustedCa,
  nextCaRotationStep,
  type PkiDirContents,
  readCaRotationState,
  readPkiDir,
  resumeCaRotation,
  signClientCert,
  withPkiLock,
} from '../pki/index.js';
import { type HostFacts, type MemberInspection, type SshConnection, unitIsRunning } from '../remote/index.js';
import { clientUrl, peerUrl } from '../render/index.js';
import { bundleCas, caRotationMemberAction, caRotationRefusal, type RotationMemberObservation, rotationCaOf } from './ca-rotation-rules.js';
import type { PkiOutcome } from './cluster-pki.js';
import { installWithFacts } from './deploy-run.js';
import { restartAndWait } from './member-restart.js';
import { readServedCertificates } from './observe-ca.js';
import { readMembers } from './cluster-plan.js';
import { loadInput, openCluster, type PreparedDeploy, type PreparedMember, prepareBundles, resolveSpec } from './prepare.js';
import { rollingRestart } from './rolling-restart.js';
import { closeAll, memberError } from './member-connections.js';
import type { ClusterSpecInput } from './spec-types.js';
import { explainStartFailure } from './start-failure.js';
import { prepareConnected } from './target-version.js';
import type { DeployOptions } from './types.js';
import type { ClusterSpec } from './resolve-spec.js';
import { DEFAULT_HEALTH_TIMEOUT_MS } from './options.js';
import { waitForEndpoints } from './wait-endpoints.js';

/**
 * Options of {@link rotateEtcdCa}.
 * @category Deploy and day 2
 */
export interface RotateCaOptions extends Pick<DeployOptions, 'onProgress' | 'signal' | 'downloadCacheDir' | 'healthTimeoutMs'> {
  /**
   * Key algorithm of the new CA and of every certificate it issues (RSA → ECDSA works). Only when a rotation
   * begins; resuming one with another algorithm is refused. Default: the current CA's algorithm.
   */
  keyAlgorithm?: KeyAlgorithm;
  /** Lifetime of the new CA in days (only when a rotation begins). Default: 3650. */
  validityDays?: number;
  /**
   * Stop once every member completed this phase, before the next one begins; run again to go on. After
   * `trust-both`: restart long-running clients that load their CA file only at start (kube-apiserver) so
   * they trust `ca-bundle.crt` (old + new) before any member serves a new-CA certificate. Default: run to the end.
   */
  stopAfter?: 'trust-both' | 'new-leaves';
}

/**
 * One member step of a rotation, as carried out.
 * @category Deploy and day 2
 */
export interface CaRotationStepReport {
  /** The phase. */
  phase: CaRotationRolledPhase;
  /** The member. */
  member: string;
  /** etcd was restarted (`trust-both`, `drop-old`); `new-leaves` needs none. */
  restarted: boolean;
  /** Wall time of the step in ms, the wait for health included. */
  durationMs: number;
}

/**
 * One phase of a rotation as worked on in one run.
 * @category Deploy and day 2
 */
export interface CaRotationPhaseReport {
  /** The phase. */
  phase: CaRotationRolledPhase;
  /** Wall time spent on its member steps in this run, in ms. */
  durationMs: number;
}

/**
 * What {@link rotateEtcdCa} did.
 * @category Deploy and day 2
 */
export interface RotateCaResult {
  /** The rotation's record as this run left it (phase `done` once finished). */
  state: CaRotationState;
  /** The rotation finished in this run (the new CA is `ca.crt`, the old one retired). */
  finished: boolean;
  /** This run began the rotation (false: it resumed one under way). */
  began: boolean;
  /** Member steps carried out in this run, in order. */
  steps: CaRotationStepReport[];
  /** Wall time of each phase worked on in this run. */
  phases: CaRotationPhaseReport[];
  /** The cluster's health at the end (checked with `ca-bundle.crt` and the client certificate as they are now). */
  health: ClusterHealth;
  /** Wall time in ms. */
  durationMs: number;
}

const invalid = (field: string, message: string) => new EtcdKitError('INVALID_ARGUMENT', `${field}: ${message}`, { field });

function checkOptions(options: RotateCaOptions): void {
  if (options === null || typeof options !== 'object') throw invalid('options', 'must be an object');
  if (options.keyAlgorithm !== undefined && !isKeyAlgorithm(options.keyAlgorithm)) throw invalid('keyAlgorithm', `unknown key algorithm ${JSON.stringify(options.keyAlgorithm)}`);
  if (options.validityDays !== undefined && !(Number.isInteger(options.validityDays) && options.validityDays >= 1)) throw invalid('validityDays', 'must be a whole number of days, at least 1');
  if (options.stopAfter !== undefined && options.stopAfter !== 'trust-both' && options.stopAfter !== 'new-leaves') throw invalid('stopAfter', "must be 'trust-both' or 'new-leaves'");
  if (options.healthTimeoutMs !== undefined && !(Number.isFinite(options.healthTimeoutMs) && options.healthTimeoutMs > 0)) throw invalid('healthTimeoutMs', 'must be a positive number of ms');
}

/** The PKI dir as the rotation's phase has it: what members trust, what clients trust. */
interface RotationView {
  contents: PkiDirContents;
  outcome: PkiOutcome;
}

async function readRotationView(dir: string): Promise<RotationView> {
  const contents = await readPkiDir(dir);
  // readPkiDir has the phase's bundle already (ca-bundle.crt, which the rotation keeps in line with its phase).
  const clientCaPem = contents.rotation?.caBundlePem ?? contents.ca.certPem;
  return {
    contents,
    outcome: { pki: contents, createdCa: false, issuedMembers: [], issuedClients: [], warnings: [], memberTrustedCaPem: memberTrustedCa(contents), clientCaPem },
  };
}

/** Every member and client of the spec has its certificates in the PKI dir, else the spec is ahead of it. */
function checkSpecCovered(spec: ClusterSpec, contents: PkiDirContents): void {
  const missing = [
    ...spec.members.filter((m) => !contents.members[m.name]).map((m) => `members/${m.name}`),
    ...spec.pki.clients.filter((c) => !contents.clients[c]).map((c) => `clients/${c}`),
  ];
  if (missing.length > 0) {
    throw new EtcdKitError('UNSAFE_CHANGE', `the PKI dir ${spec.pki.dir} has no certificates for ${missing.join(', ')}: run etcd-kit deploy first, then rotate`, {
      field: 'pki.dir',
      details: { missing },
    });
  }
}

const CERT_ROLES: ReadonlySet<string> = new Set(['caCert', 'serverCert', 'serverKey', 'peerCert', 'peerKey']);

/** One member as the rotation's rules see it (see {@link RotationMemberObservation}). */
function observation(m: PreparedMember, i: number, inspection: MemberInspection, health: ClusterHealth | undefined, servedPem: string | undefined, cas: { oldPem: string; nextPem?: string }): RotationMemberObservation {
  const caFile = inspection.files.find((f) => f.role === 'caCert');
  const differ = inspection.files.filter((f) => f.status !== 'same' || !f.metadataOk);
  const pending = [
    ...differ.filter((f) => !CERT_ROLES.has(f.role)).map((f) => f.path),
    ...inspection.pending.hostChanges,
    ...(inspection.pending.firewallOpens.length > 0 ? [`firewall: open ${inspection.pending.firewallOpens.join(', ')}`] : []),
  ];
  return {
    name: m.spec.name,
    running: unitIsRunning(inspection.unit),
    healthy: health?.endpoints[i]?.healthy === true,
    ...(servedPem ? { serves: rotationCaOf(servedPem, cas) } : {}),
    ...(caFile?.hostContent !== undefined ? { trusts: bundleCas(caFile.hostContent, cas) } : {}),
    pending,
    certFilesDiffer: differ.filter((f) => CERT_ROLES.has(f.role)).map((f) => f.path),
  };
}

/** A client certificate of the old CA and one of the new. */
interface Probes {
  old: IssuedCertificate;
  new: IssuedCertificate;
}

/** Everything one run carries between its steps. */
interface Run {
  spec: ClusterSpec;
  options: RotateCaOptions;
  healthTimeoutMs: number;
  connections: Map<string, SshConnection>;
  facts: Map<string, HostFacts>;
  prepared: PreparedDeploy;
  view: RotationView;
  cluster: EtcdCluster;
  /** A client certificate of each CA, made in memory for this run's checks (never written anywhere); made at the first check. */
  probes?: Promise<Probes>;
  steps: CaRotationStepReport[];
}

const PROBE_NAME = 'etcd-kit-rotation-probe';
/** How long a member may take to show the state its step promises (a reload, a listener after a restart), in ms. */
const VERIFY_WINDOW_MS = 5000;
const VERIFY_POLL_MS = 100;

/** Observes every member and throws the rules' refusal, if any. Read-only. */
async function assertReady(run: Run, inspections: MemberInspection[], phase: CaRotationPhase | undefined): Promise<void> {
  const { prepared, view } = run;
  const cas = { oldPem: view.contents.ca.certPem, ...(view.contents.rotation ? { nextPem: view.contents.rotation.next.certPem } : {}) };
  const [health, served] = await Promise.all([
    run.cluster.checkHealth({ timeoutMs: 3000 }).catch(() => undefined),
    readServedCertificates(prepared.members.map((m) => m.spec), run.options.signal),
  ]);
  const observed = prepared.members.map((m, i) => observation(m, i, inspections[i]!, health, served[i]?.certPem, cas));
  const refusal = caRotationRefusal(run.spec.pki.dir, phase, observed);
  if (refusal) throw refusal;
}

/** Polls `check` (a description of what is wrong, or undefined) until it passes or the window closes. */
async function within(windowMs: number, check: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + windowMs;
  for (;;) {
    const wrong = await check();
    if (wrong === undefined) return;
    if (Date.now() > deadline) throw new EtcdKitError('DEPLOY_FAILED', wrong);
    await new Promise((r) => setTimeout(r, VERIFY_POLL_MS));
  }
}

/**
 * Proves a member's step took effect on the running etcd, not just on disk: on its client and peer URLs
 * it accepts (and in `drop-old` refuses) client certificates of the right CA and serves one of the right CA.
 */
async function verifyMember(run: Run, m: PreparedMember, phase: CaRotationRolledPhase): Promise<void> {
  const action = caRotationMemberAction(phase);
  const cas = { oldPem: run.view.contents.ca.certPem, nextPem: run.view.contents.rotation!.next.certPem };
  const signal = run.options.signal;
  const opts = signal ? { signal } : {};
  const probes = await probesOf(run);
  for (const url of [clientUrl(m.spec.cluster), peerUrl(m.spec.cluster)]) {
    await within(VERIFY_WINDOW_MS, async () => {
      const accepts = await probeClientCertificate(url, { ...probes[action.mustAccept], ...opts });
      if (accepts !== 'accepted') return `${url} refuses a client certificate of the ${action.mustAccept} CA after its ${phase} step`;
      if (action.mustRefuseOld && (await probeClientCertificate(url, { ...probes.old, ...opts })) !== 'refused') {
        return `${url} still accepts a client certificate of the old CA after its ${phase} step`;
      }
      const serves = rotationCaOf((await readServedCertificate(url, opts)).certPem, cas);
      return serves === action.mustServe ? undefined : `${url} serves a certificate of the ${serves} CA after its ${phase} step, not of the ${action.mustServe} one`;
    });
  }
}

async function record(run: Run, m: PreparedMember, phase: CaRotationRolledPhase, restarted: boolean, startedAt: number): Promise<CaRotationState> {
  const state = await markCaRotationMemberDone(run.spec.pki.dir, phase, m.spec.name);
  const durationMs = performance.now() - startedAt;
  run.steps.push({ phase, member: m.spec.name, restarted, durationMs });
  run.options.onProgress?.({ step: 'rotate-ca', member: m.spec.name, message: `${phase} done${restarted ? ' (restarted)' : ''}, verified, ${Math.round(durationMs)} ms` });
  return state;
}

/** The members not yet done with `phase`, one at a time: with a rolling restart, or (new leaves) without. Returns the state recorded last. */
async function rollPhase(run: Run, state: CaRotationState, phase: CaRotationRolledPhase): Promise<CaRotationState> {
  const done = new Set(state.membersDone[phase]);
  const todo = run.prepared.members.filter((m) => !done.has(m.spec.name));
  const action = caRotationMemberAction(phase);
  const wait = () => waitForEndpoints(run.cluster, { timeoutMs: run.healthTimeoutMs, signal: run.options.signal });
  if (!action.restart) {
    for (const m of todo) {
      const startedAt = performance.now();
      run.options.onProgress?.({ step: 'rotate-ca', member: m.spec.name, message: `${phase}: new certificates in place (no restart: etcd reloads them per handshake)` });
      try {
        await installWithFacts(run, m, m.steady, 'never'); // files only: the restart (if any) is the step's own
        await verifyMember(run, m, phase);
        await wait();
      } catch (err) {
        throw memberError(m, 'rotate-ca', err);
      }
      state = await record(run, m, phase, false, startedAt);
    }
    return state;
  }
  let startedAt = performance.now();
  await rollingRestart(
    {
      cluster: run.cluster,
      members: run.prepared.members,
      options: run.options,
      healthTimeoutMs: run.healthTimeoutMs,
      health: await wait(),
      stage: async (m) => {
        startedAt = performance.now();
        run.options.onProgress?.({ step: 'rotate-ca', member: m.spec.name, message: `${phase}: trusted CA file → ${phase === 'trust-both' ? 'old + new CA' : 'new CA only'}` });
        await installWithFacts(run, m, m.steady, 'never'); // files only: the restart (if any) is the step's own
      },
      restart: (m) => restartAndWait(run.connections.get(m.spec.name)!, m, run.spec.layout, run.options, run.healthTimeoutMs),
      settled: async (m) => {
        await verifyMember(run, m, phase);
        state = await record(run, m, phase, true, startedAt);
      },
      fail: async (m, err) => memberError(m, 'rotate-ca', await explainStartFailure(run.connections.get(m.spec.name)!, m, err, run.options.signal)),
    },
    todo,
  );
  return state;
}

/** Reads the PKI dir afresh (a phase changed it), renders every member for it and reconnects with its client files. */
async function refresh(run: Run): Promise<void> {
  run.view = await readRotationView(run.spec.pki.dir);
  run.prepared = await prepareBundles({ spec: run.spec, binaries: run.prepared.binaries }, run.options, false, run.view.outcome);
  run.cluster.close();
  run.cluster = openCluster(run.prepared);
}

/** The probe certificates of a run, made once (both CAs stay the same for the whole rotation). */
function probesOf(run: Run): Promise<Probes> {
  const { ca, rotation } = run.view.contents;
  run.probes ??= Promise.all([signClientCert(ca, { commonName: PROBE_NAME }), signClientCert(rotation!.next, { commonName: PROBE_NAME })]).then(([old, next]) => ({ old, new: next }));
  return run.probes;
}

/**
 * Rotates the cluster CA of `spec` on the running cluster, without downtime: the three phases described in
 * this module's header, each one member at a time with the cluster healthy between steps, each member's
 * step verified on its running etcd (it accepts the new CA's client certificates, serves new-CA
 * certificates, refuses old-CA client certificates at the end). Resumes a rotation under way (the PKI dir
 * records it); begins one otherwise. Holds the PKI dir's lock while it runs.
 *
 * Clients: `ca-bundle.crt` and `clients/<name>.{crt,key}` in the PKI dir are valid at every moment (old +
 * new CA from the start, the new client certificates from `new-leaves` on); a client that re-reads them
 * before each request never fails. See `stopAfter` for clients that read their CA file only once.
 *
 * Refused before any host changes: a member down or not answering, a host not in line with the spec
 * (deploy first), members that serve or trust another CA than the rotation's (`UNSAFE_CHANGE`,
 * `CA_MISMATCH`); a `keyAlgorithm` other than the one of the rotation under way (`PKI_INVALID_INPUT`).
 *
 * @example
 * ```ts
 * import { rotateEtcdCa } from 'etcd-kit';
 * const r = await rotateEtcdCa(spec, { keyAlgorithm: 'ecdsa-p256', onProgress: (e) => console.log(e.member ?? '', e.message ?? e.step) });
 * console.log(r.finished ? `new CA ${r.state.newCaFingerprint256}, old one in ${r.state.retiredDir}` : `stopped in phase ${r.state.phase}`);
 * ```
 * @category Deploy and day 2
 */
export async function rotateEtcdCa(spec: ClusterSpecInput | ClusterSpec, options: RotateCaOptions = {}): Promise<RotateCaResult> {
  const started = performance.now();
  checkOptions(options);
  const resolved = resolveSpec(spec, options);
  return withPkiLock(resolved.pki.dir, 'rotate-ca', () => rotate(resolved, options, started));
}

async function rotate(spec: ClusterSpec, options: RotateCaOptions, started: number): Promise<RotateCaResult> {
  const input = await loadInput(spec, options);
  const dir = input.spec.pki.dir;
  const recorded = await readCaRotationState(dir);
  if (isRotating(recorded) && options.keyAlgorithm !== undefined && options.keyAlgorithm !== recorded.keyAlgorithm) {
    throw new EtcdKitError(
      'PKI_INVALID_INPUT',
      `keyAlgorithm: a rotation to ${recorded.keyAlgorithm} is under way (phase ${recorded.phase}, since ${recorded.startedAt}); finish it before rotating to ${options.keyAlgorithm}`,
      { field: 'keyAlgorithm', details: { phase: recorded.phase, keyAlgorithm: recorded.keyAlgorithm } },
    );
  }
  // Local only: an interruption on the controller's side (a phase half entered, a finish cut short) is
  // completed first; a rotation whose finish was cut short is then done, and none begins in its place.
  const resumed = isRotating(recorded) ? await resumeCaRotation(dir) : recorded;
  const view = await readRotationView(dir);
  checkSpecCovered(input.spec, view.contents);

  const { prepared, connections } = await prepareConnected(input, options, view.outcome);
  const run: Run = {
    spec: input.spec,
    options,
    healthTimeoutMs: options.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
    connections,
    facts: new Map(),
    prepared,
    view,
    cluster: openCluster(prepared),
    steps: [],
  };
  try {
    options.onProgress?.({ step: 'inspect' });
    const inspections = await readMembers(prepared, connections, options);
    for (const [i, inspection] of inspections.entries()) run.facts.set(prepared.members[i]!.spec.name, inspection.facts);
    await assertReady(run, inspections, isRotating(resumed) ? resumed.phase : undefined);

    const began = !isRotating(recorded);
    let state: CaRotationState;
    if (began) {
      state = await beginCaRotation(dir, {
        // The token the members were founded with stays: derived from the old CA, it would change with it.
        ...(input.spec.name ? {} : { clusterToken: prepared.token }),
        ...(options.keyAlgorithm ? { keyAlgorithm: options.keyAlgorithm } : {}),
        ...(options.validityDays ? { validityDays: options.validityDays } : {}),
      });
      options.onProgress?.({ step: 'rotate-ca', message: `began: new CA ${state.newCaFingerprint256} (${state.keyAlgorithm}); ca-bundle.crt holds old + new` });
      await refresh(run);
    } else {
      state = resumed!;
      options.onProgress?.({ step: 'rotate-ca', message: `resuming the rotation begun ${recorded.startedAt}, phase ${state.phase}` });
    }

    const names = run.prepared.members.map((m) => m.spec.name);
    const phases: RotateCaResult['phases'] = [];
    for (;;) {
      const step = nextCaRotationStep(state, names);
      if (step.kind === 'done') break;
      if (step.kind === 'member') {
        const phaseStarted = performance.now();
        options.onProgress?.({ step: 'rotate-ca', message: `phase ${step.phase}: ${names.filter((n) => !state.membersDone[step.phase].includes(n)).join(', ')}` });
        state = await rollPhase(run, state, step.phase);
        phases.push({ phase: step.phase, durationMs: performance.now() - phaseStarted });
        continue;
      }
      if (options.stopAfter === step.from) {
        options.onProgress?.({ step: 'rotate-ca', message: `stopped after ${step.from} as asked; run again to continue with ${step.to}` });
        break;
      }
      state = await advanceCaRotation(dir, { members: names });
      options.onProgress?.({
        step: 'rotate-ca',
        message: state.phase === 'done' ? `finished: the new CA is ca.crt, the old one is in ${state.retiredDir}` : `entered ${state.phase}${state.phase === 'new-leaves' ? ': every member and client certificate re-issued by the new CA' : ''}`,
      });
      await refresh(run);
    }
    const health = await waitForEndpoints(run.cluster, { timeoutMs: run.healthTimeoutMs, signal: options.signal });
    options.onProgress?.({ step: 'done', message: state.phase === 'done' ? 'CA rotated' : `CA rotation in phase ${state.phase}` });
    return { state, finished: state.phase === 'done', began, steps: run.steps, phases, health, durationMs: performance.now() - started };
  } finally {
    run.cluster.close();
    await closeAll(connections);
  }
}
