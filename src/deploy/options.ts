/**
 * Every default of the deploy layer, in one place. The spec's SSH defaults are the remote layer's
 * (DEFAULT_SSH_PORT, DEFAULT_SSH_USER, DEFAULT_KNOWN_HOSTS_PATH, resolveSshAgent), its ports the renderer's
 * (DEFAULT_CLIENT_PORT, DEFAULT_PEER_PORT) and its PKI defaults the PKI layer's (PKI_DEFAULTS): the spec
 * resolution (resolveClusterSpec) applies them, it does not restate them.
 * @module
 */

/**
 * Default of `healthTimeoutMs` for every deploy-layer operation (deploy, removal, restore, CA rotation), in ms.
 * @category Deploy and day 2
 */
export const DEFAULT_HEALTH_TIMEOUT_MS = 120_000;

/**
 * Where pre-change snapshots go when {@link DeployOptions.backupDir} is not set: relative to the process's cwd.
 * @category Deploy and day 2
 */
export const DEFAULT_BACKUP_DIR = './etcd-kit-backups';

/**
 * The spec's `pki.dir` when it sets none (relative to the spec's base directory), and the CLI's `pki inspect --dir` (relative to the cwd).
 * @category Deploy and day 2
 */
export const DEFAULT_PKI_DIR = './pki';

/** Leaf certificates ending within this many days are re-issued by a deploy (kubeadm warns at 30). */
export const DEFAULT_RENEW_BEFORE_DAYS = 30;
