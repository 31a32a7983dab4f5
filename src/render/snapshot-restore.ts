// The command that turns a snapshot into one member's new data dir, as each etcd release spells it:
// `etcdutl snapshot restore` from 3.5 (3.6 removed `etcdctl snapshot restore`), `etcdctl snapshot restore`
// with ETCDCTL_API=3 on 3.4. `--bump-revision`/`--mark-compacted` exist from 3.5.10 (etcdutl and etcdctl).
import { compareEtcdVersions, parseEtcdVersion } from './etcd-version.js';
import { parseEnvFile } from './env-file.js';
import { invalidInput } from './invalid.js';

/** First release whose restore knows `--bump-revision` and `--mark-compacted` (etcd PR #16165, 3.5.10). */
export const BUMP_REVISION_SINCE = '3.5.10';

/** One member of the restored cluster, as `--initial-cluster` lists it. */
export interface RestoreClusterMember {
  /** Member name. */
  name: string;
  /** Its peer URL. */
  peerUrl: string;
}

/** What {@link snapshotRestoreCommand} needs. Every path absolute on the host. */
export interface SnapshotRestoreInput {
  /** The etcd release installed (`X.Y.Z`): decides the tool and the flags. */
  etcdVersion: string;
  /** Directory holding `etcdutl` / `etcdctl` (the layout's `binDir`). */
  binDir: string;
  /** The snapshot (or db) file on the host. */
  snapshotPath: string;
  /** This member's name. */
  name: string;
  /** New data dir to create (must not exist). */
  dataDir: string;
  /** Every member, `name=peerURL`, in spec order. */
  initialCluster: readonly RestoreClusterMember[];
  /** Cluster token of the new cluster. */
  token: string;
  /** This member's peer URL. */
  peerUrl: string;
  /** Raise the revision by this much after the restore (watch clients never see it go back). Default: 0. */
  bumpRevision?: number;
  /** Mark the restored revision compacted (needed with `bumpRevision` > 0, refused without). Default: false. */
  markCompacted?: boolean;
  /** A db file copied from a data dir has no SHA-256 trailer: skip that check. Default: false. */
  skipHashCheck?: boolean;
}

/** A command line for the host: the tool's path, its arguments, its environment. */
export interface SnapshotRestoreCommand {
  /** `etcdutl` (3.5+) or `etcdctl` (3.4). */
  tool: 'etcdutl' | 'etcdctl';
  /** Absolute path of the tool. */
  path: string;
  /** Arguments after the tool. */
  args: string[];
  /** Environment variables the tool needs (`ETCDCTL_API=3` for 3.4). */
  env: Record<string, string>;
}

/** Whether release `etcdVersion` can bump the revision on restore. */
export function restoreCanBumpRevision(etcdVersion: string): boolean {
  return compareEtcdVersions(parseEtcdVersion(etcdVersion), parseEtcdVersion(BUMP_REVISION_SINCE)) >= 0;
}

/**
 * The restore command for one member (see the module comment). Throws `RENDER_INVALID_INPUT` naming the
 * field: `bumpRevision` not a non-negative integer or not supported by the release, `markCompacted`
 * without a bump or a bump without it (etcd requires both or neither).
 *
 * @example
 * ```ts
 * snapshotRestoreCommand({ etcdVersion: '3.6.14', binDir: '/opt/etcd/bin', snapshotPath: '/tmp/s.db', name: 'etcd01',
 *   dataDir: '/var/lib/etcd.restore', initialCluster: [{ name: 'etcd01', peerUrl: 'https://10.0.0.11:2380' }],
 *   token: 'etcd-restored', peerUrl: 'https://10.0.0.11:2380' }).args[0]; // 'snapshot'
 * ```
 */
export function snapshotRestoreCommand(input: SnapshotRestoreInput): SnapshotRestoreCommand {
  const version = parseEtcdVersion(input.etcdVersion);
  const bump = input.bumpRevision ?? 0;
  if (!Number.isSafeInteger(bump) || bump < 0) throw invalidInput('bumpRevision', 'must be a non-negative integer');
  const markCompacted = input.markCompacted ?? false;
  if (bump > 0 && !restoreCanBumpRevision(input.etcdVersion)) {
    throw invalidInput('bumpRevision', `etcd ${input.etcdVersion} cannot bump the revision on restore (from ${BUMP_REVISION_SINCE}); upgrade first, or restore without it`);
  }
  if (bump > 0 && !markCompacted) throw invalidInput('markCompacted', 'required with bumpRevision > 0 (etcd refuses a bump without it)');
  if (bump === 0 && markCompacted) throw invalidInput('markCompacted', 'only with bumpRevision > 0');
  const tool = version.minor >= 5 || version.major > 3 ? 'etcdutl' : 'etcdctl';
  const args = [
    'snapshot',
    'restore',
    input.snapshotPath,
    `--name=${input.name}`,
    `--data-dir=${input.dataDir}`,
    `--initial-cluster=${input.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(',')}`,
    `--initial-cluster-token=${input.token}`,
    `--initial-advertise-peer-urls=${input.peerUrl}`,
    ...(input.skipHashCheck ? ['--skip-hash-check'] : []),
    ...(bump > 0 ? [`--bump-revision=${bump}`, '--mark-compacted'] : []),
  ];
  return { tool, path: `${input.binDir}/${tool}`, args, env: tool === 'etcdctl' ? { ETCDCTL_API: '3' } : {} };
}

/**
 * For the first start of members restored from one snapshot: the env settings (on top of the member's env
 * file) that skip etcd's initial corruption check, or undefined when the file does not turn it on. Every
 * member holds the same restored data, so there is nothing to compare — and members starting together each
 * wait for the others' hashes until a 7 s timeout (etcd 3.6 with the `InitialCorruptCheck` gate, ~14 s per
 * start measured here). The check still runs at every later start.
 *
 * @example
 * ```ts
 * restoreStartEnv('ETCD_FEATURE_GATES="InitialCorruptCheck=true"\n'); // { ETCD_FEATURE_GATES: 'InitialCorruptCheck=false' }
 * ```
 */
export function restoreStartEnv(envText: string): Record<string, string> | undefined {
  const env = parseEnvFile(envText);
  const gates = env['ETCD_FEATURE_GATES'];
  if (gates !== undefined && /(^|,)InitialCorruptCheck=true($|,)/.test(gates)) {
    return { ETCD_FEATURE_GATES: gates.replace(/(^|,)InitialCorruptCheck=true(?=$|,)/, '$1InitialCorruptCheck=false') };
  }
  if (env['ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK'] === 'true') return { ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: 'false' };
  return undefined;
}
