/**
 * The etcd release a deploy installs, known before anything is rendered or changed. A release tarball names
 * it (`etcd-v3.5.30-linux-amd64/`), and every host that receives the binary runs it with `--version` before
 * placing it (src/remote/install-plan.ts). A `binDir` names nothing: its etcd is uploaded to the first host's staging
 * directory, run there with `--version` and deleted — once per binary, as the answer is remembered on the
 * controller by the binary's SHA-256 (a re-run uploads nothing). Either way the version is then checked
 * against every host that already has the same binary (its facts report `etcd --version`).
 * @module
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EtcdKitError } from '../errors.js';
import { type MemberInspection, type PreparedBinaries, probeEtcdVersion, type SshConnection } from '../remote/index.js';
import { binariesCacheDir, type PreparedDeploy, type PreparedMember, prepareBundles, type ResolvedInput } from './prepare.js';
import type { PkiOutcome } from './cluster-pki.js';
import { closeAll, connectMembers, type MemberRef, remoteOptions } from './member-connections.js';
import type { DeployOptions } from './types.js';
import { assertInstallableVersion } from './version-rules.js';

const VERSION = /^\d+\.\d+\.\d+$/;

async function remembered(file: string): Promise<string | undefined> {
  const text = (await readFile(file, 'utf8').catch(() => '')).trim();
  return VERSION.test(text) ? text : undefined;
}

async function remember(file: string, version: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(join(file, '..'), { recursive: true, mode: 0o755 });
    await writeFile(temp, `${version}\n`);
    await rename(temp, file);
  } catch {
    // Only an optimisation: the next run asks a host again.
  }
}

/**
 * `binaries` with their version known and installable (`VERSION_CHANGE_REFUSED` for an unknown minor or
 * 3.5.0–3.5.2, before any host is touched). `firstHost` is only called for a source that names no version.
 *
 * @param cacheDir - Where versions read by running a binary are remembered (`<cacheDir>/versions/<sha256>`).
 */
export async function resolveTargetVersion(
  binaries: PreparedBinaries,
  firstHost: () => Promise<{ member: MemberRef; connection: SshConnection }>,
  cacheDir: string,
  options: DeployOptions,
): Promise<PreparedBinaries> {
  let version: string | undefined = binaries.version;
  if (version === undefined) {
    const etcd = binaries.files.find((f) => f.name === 'etcd')!;
    const file = join(cacheDir, 'versions', etcd.sha256);
    version = await remembered(file);
    if (version === undefined) {
      const { member, connection } = await firstHost();
      options.onProgress?.({ step: 'binaries', member: member.spec.name, message: 'running etcd --version there (the binaries name no version)' });
      version = await probeEtcdVersion(connection, binaries, remoteOptions(member, options));
      await remember(file, version);
    }
  }
  assertInstallableVersion(version);
  return version === binaries.version ? binaries : { ...binaries, version };
}

/**
 * Throws `BUNDLE_INVALID` when a host already runs the very etcd binary the deploy installs (same SHA-256: a
 * flat install's `<binDir>/etcd`, or the etcd of the version directory `current` names) and it reports
 * another version than the one everything was decided for: a mislabelled release. Pure.
 */
export function confirmTargetVersion(members: readonly PreparedMember[], inspections: readonly MemberInspection[], target: string): void {
  members.forEach((m, i) => {
    const etcd = m.steady.files.find((f) => f.role === 'etcd');
    const facts = inspections[i]?.facts;
    if (!etcd || !facts) return;
    const binDir = m.steady.layout.binDir;
    const current = facts.links.get(`${binDir}/current`);
    const onHost = [`${binDir}/etcd`, ...(current === undefined ? [] : [`${binDir}/${current}/etcd`])];
    if (!onHost.some((p) => facts.hashes.get(p) === etcd.sha256)) return;
    if (facts.etcdVersion !== undefined && facts.etcdVersion !== target) {
      throw new EtcdKitError(
        'BUNDLE_INVALID',
        `${m.spec.name} (${m.spec.ssh.host}): the etcd binary to install reports ${facts.etcdVersion} there, not ${target} as its release name says; nothing was changed`,
        { member: m.spec.name, field: 'etcd', details: { expected: target, reported: facts.etcdVersion } },
      );
    }
  });
}

/**
 * The spec rendered for the release it installs, in memory (nothing written): the target version resolved
 * ({@link resolveTargetVersion}, a binDir probed on the first member's host over `connecting`), then every
 * member's bundle (from `pki` when given).
 */
async function prepareForRelease(
  input: ResolvedInput,
  connecting: Promise<Map<string, SshConnection>>,
  options: DeployOptions,
  pki?: PkiOutcome,
): Promise<PreparedDeploy> {
  const first = input.spec.members[0]!;
  const binaries = await resolveTargetVersion(
    input.binaries,
    async () => ({ member: { spec: first }, connection: (await connecting).get(first.name)! }),
    binariesCacheDir(options),
    options,
  );
  return prepareBundles({ ...input, binaries }, options, false, pki);
}

/**
 * `prepareForRelease` while one SSH connection per member opens (read-only: nothing is changed before
 * both are done). Closes whatever opened when either fails. The opening of a deploy, a restore and a CA rotation.
 */
export async function prepareConnected(
  input: ResolvedInput,
  options: DeployOptions,
  pki?: PkiOutcome,
): Promise<{ prepared: PreparedDeploy; connections: Map<string, SshConnection> }> {
  const connecting = connectMembers(
    input.spec.members.map((m) => ({ spec: m })),
    options,
  );
  connecting.catch(() => {}); // awaited below; this only stops an early failure from counting as unhandled
  try {
    const prepared = await prepareForRelease(input, connecting, options, pki);
    return { prepared, connections: await connecting };
  } catch (err) {
    await closeAll(await connecting.catch(() => new Map()));
    throw err;
  }
}
