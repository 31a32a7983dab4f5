/**
 * Public types of the orchestration layer: options, progress events, the plan and the deploy result.
 * @module
 */
import type { ClusterHealth } from '../etcd/index.js';
import type { VersionChangeKind } from './version-rules.js';

/**
 * Steps a deploy or plan goes through, in order.
 * @category Deploy and day 2
 */
export type DeployStep =
  | 'validate'
  | 'binaries'
  | 'pki'
  | 'connect'
  | 'inspect'
  | 'upload'
  | 'apply'
  | 'start'
  | 'wait-healthy'
  | 'snapshot'
  | 'restart'
  | 'replace'
  | 'move'
  | 'finalize'
  | 'remove'
  | 'restore'
  | 'rotate-ca'
  | 'done';

/**
 * One progress report of {@link deployEtcdCluster} or {@link planEtcdCluster}. Never carries key material.
 * @category Deploy and day 2
 */
export interface DeployProgressEvent {
  /** The step. */
  step: DeployStep;
  /** Member the event is about; absent for cluster-wide steps. */
  member?: string;
  /** Remote path being uploaded (`upload`). */
  file?: string;
  /** Bytes of `file` sent so far (`upload`), or downloaded so far (`binaries`). */
  bytes?: number;
  /** Size of `file` in bytes (`upload`), or of the download (`binaries`). */
  totalBytes?: number;
  /** Short human-readable note. */
  message?: string;
  /** Set on the cluster-wide `restart` event that hands leadership over before the leader's own restart. */
  leadership?: {
    /** The member that leads now and restarts next. */
    from: string;
    /** The member that leads after the move: a healthy voter, one already restarted in this run when there is one. */
    to: string;
  };
}

/**
 * Options of {@link deployEtcdCluster}.
 * @category Deploy and day 2
 */
export interface DeployOptions {
  /** Receives progress events. Must not throw. */
  onProgress?: (event: DeployProgressEvent) => void;
  /** Cancels the deploy; it rejects with code `ABORTED` (files already in place stay consistent). */
  signal?: AbortSignal;
  /**
   * Only compute and return the plan; change nothing anywhere (not even the local PKI dir). Default: false.
   * Not part of the public API (stripped from the published types): call {@link planEtcdCluster} to plan.
   * It stays for `planEtcdCluster` itself and the CLI's `deploy --dry-run`.
   * @internal
   */
  dryRun?: boolean;
  /** Longest wait in ms for the cluster (or a restarted member) to become healthy. Default: 120000. */
  healthTimeoutMs?: number;
  /** Download cache for `etcd.url` sources. Default: `~/.cache/etcd-kit/downloads`. */
  downloadCacheDir?: string;
  /**
   * Directory on the controller (this machine) for the checked snapshot a deploy takes before it changes
   * any member's etcd version (upgrade, downgrade, patch change). Relative paths are resolved against the
   * process's working directory; created 0700 when missing; files are
   * `<token>-<running version>-<UTC yyyymmddThhmmssZ>.db`, mode 0600. Default: `./etcd-kit-backups`.
   */
  backupDir?: string;
}

/**
 * Options of {@link planEtcdCluster}.
 * @category Deploy and day 2
 */
export type PlanOptions = Pick<DeployOptions, 'onProgress' | 'signal' | 'downloadCacheDir' | 'backupDir'>;

/**
 * What will happen (plan) to one file on one member.
 * @category Deploy and day 2
 */
export interface PlannedFileChange {
  /** Path on the host. */
  path: string;
  /** `create` (missing), `update` (content differs), `permissions` (content right, mode/owner not). */
  action: 'create' | 'update' | 'permissions';
}

/**
 * What the plan finds for one member.
 * @category Deploy and day 2
 */
export interface MemberPlan {
  /** Member name. */
  name: string;
  /** SSH host. */
  host: string;
  /** File changes; empty when the member is up to date. */
  files: PlannedFileChange[];
  /**
   * Service action: start a stopped member, restart (rolling) a running one, join a new host to the running
   * cluster (added as a learner, started, promoted once caught up), replace a member whose data is gone or
   * no longer matches the cluster (stop, member remove, data dir cleared, added as a learner, started,
   * promoted), move a member the cluster lists on another host (the old host cleaned when reachable, member
   * remove, then a join on the new host), or nothing.
   */
  service: 'none' | 'start' | 'restart' | 'join' | 'replace' | 'move';
  /**
   * Why the service action: for a member that is not well `down (etcd inactive/dead, data intact)`,
   * `data dir empty`, for a move the old and the new host (`10.0.0.13 → 10.0.0.14`); for a restart what
   * changed (`settings changed: ETCD_SNAPSHOT_COUNT`, `etcd binary changed`, ...). Absent when nothing
   * happens to the service.
   */
  reason?: string;
  /**
   * What the member is in the running cluster, from the plan's health check: `up` (answers), `down` (does
   * not answer, data intact: started, or restarted after a second look when its etcd runs), `replace` (data lost), `move`
   * (the cluster lists it on another host), `new` (not a member yet). Absent without a running cluster.
   */
  state?: 'up' | 'down' | 'replace' | 'move' | 'new';
  /** Other changes to the host, in words: account, directory modes, unit enablement, daemon-reload. */
  hostChanges: string[];
  /** Ports to open in the host's active firewall (empty when open already, or no firewall blocks them). */
  firewallOpens: number[];
  /** Whether etcd is running there now, and its main PID (0 when not). */
  running: boolean;
  /** etcd's main PID (0 when not running). */
  mainPid: number;
  /** The member's etcd version now and after the deploy. */
  version: MemberVersionPlan;
}

/**
 * A member's etcd version before and after a deploy (a change etcd's rules forbid is `VERSION_CHANGE_REFUSED`).
 * @category Deploy and day 2
 */
export interface MemberVersionPlan {
  /** What the running etcd reports (absent when it does not run or answer). */
  running?: string;
  /** Version of the etcd binary on the host, for a member that has data but does not answer. */
  onDisk?: string;
  /** The release the deploy installs (`X.Y.Z`), the same for every member. */
  target: string;
  /** The change: `install` (no etcd yet), `none`, `patch-up`, `patch-down`, `upgrade` or `downgrade` (rollback). */
  change: VersionChangeKind;
}

/**
 * One step of a plan, in the order the deploy carries them out (see `ClusterPlan.operations`).
 * @category Deploy and day 2
 */
export interface PlannedOperation {
  /**
   * What: `create-pki`, `issue-certificates`, `snapshot`, `install` / `start` / `finalize` (a new cluster),
   * `update-files` (no restart), `replace`, `move`, `start`, `restart`, `join`, `move-leader`, or the version change
   * of a member's rolling restart (`upgrade`, `downgrade`, `patch-up`, `patch-down`).
   */
  kind:
    | 'create-pki'
    | 'issue-certificates'
    | 'snapshot'
    | 'install'
    | 'finalize'
    | 'update-files'
    | 'replace'
    | 'move'
    | 'start'
    | 'restart'
    | 'join'
    | 'move-leader'
    | 'upgrade'
    | 'downgrade'
    | 'patch-up'
    | 'patch-down';
  /** The member it is about; absent for cluster-wide steps. */
  member?: string;
  /** What is done, in a few words (`3.4.23 → 3.5.30, placing 4 files first`); empty when the kind says it all. */
  summary: string;
  /** Why (`etcd binary changed; a follower; healthy and caught up before the next`). */
  reason: string;
}

/**
 * Result of {@link planEtcdCluster}.
 * @category Deploy and day 2
 */
export interface ClusterPlan {
  /**
   * The operations, in the order the deploy carries them out, each with its reason; empty when nothing
   * changes. The per-member details (files, versions) are in `members`.
   */
  operations: PlannedOperation[];
  /** `bootstrap`: no member runs yet, the cluster is created; `update`: a running cluster is changed. */
  mode: 'bootstrap' | 'update';
  /** Per-member plan, in spec order. */
  members: MemberPlan[];
  /** Local PKI work: CA creation and certificates to issue. */
  pki: {
    /** A new CA (and every certificate) will be created. */
    createCa: boolean;
    /** Members whose server/peer certificates will be issued with the existing CA. */
    issueMembers: string[];
    /** Client certificates that will be issued with the existing CA. */
    issueClients: string[];
  };
  /** The etcd release the deploy installs on every member, `X.Y.Z` (each member's change: `members[i].version`). */
  etcdVersion: string;
  /** True when nothing at all would change. */
  noChanges: boolean;
  /** Spec warnings (even member count, ...). */
  warnings: string[];
  /**
   * Set when the deploy will take a checked snapshot before its first restart (a member's etcd version
   * changes): the directory on the controller it goes to. Absent otherwise.
   */
  snapshotBeforeChange?: {
    /** Absolute directory on the controller the snapshot file goes to (`DeployOptions.backupDir`). */
    dir: string;
  };
}

/**
 * What happened on one member during a deploy.
 * @category Deploy and day 2
 */
export interface MemberDeployReport {
  /** Member name. */
  name: string;
  /** SSH host. */
  host: string;
  /** Paths uploaded and replaced. */
  changedFiles: string[];
  /** Bytes uploaded. */
  bytesSent: number;
  /** etcd was started. */
  started: boolean;
  /** etcd was restarted (rolling, one member at a time). */
  restarted: boolean;
  /** The member was replaced (its data was gone or no longer matched the cluster): it has a new member id. */
  replaced?: boolean;
  /** The member moved here from another host: it has a new member id (see {@link MemberMoveReport}). */
  moved?: MemberMoveReport;
  /** Ports this run opened in the host's firewall (empty when none were needed). */
  firewallOpened: number[];
  /** The version etcd reports on this member after the deploy (absent if it did not answer the final check). */
  version?: string;
}

/**
 * How a member moved (its report's `moved`).
 * @category Deploy and day 2
 */
export interface MemberMoveReport {
  /** The host it moved from (its old peer URL's host). */
  from: string;
  /** Its member id on the old host, removed from the cluster (or already gone). */
  oldMemberId: string;
  /**
   * The old host: `cleaned` (etcd stopped and disabled, etcd-kit's files removed, the data dir moved
   * aside), or `unreachable` (not cleaned: it could not be reached over SSH, or its host key is not in
   * known_hosts; a warning says so).
   */
  oldHost: 'cleaned' | 'unreachable';
  /** Where the old host's data dir was moved (absent when it was not cleaned, or had no data). */
  dataMovedAside?: string;
}

/**
 * Paths on the controller of a client certificate issued for the cluster.
 * @category Deploy and day 2
 */
export interface ClientCertPaths {
  /**
   * CAs to trust: the PKI dir's `ca-bundle.crt` (the CA alone; old + new during a CA rotation). Re-read it
   * when a rotation begins and once it finished (see the CA rotation guide).
   */
  caFile: string;
  /** Client certificate. */
  certFile: string;
  /** Client key (0600). */
  keyFile: string;
}

/**
 * Result of {@link deployEtcdCluster}.
 * @category Deploy and day 2
 */
export interface DeployResult {
  /** False when the run changed nothing anywhere ("no changes"). */
  changed: boolean;
  /** The plan the run carried out ({@link planEtcdCluster} returns the same without carrying it out). */
  plan: ClusterPlan;
  /** The etcd release installed, `X.Y.Z`. */
  etcdVersion: string;
  /** Per-member report, in spec order. */
  members: MemberDeployReport[];
  /** Client URLs of the members. */
  endpoints: string[];
  /** Health picture after the deploy (its final health check). */
  health: ClusterHealth | undefined;
  /** Client certificate paths by client name (`admin`, `kube-apiserver`, ...). */
  clientCerts: Record<string, ClientCertPaths>;
  /** kube-apiserver flags for this cluster, using the `kube-apiserver` client certificate. */
  kubeApiserverFlags: string[];
  /** The initial cluster token in use. */
  token: string;
  /** Wall time in ms. */
  durationMs: number;
  /** The checked snapshot taken before the first restart because an etcd version changed (absent otherwise). */
  snapshot?: PreChangeSnapshot;
}

/**
 * A snapshot {@link deployEtcdCluster} took on the controller before changing an etcd version.
 * @category Deploy and day 2
 */
export interface PreChangeSnapshot {
  /** Absolute path of the file (mode 0600). */
  path: string;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
  /** Revision of the key space at the snapshot (etcd 3.5+ reports it; absent for 3.4). */
  revision?: string;
  /** Endpoint that served it. */
  endpoint: string;
}
