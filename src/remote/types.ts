/**
 * Public types of the remote layer: how to reach a host over SSH and what the progress callback sees.
 * @module
 */

/**
 * How to reach and authenticate to one host. Host keys are always verified: against `hostKeyFingerprint`
 * when given, otherwise against `knownHostsPath`.
 *
 * @example
 * ```ts
 * const target: SshTarget = {
 *   host: '10.0.0.11',
 *   privateKeyPath: '/home/me/.ssh/id_ed25519',
 *   hostKeyFingerprint: 'SHA256:q0TAkQ0Bmu1ZtLq8u1n3Z9tq4tqzv7rQ1kqFQ6R8n0E',
 * };
 * ```
 * @category Remote hosts
 */
export interface SshTarget {
  /** Host name or IP address to connect to (also the name looked up in known_hosts). */
  host: string;
  /** SSH port. Default: `22`. */
  port?: number;
  /** Login user: `root`, or a user allowed to run `sudo -n` without a password (the cluster spec's `ssh.user`). Default: `'root'`. */
  user?: string;
  /**
   * The login user under its old name; ignored when `user` is set.
   * @deprecated Use {@link SshTarget.user}, the name the cluster spec uses too.
   */
  username?: string;
  /** Private key (PEM or OpenSSH format) as text or bytes. Takes precedence over `privateKeyPath`. */
  privateKey?: string | Buffer;
  /** Path of a private key file on the controller. */
  privateKeyPath?: string;
  /** Passphrase of an encrypted private key. Never logged nor put in an error. */
  passphrase?: string;
  /**
   * ssh-agent to authenticate with: a socket path, `true` for `$SSH_AUTH_SOCK`, `false` for none.
   * Default: `$SSH_AUTH_SOCK` when no private key is given, otherwise none.
   */
  agent?: string | boolean;
  /**
   * known_hosts file the host key must be listed in (plain or hashed `|1|` entries, `[host]:port` for
   * other ports, `@revoked` honoured, `@cert-authority` lines ignored). Ignored when `hostKeyFingerprint`
   * is given. Default: `~/.ssh/known_hosts`.
   */
  knownHostsPath?: string;
  /**
   * Pinned host key fingerprint(s) as `ssh-keygen -lf` prints them (`SHA256:...`; a whole output line is
   * accepted too). When given, known_hosts is not consulted.
   */
  hostKeyFingerprint?: string | readonly string[];
  /**
   * Accept a host that has no entry in known_hosts (a changed key is still refused). The accepted key's
   * fingerprint is on {@link SshConnection.hostKeyFingerprint}. The cluster spec's `ssh.acceptUnknownHostKeys`.
   * Default: `false`.
   */
  acceptUnknownHostKeys?: boolean;
  /**
   * The same under its old name; ignored when `acceptUnknownHostKeys` is set.
   * @deprecated Use {@link SshTarget.acceptUnknownHostKeys}, the name the cluster spec uses too.
   */
  acceptUnknownHostKey?: boolean;
  /** Time allowed for TCP connect, handshake and authentication, in ms. Default: `10000`. */
  readyTimeoutMs?: number;
  /** Interval of SSH keepalive probes in ms; `0` turns them off. Default: `15000`. */
  keepaliveIntervalMs?: number;
}

/**
 * Steps reported through {@link ProgressEvent}.
 * @category Remote hosts
 */
export type ProgressStep =
  | 'connect'
  | 'inspect'
  | 'upload'
  | 'apply'
  | 'start'
  | 'restart'
  | 'stop'
  | 'uninstall'
  | 'done';

/**
 * One progress report. Never carries key material.
 * @category Remote hosts
 */
export interface ProgressEvent {
  /** The host (as given in the target) the event is about. */
  host: string;
  /** What is happening. */
  step: ProgressStep;
  /** Remote path being transferred (`upload` only). */
  file?: string;
  /** Bytes of `file` acknowledged by the host so far (`upload` only). */
  bytes?: number;
  /** Size of `file` in bytes (`upload` only). */
  totalBytes?: number;
  /** Short human-readable note. */
  message?: string;
}

/**
 * Receives {@link ProgressEvent}s. Must not throw; it is called synchronously.
 * @category Remote hosts
 */
export type ProgressListener = (event: ProgressEvent) => void;

/**
 * Options every remote operation accepts.
 * @category Remote hosts
 */
export interface RemoteCallOptions {
  /** Called with progress reports. */
  onProgress?: ProgressListener;
  /** Aborts the operation: the SSH connection is closed and the call rejects with `ABORTED`. */
  signal?: AbortSignal;
}
