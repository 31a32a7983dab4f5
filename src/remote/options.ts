/**
 * Every default of the remote layer, resolved here and nowhere else.
 * @module
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EtcdKitError } from '../errors.js';
import type { SshTarget } from './types.js';

/** An {@link SshTarget} with defaults applied and inputs checked. */
export interface ResolvedTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string | Buffer | undefined;
  privateKeyPath: string | undefined;
  passphrase: string | undefined;
  /** Agent socket path, or undefined for none. */
  agent: string | undefined;
  /** known_hosts file, the default applied; undefined when a fingerprint is pinned and no file was named (none is read). */
  knownHostsPath: string | undefined;
  hostKeyFingerprint: string | readonly string[] | undefined;
  acceptUnknownHostKey: boolean;
  readyTimeoutMs: number;
  keepaliveIntervalMs: number;
}

/** Default SSH port (also the port a known_hosts file names a host on without `[host]:port`). */
export const DEFAULT_SSH_PORT = 22;
/** Default login user. */
export const DEFAULT_SSH_USER = 'root';
/** Default known_hosts file, `~` standing for the user's home directory. */
export const DEFAULT_KNOWN_HOSTS_PATH = '~/.ssh/known_hosts';
/**
 * Private key files a cluster spec falls back to, first existing one wins, when it names no key and no
 * ssh-agent is there (as `ssh` tries its default identities); `~` stands for the user's home directory.
 */
export const DEFAULT_SSH_IDENTITY_FILES: readonly string[] = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];
/** Default connect + handshake + auth budget in ms. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** Default SSH keepalive interval in ms. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;

function invalid(field: string, message: string): EtcdKitError {
  return new EtcdKitError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

/** `path` with a leading `~/` replaced by the home directory (`$HOME` of `env`, else the account's). */
export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.startsWith('~/') ? join(env['HOME'] || homedir(), path.slice(2)) : path;
}

/**
 * The ssh-agent socket an {@link SshTarget.agent} setting means: a socket path as given, `true` for
 * `$SSH_AUTH_SOCK`, `false` for none, and when not set `$SSH_AUTH_SOCK` only if no private key is given
 * (`hasKey`). Undefined: no agent. Throws `INVALID_ARGUMENT` (field `agent`) for `true` without
 * `SSH_AUTH_SOCK`, and for an empty path.
 */
export function resolveSshAgent(agent: string | boolean | undefined, hasKey: boolean, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (typeof agent === 'string') {
    if (agent === '') throw invalid('agent', 'must be a socket path, true or false');
    return agent;
  }
  if (agent === true) {
    const sock = env.SSH_AUTH_SOCK;
    if (!sock) throw invalid('agent', 'is true but SSH_AUTH_SOCK is not set');
    return sock;
  }
  if (agent === undefined && !hasKey) return env.SSH_AUTH_SOCK || undefined;
  return undefined;
}

/** Applies the defaults of {@link SshTarget} and rejects bad input (`INVALID_ARGUMENT`, naming the field). */
export function resolveTarget(target: SshTarget, env: NodeJS.ProcessEnv = process.env): ResolvedTarget {
  if (target === null || typeof target !== 'object') throw invalid('target', 'must be an object');
  const { host } = target;
  if (typeof host !== 'string' || host.trim() === '' || /\s/.test(host)) {
    throw invalid('host', 'must be a non-empty host name or IP address');
  }
  const port = target.port ?? DEFAULT_SSH_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('port', 'must be an integer 1..65535');
  // `user` is the name; `username` its deprecated alias, read only when `user` is not set.
  const userField = target.user !== undefined ? 'user' : 'username';
  const username = target.user ?? target.username ?? DEFAULT_SSH_USER;
  if (typeof username !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(username)) {
    throw invalid(userField, 'must be a valid user name');
  }
  if (target.privateKey !== undefined && typeof target.privateKey !== 'string' && !Buffer.isBuffer(target.privateKey)) {
    throw invalid('privateKey', 'must be a string or a Buffer');
  }
  if (target.privateKeyPath !== undefined && (typeof target.privateKeyPath !== 'string' || target.privateKeyPath === '')) {
    throw invalid('privateKeyPath', 'must be a non-empty path');
  }
  if (target.passphrase !== undefined && typeof target.passphrase !== 'string') {
    throw invalid('passphrase', 'must be a string');
  }
  const hasKey = target.privateKey !== undefined || target.privateKeyPath !== undefined;
  const agent = resolveSshAgent(target.agent, hasKey, env);
  if (!hasKey && agent === undefined) {
    throw invalid('privateKey', 'is required: give privateKey, privateKeyPath or an ssh-agent (SSH_AUTH_SOCK)');
  }
  const readyTimeoutMs = target.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0) throw invalid('readyTimeoutMs', 'must be a positive number');
  const keepaliveIntervalMs = target.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
  if (!Number.isFinite(keepaliveIntervalMs) || keepaliveIntervalMs < 0) {
    throw invalid('keepaliveIntervalMs', 'must be 0 or a positive number');
  }
  return {
    host,
    port,
    username,
    privateKey: target.privateKey,
    privateKeyPath: target.privateKeyPath,
    passphrase: target.passphrase,
    agent,
    // The home directory is looked up only when known_hosts is read (no pinned fingerprint).
    knownHostsPath: target.knownHostsPath ?? (target.hostKeyFingerprint === undefined ? expandHome(DEFAULT_KNOWN_HOSTS_PATH, env) : undefined),
    hostKeyFingerprint: target.hostKeyFingerprint,
    // `acceptUnknownHostKeys` is the name; `acceptUnknownHostKey` its deprecated alias.
    acceptUnknownHostKey: (target.acceptUnknownHostKeys ?? target.acceptUnknownHostKey) === true,
    readyTimeoutMs,
    keepaliveIntervalMs,
  };
}

/** Install options with defaults applied. */
export interface ResolvedInstallOptions {
  restart: 'if-changed' | 'never' | 'always';
  openFirewall: boolean;
}

/** Applies the defaults of the install options: `restart: 'if-changed'`, `openFirewall: true`. */
export function resolveInstallOptions(options: { restart?: unknown; openFirewall?: unknown }): ResolvedInstallOptions {
  const restart = options.restart ?? 'if-changed';
  if (restart !== 'if-changed' && restart !== 'never' && restart !== 'always') {
    throw invalid('restart', "must be 'if-changed', 'never' or 'always'");
  }
  const openFirewall = options.openFirewall ?? true;
  if (typeof openFirewall !== 'boolean') throw invalid('openFirewall', 'must be true or false');
  return { restart, openFirewall };
}
