/**
 * `etcd-kit/remote`: the remote-host layer beyond {@link etcd-kit!installMember | installMember} — verified SSH connections to reuse
 * across calls, the other member operations (inspect, start/restart/stop, uninstall, clear or restore the
 * data dir, read the journal), known_hosts helpers and the SSH defaults.
 *
 * ```ts
 * import { connect, inspectMember, restartMember } from 'etcd-kit/remote';
 * ```
 * @module etcd-kit/remote
 */
// The errors, and the types of `etcd-kit` this entry's functions take or return, are exported here too.
export { EtcdKitError, type EtcdKitErrorCode, type EtcdKitErrorOptions, isEtcdKitError } from './errors.js';
export { type MemberBundle, type PreparedBinaries, type PreparedBundle, type RemoteCallOptions, type RemoteHost, SshConnection, type SshTarget } from './remote/index.js';
export {
  type BundleDir,
  type BundleFile,
  type BundleFileRole,
  type BundleLink,
  type ClearMemberDataOptions,
  type ClearMemberDataReport,
  type ConnectOptions,
  clearMemberData,
  clearStartOnce,
  cleanJournalLine,
  connect,
  DEFAULT_KNOWN_HOSTS_PATH,
  DEFAULT_SSH_IDENTITY_FILES,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  ETCD_BINARY_NAMES,
  fingerprintOfKey,
  formatKnownHostsLine,
  type InspectedFile,
  inspectMember,
  type KnownHostEntry,
  knownHostsName,
  type MemberInspection,
  normalizeFingerprint,
  type Privilege,
  parseKnownHosts,
  prepareMemberBundle,
  probeEtcdVersion,
  type ReadJournalOptions,
  type ReadMemberDbOptions,
  type RestartCause,
  type RestoreDataOptions,
  type RestoreDataReport,
  type RestorePaths,
  type RunOptions,
  type RunResult,
  readJournal,
  readMemberDb,
  readMemberUnit,
  resolveSshAgent,
  restartMember,
  restoreMemberData,
  type ServiceActionResult,
  type ServiceOptions,
  type SnapshotBytes,
  type StartOnceOptions,
  startMember,
  startMemberOnceWith,
  stopMember,
  type UninstallMemberOptions,
  type UninstallReport,
  type UnitFacts,
  type UploadedSnapshot,
  uninstallMember,
  uploadSnapshot,
} from './remote/index.js';
