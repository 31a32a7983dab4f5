/**
 * Everything a deploy or plan computes on the controller before it touches a host: the resolved spec,
 * verified binaries, the PKI, the token, and every member's bundle (once for the bootstrap state
 * `new`, once for the steady state `existing`; a joining member's is made the same way: memberBundle).
 * @module
 */
import { join } from 'node:path';
import { type ClusterPki, pkiPaths, readCaRotationState } from '../pki/index.js';
import { type PreparedBinaries, type PreparedBundle, prepareBinaries, prepareMemberBundle } from '../remote/index.js';
import { type ClusterMember, clientUrl, renderEtcdctlEnv, renderEtcdEnv, renderSystemdUnit } from '../render/index.js';
import { connectCluster, type EtcdCluster } from '../etcd/index.js';
import { adminTls, ensureClusterPki, type PkiOutcome } from './cluster-pki.js';
import { prepareTarballCached } from './binaries-cache.js';
import { defaultDownloadCacheDir, fetchVerifiedTarball } from './download.js';
import { sha256Hex } from './hash.js';
import type { ClientCertPaths, DeployOptions } from './types.js';
import { type ClusterSpec, type ResolvedMember, resolveClusterSpec } from './resolve-spec.js';

/** One member with both of its bundles. */
export interface PreparedMember {
  /** The member from the spec. */
  spec: ResolvedMember;
  /** Bundle with `ETCD_INITIAL_CLUSTER_STATE=new`: used only to found a new cluster. */
  bootstrap: PreparedBundle;
  /** Bundle with `ETCD_INITIAL_CLUSTER_STATE=existing`: what every member holds once the cluster exists. */
  steady: PreparedBundle;
}

/** The controller-side result of preparing a deploy. */
export interface PreparedDeploy {
  spec: ClusterSpec;
  binaries: PreparedBinaries;
  /** The etcd release installed, `X.Y.Z`: every env file and the unit are rendered for it. */
  etcdVersion: string;
  pki: PkiOutcome;
  token: string;
  endpoints: string[];
  members: PreparedMember[];
}

/** A connection to the cluster as prepared: its members' client URLs, the admin client and the CAs clients trust now. */
export function openCluster(prepared: Pick<PreparedDeploy, 'endpoints' | 'pki'>): EtcdCluster {
  return connectCluster({ endpoints: prepared.endpoints, tls: adminTls(prepared.pki.pki, prepared.pki.clientCaPem) });
}

/** True when `value` is a {@link ClusterSpec} already (from resolveClusterSpec or loadClusterSpecFile). */
export function isResolvedSpec(value: unknown): value is ClusterSpec {
  return value !== null && typeof value === 'object' && (value as { kind?: unknown }).kind === 'etcd-kit/cluster-spec';
}

/**
 * Stable per-cluster token: the spec's name, else the one a CA rotation recorded (`recorded`: derived from
 * the CA the cluster began with, which the rotation replaced), else derived from the CA (unique per
 * cluster, same every run).
 */
export function clusterToken(spec: ClusterSpec, pki: ClusterPki, recorded?: string): string {
  if (spec.name) return spec.name;
  return recorded ?? `etcd-${sha256Hex(pki.ca.certPem).slice(0, 12)}`;
}

/** Where unpacked binaries (and versions read by running them) are kept on the controller. */
export function binariesCacheDir(options: DeployOptions): string {
  return join(options.downloadCacheDir ?? defaultDownloadCacheDir(), '..', 'binaries');
}

async function loadBinaries(spec: ClusterSpec, options: DeployOptions): Promise<PreparedBinaries> {
  const source = spec.etcd;
  if ('binDir' in source) return prepareBinaries({ dir: source.binDir });
  if ('tarball' in source) return prepareTarballCached(source.tarball, binariesCacheDir(options));
  const fetched = await fetchVerifiedTarball(source.url, source.sha256, {
    ...(options.downloadCacheDir ? { cacheDir: options.downloadCacheDir } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => options.onProgress?.({ step: 'binaries', bytes: p.bytes, ...(p.totalBytes ? { totalBytes: p.totalBytes } : {}), message: p.cached ? 'cached' : 'downloading' }),
  });
  return prepareTarballCached(fetched.path, binariesCacheDir(options));
}

/**
 * Client certificate paths in the PKI dir, by client name. The CA file is `ca-bundle.crt`: what a client
 * must trust at every moment, the CA alone or (during a CA rotation) old + new.
 */
export function clientCertPaths(spec: ClusterSpec): Record<string, ClientCertPaths> {
  const paths = pkiPaths(spec.pki.dir);
  return Object.fromEntries(
    spec.pki.clients.map((name) => {
      const client = paths.client(name);
      return [name, { caFile: paths.caBundle, certFile: client.cert, keyFile: client.key }];
    }),
  );
}

/** The spec validated and the binaries in hand: enough to start connecting to the hosts. */
export interface ResolvedInput {
  spec: ClusterSpec;
  binaries: PreparedBinaries;
}

/** Validates the spec (a {@link ClusterSpec} is taken as it is). Nothing here touches a host. */
export function resolveSpec(input: unknown, options: Pick<DeployOptions, 'onProgress'>): ClusterSpec {
  options.onProgress?.({ step: 'validate' });
  return isResolvedSpec(input) ? input : resolveClusterSpec(input);
}

/** Fetches/verifies the binaries of a validated spec. Nothing here touches a host. */
export async function loadInput(spec: ClusterSpec, options: DeployOptions): Promise<ResolvedInput> {
  options.onProgress?.({ step: 'binaries' });
  return { spec, binaries: await loadBinaries(spec, options) };
}

/** {@link resolveSpec} then {@link loadInput}: validates the spec and fetches/verifies the binaries. */
export async function resolveInput(input: unknown, options: DeployOptions): Promise<ResolvedInput> {
  return loadInput(resolveSpec(input, options), options);
}

/** What rendering a member's bundle takes from a prepared deploy. */
export type BundleInputs = Pick<PreparedDeploy, 'spec' | 'binaries' | 'etcdVersion' | 'pki' | 'token' | 'endpoints'>;

/** The env file of member `name` starting, with `state`, in a cluster of `members` (the spec's, or the running membership it joins). */
export function renderMemberEnv(inputs: BundleInputs, name: string, members: ClusterMember[], state: 'new' | 'existing'): string {
  const { spec, token, etcdVersion } = inputs;
  return renderEtcdEnv({ member: name, members, token, state, layout: spec.layout, settings: spec.settingsInput, etcdVersion });
}

/**
 * `member`'s bundle with the env file `env`, checked and hashed by prepareMemberBundle: how every bundle a
 * deploy installs is made (bootstrap, steady, a join's).
 */
export function memberBundle(inputs: BundleInputs, member: ResolvedMember, env: string): Promise<PreparedBundle> {
  const { spec, binaries, etcdVersion, pki, endpoints } = inputs;
  const certs = pki.pki.members[member.name]!;
  return prepareMemberBundle({
    binaries,
    layout: spec.layout,
    files: {
      caCert: pki.memberTrustedCaPem ?? pki.pki.ca.certPem,
      serverCert: certs.server.certPem,
      serverKey: certs.server.keyPem,
      peerCert: certs.peer.certPem,
      peerKey: certs.peer.keyPem,
      env,
      unit: renderSystemdUnit({ layout: spec.layout, etcdVersion }),
      etcdctlEnv: renderEtcdctlEnv({ endpoints, layout: spec.layout }),
    },
  });
}

/**
 * Creates or reuses the PKI and renders every member's bundles for the binaries' version (which must be
 * known by now: `resolveTargetVersion`). With `persist: false` (plans, dry runs) a missing PKI is generated
 * in memory and nothing is written. `given`: a PKI read already (a CA rotation renders from its phase's
 * files; the deploy's own ensureClusterPki refuses mid-rotation).
 */
export async function prepareBundles({ spec, binaries }: ResolvedInput, options: DeployOptions, persist: boolean, given?: PkiOutcome): Promise<PreparedDeploy> {
  const etcdVersion = binaries.version;
  if (etcdVersion === undefined) throw new Error('etcd-kit bug: the etcd version must be resolved before rendering');
  options.onProgress?.({ step: 'pki' });
  const pki = given ?? (await ensureClusterPki(spec, { persist }));
  const token = clusterToken(spec, pki.pki, (await readCaRotationState(spec.pki.dir))?.clusterToken);
  const clusterMembers = spec.members.map((m) => m.cluster);
  const endpoints = clusterMembers.map(clientUrl);
  const inputs: BundleInputs = { spec, binaries, etcdVersion, pki, token, endpoints };
  const members = await Promise.all(
    spec.members.map(async (member) => {
      const bundleFor = (state: 'new' | 'existing') => memberBundle(inputs, member, renderMemberEnv(inputs, member.name, clusterMembers, state));
      const [bootstrap, steady] = await Promise.all([bundleFor('new'), bundleFor('existing')]);
      return { spec: member, bootstrap, steady };
    }),
  );
  return { spec, binaries, etcdVersion, pki, token, endpoints, members };
}

/** {@link resolveInput} then {@link prepareBundles}: everything up to the first SSH connection (for sources that name their version). */
export async function prepareDeploy(input: unknown, options: DeployOptions, persist: boolean): Promise<PreparedDeploy> {
  return prepareBundles(await resolveInput(input, options), options, persist);
}
