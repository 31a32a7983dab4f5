/**
 * `etcd-kit/render`: the rendering layer beyond {@link etcd-kit!renderEtcdEnv | renderEtcdEnv} and {@link etcd-kit!renderSystemdUnit | renderSystemdUnit} — the
 * etcdctl env file, env-file parsing and restart rules, member URLs, layouts and settings, the table of what
 * each etcd release understands, and the commands of a snapshot restore. Pure: nothing here touches a host.
 *
 * ```ts
 * import { etcdVersionIssues, renderEtcdctlEnv } from 'etcd-kit/render';
 * ```
 * @module etcd-kit/render
 */
// The errors, and the types of `etcd-kit` this entry's functions take or return, are exported here too.
export { EtcdKitError, type EtcdKitErrorCode, type EtcdKitErrorOptions, isEtcdKitError } from './errors.js';
export type { ClusterMember, EtcdLayout, EtcdSettings } from './render/index.js';
export {
  BUMP_REVISION_SINCE,
  checkSettingsForEtcdVersion,
  clientUrl,
  compareEtcdVersions,
  DEFAULT_CLIENT_PORT,
  DEFAULT_ETCD_VERSION,
  DEFAULT_PEER_PORT,
  type EnvSection,
  type EtcdDefaultChange,
  type EtcdFatalValue,
  type EtcdFeatureGate,
  type EtcdGatedVar,
  type EtcdMinorTable,
  type EtcdRemovedVar,
  type EtcdRenamedVar,
  type EtcdVersion,
  type EtcdVersionInput,
  type EtcdVersionIssue,
  envNeedsRestart,
  envRestartChanges,
  envVarToFlag,
  etcdDefault,
  etcdEnvVarDeprecated,
  etcdEnvVarKnown,
  etcdEnvVarSince,
  etcdFatalValue,
  etcdFeatureGateFor,
  etcdImplicitValue,
  etcdMinorTable,
  etcdVersionIssues,
  flagToEnvVar,
  formatEnvFile,
  type MemberUrls,
  memberUrls,
  type RenderEtcdctlEnvOptions,
  type ResolvedEtcdSettings,
  type ResolvedEtcdVersion,
  type RestoreClusterMember,
  parseEnvFile,
  parseEtcdVersion,
  peerUrl,
  renderEtcdctlEnv,
  resolveEtcdVersion,
  resolveLayout,
  resolveSettings,
  resolveSettingsWithOrigin,
  restoreCanBumpRevision,
  restoreStartEnv,
  SETTING_VARS,
  SUPPORTED_ETCD_MINORS,
  type SettingsResolution,
  type SnapshotRestoreCommand,
  type SnapshotRestoreInput,
  snapshotRestoreCommand,
  validateClusterMembers,
} from './render/index.js';
