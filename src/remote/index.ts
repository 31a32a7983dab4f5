// Public surface of src/remote: the barrel re-exports exactly what is listed here.
/**
 * Remote hosts over SSH: verified connections (known_hosts or pinned fingerprints, key or agent auth,
 * root or `sudo -n`), and the member operations — install, inspect, start/restart/stop, uninstall — that
 * put etcd on a host with atomic, hash-checked, minimal uploads.
 * @module
 */
export {
  type BinarySource,
  ETCD_BINARY_NAMES,
  type EtcdBinaryName,
  elfArch,
  type PreparedBinaries,
  type PreparedBinary,
  prepareBinaries,
} from './binaries.js';
export { probeEtcdVersion } from './binary-version.js';
export {
  type BundleDir,
  type BundleFile,
  type BundleFileRole,
  type BundleLink,
  type MemberBundle,
  type MemberFiles,
  type PreparedBundle,
  prepareMemberBundle,
  VERSION_DIR_NAME,
} from './bundle.js';
export {
  type ConnectOptions,
  connect,
  type Privilege,
  type RunOptions,
  type RunResult,
  SshConnection,
} from './connection.js';
export type { HostFacts, PathStat, UnitFacts } from './facts.js';
export type { FirewallFacts, NftInputChain } from './firewall.js';
export { type ClearMemberDataOptions, type ClearMemberDataReport, clearMemberData } from './data-dir.js';
export {
  type ReadMemberDbOptions,
  readMemberDb,
  RESTORE_HASH_MISMATCH_EXIT,
  type RestoreDataOptions,
  type RestoreDataReport,
  type RestorePaths,
  restoreMemberData,
  type SnapshotBytes,
  type UploadedSnapshot,
  uploadSnapshot,
} from './restore-data.js';
export { type InspectedFile, inspectMember, type MemberInspection } from './inspect-member.js';
export { type InstallMemberOptions, type InstallReport, installMember } from './install-member.js';
export { cleanJournalLine, type ReadJournalOptions, readJournal } from './journal.js';
export {
  fingerprintOfKey,
  formatKnownHostsLine,
  type KnownHostEntry,
  knownHostsName,
  normalizeFingerprint,
  parseKnownHosts,
} from './known-hosts.js';
export { DEFAULT_KNOWN_HOSTS_PATH, DEFAULT_SSH_IDENTITY_FILES, DEFAULT_SSH_PORT, DEFAULT_SSH_USER, expandHome, resolveSshAgent } from './options.js';
export { type RestartCause, type RestartPolicy, unitIsRunning } from './install-plan.js';
export {
  clearStartOnce,
  readMemberUnit,
  restartMember,
  type ServiceActionResult,
  type ServiceOptions,
  type StartOnceOptions,
  startMember,
  startMemberOnceWith,
  stopMember,
} from './service.js';
export type { RemoteHost } from './host-session.js';
export { shellQuote } from './shell.js';
export type { ProgressEvent, ProgressListener, ProgressStep, RemoteCallOptions, SshTarget } from './types.js';
export { type UninstallMemberOptions, type UninstallReport, uninstallMember } from './uninstall-member.js';
