// Public surface of src/render: the barrel re-exports exactly what is listed here.
/**
 * Pure renderers for what lives on an etcd host: the etcd EnvironmentFile, the systemd unit and an etcdctl
 * env file, plus the layout, member and settings types they share, and the table of what each etcd release
 * understands. Nothing here touches a host.
 * @module
 */
export { type EnvSection, formatEnvFile, parseEnvFile } from './env-file.js';
export { envNeedsRestart, envRestartChanges } from './env-restart.js';
export { type RenderEtcdEnvOptions, renderEtcdEnv } from './etcd-env.js';
export { type RenderEtcdctlEnvOptions, renderEtcdctlEnv } from './etcdctl-env.js';
export { compareEtcdVersions, type EtcdVersion, parseEtcdVersion } from './etcd-version.js';
export {
  DEFAULT_ETCD_VERSION,
  type EtcdDefaultChange,
  type EtcdFatalValue,
  type EtcdFeatureGate,
  type EtcdGatedVar,
  type EtcdMinorTable,
  type EtcdRemovedVar,
  type EtcdRenamedVar,
  type EtcdVersionInput,
  type EtcdVersionIssue,
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
  type ResolvedEtcdVersion,
  resolveEtcdVersion,
  SUPPORTED_ETCD_MINORS,
} from './etcd-versions.js';
export { type EtcdLayout, resolveLayout } from './layout.js';
export {
  type ClusterMember,
  clientUrl,
  DEFAULT_CLIENT_PORT,
  DEFAULT_PEER_PORT,
  type MemberUrls,
  memberUrls,
  peerUrl,
  urlHost,
  validateClusterMembers,
} from './members.js';
export { checkSettingsForEtcdVersion, SETTING_VARS } from './setting-vars.js';
export {
  type EtcdLogLevel,
  type EtcdSettings,
  type ResolvedEtcdSettings,
  resolveSettings,
  resolveSettingsWithOrigin,
  type SettingsResolution,
} from './settings.js';
export { type RenderSystemdUnitOptions, renderSystemdUnit } from './systemd-unit.js';
export { BUMP_REVISION_SINCE, type RestoreClusterMember, restoreCanBumpRevision, restoreStartEnv, type SnapshotRestoreCommand, type SnapshotRestoreInput, snapshotRestoreCommand } from './snapshot-restore.js';
