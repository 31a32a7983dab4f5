/**
 * One SSH session per host: connect with a verified host key, run `sh` scripts (through `sudo -n` for
 * non-root users), and one lazily opened SFTP channel reused for every transfer.
 * @module
 */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AgentAuthMethod, ClientChannel, ConnectConfig, ParsedKey, PublicKeyAuthMethod, SFTPWrapper } from 'ssh2';
import { EtcdKitError } from '../errors.js';
import { createHostKeyVerifier, loadHostKeyPolicy } from './host-key.js';
import { type ResolvedTarget, resolveTarget } from './options.js';
import { abortedError, classifySshError } from './ssh-errors.js';
import type { SshTarget } from './types.js';

const { Client, utils } = ssh2;

/** How the login user gets root: it is root, it may `sudo -n`, or it cannot. */
export type Privilege = 'root' | 'sudo' | 'none';

/** Options of {@link SshConnection.run}. */
export interface RunOptions {
  /** Run as root (`sudo -n` for a non-root login). Default: `true`. */
  privileged?: boolean;
  /** Resolve with the result instead of rejecting on a non-zero exit. Default: `false`. */
  allowFailure?: boolean;
  /** Short name of the command for error messages (the script itself is never quoted). */
  label?: string;
  /** Aborts the command: the connection is closed and the call rejects with `ABORTED`. */
  signal?: AbortSignal;
}

/** Outcome of a remote script. */
export interface RunResult {
  /** Exit status (`-1` when the remote process died from a signal). */
  exitCode: number;
  /** Everything the script wrote to stdout. */
  stdout: string;
  /** The last 4 KiB of stderr. */
  stderr: string;
}

const STDERR_TAIL_BYTES = 4096;
const SUDO_PASSWORD = /sudo: (a password is required|a terminal is required|sorry, you must have a tty|.*may not run sudo|.*is not in the sudoers)/;

/**
 * An open SSH session to one host. Get one with {@link connect}; close it with {@link SshConnection.close}.
 * All etcd-kit remote functions accept either an {@link SshTarget} (they connect and disconnect) or an open
 * connection (reused, left open).
 * @category Remote hosts
 */
export class SshConnection {
  /** Host as given in the target. */
  readonly host: string;
  /** SSH port. */
  readonly port: number;
  /** Login user. */
  readonly username: string;
  /** How this session gets root. */
  get privilege(): Privilege {
    return this.#privilege;
  }
  /** Fingerprint (`SHA256:...`) of the verified host key. */
  readonly hostKeyFingerprint: string;
  /** Public key blob of the verified host key, e.g. for {@link etcd-kit/remote!formatKnownHostsLine | formatKnownHostsLine}. */
  readonly hostKey: Buffer;

  #client: InstanceType<typeof Client>;
  #privilege: Privilege = 'none';
  #sftp: Promise<SFTPWrapper> | undefined;
  #closed = false;
  #failure: EtcdKitError | undefined;

  /** @internal Use {@link connect}. */
  constructor(init: {
    client: InstanceType<typeof Client>;
    target: ResolvedTarget;
    hostKey: Buffer;
    hostKeyFingerprint: string;
  }) {
    this.#client = init.client;
    this.host = init.target.host;
    this.port = init.target.port;
    this.username = init.target.username;
    this.hostKey = init.hostKey;
    this.hostKeyFingerprint = init.hostKeyFingerprint;
    this.#client.on('close', () => {
      this.#closed = true;
      this.#sftp = undefined;
    });
    this.#client.on('error', (err) => {
      this.#failure ??= classifySshError(err, { host: this.host, port: this.port, phase: 'exec' });
    });
  }

  /** True once the session has ended (closed by us, the host or the network). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Finds out, in one round trip, whether the login user is root or may `sudo -n`.
   * @internal
   */
  async probePrivilege(signal?: AbortSignal): Promise<Privilege> {
    // The login name root is uid 0: no round trip needed (and every privileged script checks uid 0 again).
    if (this.username === 'root') {
      this.#privilege = 'root';
      return this.#privilege;
    }
    const probe = await this.run(
      'if [ "$(id -u)" = 0 ]; then echo root; elif sudo -n true >/dev/null 2>&1; then echo sudo; else echo none; fi',
      { privileged: false, label: 'privilege probe', ...(signal ? { signal } : {}) },
    );
    const answer = probe.stdout.trim();
    this.#privilege = answer === 'root' || answer === 'sudo' ? answer : 'none';
    return this.#privilege;
  }

  /**
   * Throws `SSH_SUDO_REQUIRED` unless this session can act as root.
   * @internal
   */
  requirePrivilege(): void {
    if (this.privilege === 'none') {
      throw new EtcdKitError(
        'SSH_SUDO_REQUIRED',
        `${this.host}: user ${this.username} is not root and cannot run \`sudo -n\` without a password`,
        { member: this.host },
      );
    }
  }

  /**
   * Runs a POSIX `sh` script on the host (sent on stdin, so it is never subject to quoting or length
   * limits of a command line). Privileged by default: through `sudo -n` for a non-root user.
   * Rejects with `SSH_COMMAND_FAILED` (details: `exitCode`, `stderrTail`, `label`) on a non-zero exit.
   */
  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    const privileged = options.privileged ?? true;
    if (privileged) this.requirePrivilege();
    const useSudo = privileged && this.privilege === 'sudo';
    const command = useSudo ? 'sudo -n -- /bin/sh -s' : '/bin/sh -s';
    // The shell reads the script from stdin: wrapped in one group, it is parsed completely before anything
    // runs, and no command in it can swallow the rest of the script by reading stdin.
    const input = `{\n${script}\n} </dev/null\n`;
    const result = await this.guard(options.signal, 'exec', (fail) => this.#exec(command, input, fail));
    if (result.exitCode === 0 || options.allowFailure) return result;
    const label = options.label ?? 'remote command';
    if (useSudo && SUDO_PASSWORD.test(result.stderr)) {
      throw new EtcdKitError('SSH_SUDO_REQUIRED', `${this.host}: sudo asks for a password (${label})`, {
        member: this.host,
        details: { stderrTail: result.stderr },
      });
    }
    throw new EtcdKitError(
      'SSH_COMMAND_FAILED',
      `${this.host}: ${label} failed with exit code ${result.exitCode}: ${lastLine(result.stderr)}`,
      { member: this.host, details: { exitCode: result.exitCode, stderrTail: result.stderr, label } },
    );
  }

  /**
   * The session's SFTP channel, opened on first use and reused (reopened if the host closed it).
   * @internal
   */
  sftp(signal?: AbortSignal): Promise<SFTPWrapper> {
    if (this.#sftp) return this.#sftp;
    const opened = this.guard(
      signal,
      'sftp',
      (fail) =>
        new Promise<SFTPWrapper>((resolve) => {
          this.#client.sftp((err, sftp) => {
            if (err) return fail(err);
            sftp.on('close', () => {
              if (this.#sftp === opened) this.#sftp = undefined;
            });
            resolve(sftp);
          });
        }),
    );
    this.#sftp = opened;
    opened.catch(() => {
      if (this.#sftp === opened) this.#sftp = undefined;
    });
    return opened;
  }

  /**
   * Runs `fn` with the connection's failure modes wired in: `fail(err)` rejects with a classified error, a
   * dropped connection rejects, and an abort closes the connection and rejects with `ABORTED`.
   * @internal
   */
  guard<T>(
    signal: AbortSignal | undefined,
    phase: 'exec' | 'sftp',
    fn: (fail: (err: unknown) => void) => Promise<T>,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortedError(this.host, signal));
    if (this.#closed) {
      return Promise.reject(
        this.#failure ?? new EtcdKitError('SSH_UNREACHABLE', `${this.host}: connection is closed`, { member: this.host }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (action: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        this.#client.removeListener('close', onClose);
        action();
      };
      const fail = (err: unknown) =>
        finish(() => reject(classifySshError(err, { host: this.host, port: this.port, phase })));
      const onAbort = () => {
        finish(() => reject(abortedError(this.host, signal)));
        this.#client.destroy();
      };
      const onClose = () =>
        finish(() =>
          reject(
            this.#failure ??
              new EtcdKitError(
                phase === 'sftp' ? 'SSH_TRANSFER_FAILED' : 'SSH_UNREACHABLE',
                `${this.host}: connection closed during ${phase === 'sftp' ? 'file transfer' : 'command'}`,
                { member: this.host },
              ),
          ),
        );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#client.once('close', onClose);
      fn(fail).then(
        (value) => finish(() => resolve(value)),
        (err) => fail(err),
      );
    });
  }

  #exec(command: string, input: string, fail: (err: unknown) => void): Promise<RunResult> {
    return new Promise<RunResult>((resolve) => {
      this.#client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
        if (err) return fail(err);
        const stdout: Buffer[] = [];
        let stderr = Buffer.alloc(0);
        let exitCode: number | undefined;
        stream.on('data', (chunk: Buffer) => stdout.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => {
          stderr = Buffer.concat([stderr, chunk]);
          if (stderr.length > STDERR_TAIL_BYTES) stderr = stderr.subarray(stderr.length - STDERR_TAIL_BYTES);
        });
        stream.on('exit', (code: number | null) => {
          exitCode = typeof code === 'number' ? code : -1;
        });
        stream.on('close', () => {
          if (exitCode === undefined) {
            return fail(new EtcdKitError('SSH_UNREACHABLE', `${this.host}: channel closed before the command exited`));
          }
          resolve({ exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderr.toString('utf8') });
        });
        stream.end(input);
      });
    });
  }

  /** Ends the session (idempotent). Resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#client.destroy();
        resolve();
      }, 2000);
      timer.unref();
      this.#client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#client.end();
    });
  }

  /** Drops the session at once, e.g. after an abort. */
  destroy(): void {
    this.#client.destroy();
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300) || '(no stderr)';
}

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Aborts the connection attempt (rejects with `ABORTED`). */
  signal?: AbortSignal;
}

/**
 * Opens an SSH session: verifies the host key before authenticating (nothing is sent to an unverified
 * host), authenticates by key or ssh-agent, then finds out whether the user is root or may `sudo -n`.
 *
 * Rejects with `SSH_HOST_KEY_UNKNOWN`, `SSH_HOST_KEY_MISMATCH`, `SSH_AUTH_FAILED`, `SSH_UNREACHABLE`,
 * `SSH_TIMEOUT`, `INVALID_ARGUMENT` (bad target) or `ABORTED`.
 *
 * @example
 * ```ts
 * const conn = await connect({ host: '10.0.0.11', privateKeyPath: 'id_ed25519', knownHostsPath: 'known_hosts' });
 * try {
 *   const { stdout } = await conn.run('uname -m');
 * } finally {
 *   await conn.close();
 * }
 * ```
 */
export async function connect(target: SshTarget, options: ConnectOptions = {}): Promise<SshConnection> {
  const resolved = resolveTarget(target);
  const { signal } = options;
  if (signal?.aborted) throw abortedError(resolved.host, signal);
  const privateKey = await loadPrivateKey(resolved);
  const policy = await loadHostKeyPolicy(resolved);
  const verifier = createHostKeyVerifier(policy, resolved.host, resolved.port);
  let presentedKey: Buffer | undefined;
  const config: ConnectConfig = {
    host: resolved.host,
    port: resolved.port,
    username: resolved.username,
    readyTimeout: resolved.readyTimeoutMs,
    keepaliveInterval: resolved.keepaliveIntervalMs,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => {
      presentedKey = Buffer.from(key);
      return verifier.verify(key);
    },
  };
  // Explicit auth list: the key decrypted above (ssh2 would decrypt it again from config.privateKey), then
  // the agent. No password or keyboard-interactive: etcd-kit never types a password.
  const auths: (PublicKeyAuthMethod | AgentAuthMethod)[] = [];
  if (privateKey !== undefined) auths.push({ type: 'publickey', username: resolved.username, key: privateKey });
  if (resolved.agent !== undefined) auths.push({ type: 'agent', username: resolved.username, agent: resolved.agent });
  config.authHandler = auths;
  if (verifier.algorithms !== undefined) {
    config.algorithms = { serverHostKey: verifier.algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
  }

  const client = new Client();
  // Without TCP_NODELAY each small request (channel open, a script on stdin) waits ~40 ms for a delayed ACK.
  client.on('connect', () => client.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      if (err === undefined) resolve();
      else {
        client.destroy();
        reject(err);
      }
    };
    const onReady = () => settle();
    const onError = (err: unknown) =>
      settle(classifySshError(err, { host: resolved.host, port: resolved.port, phase: 'connect', verifier }));
    const onClose = () =>
      settle(new EtcdKitError('SSH_UNREACHABLE', `${resolved.host}:${resolved.port}: connection closed during handshake`, { member: resolved.host }));
    const onAbort = () => settle(abortedError(resolved.host, signal));
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      client.connect(config);
    } catch (err) {
      settle(new EtcdKitError('SSH_AUTH_FAILED', `${resolved.host}: cannot use the private key`, { member: resolved.host, cause: err }));
    }
  });
  // Errors after this point are reported by the operation that hits them; keep a listener so an
  // 'error' event never goes unhandled.
  client.on('error', () => {});

  const conn = new SshConnection({
    client,
    target: resolved,
    hostKey: presentedKey ?? Buffer.alloc(0),
    hostKeyFingerprint: verifier.presentedFingerprint ?? '',
  });
  try {
    await conn.probePrivilege(signal);
    return conn;
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/**
 * Reads and decrypts the private key locally, so a bad key or passphrase fails before any network I/O.
 * Returns ssh2's parsed key, which ssh2 then uses as is (decrypting an OpenSSH key runs bcrypt: once is enough).
 */
async function loadPrivateKey(target: ResolvedTarget): Promise<ParsedKey | undefined> {
  let key = target.privateKey;
  if (key === undefined && target.privateKeyPath !== undefined) {
    try {
      key = await readFile(target.privateKeyPath);
    } catch (err) {
      throw new EtcdKitError('INVALID_ARGUMENT', `cannot read private key file ${target.privateKeyPath}`, {
        field: 'privateKeyPath',
        cause: (err as NodeJS.ErrnoException).code,
      });
    }
  }
  if (key === undefined) return undefined;
  const field = target.privateKey !== undefined ? 'privateKey' : 'privateKeyPath';
  const parsed = utils.parseKey(key, target.passphrase);
  if (parsed instanceof Error) {
    const encrypted = /passphrase|decrypt|encrypted/i.test(parsed.message);
    // The parser's message names the problem, never the key bytes.
    throw new EtcdKitError('SSH_AUTH_FAILED', `${target.host}: cannot use the private key: ${parsed.message}`, {
      field: encrypted ? 'passphrase' : field,
      member: target.host,
    });
  }
  const first = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  if (first === undefined || first.getPrivatePEM() === null) {
    throw new EtcdKitError('SSH_AUTH_FAILED', `${target.host}: ${field} holds no private key`, { field, member: target.host });
  }
  return first;
}
