/**
 * Every default of the remote layer, resolved here and nowhere else.
 * @module
 */
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
  knownHostsPath: string | undefined;
  hostKeyFingerprint: string | readonly string[] | undefined;
  acceptUnknownHostKey: boolean;
  readyTimeoutMs: number;
  keepaliveIntervalMs: number;
}

/** Default SSH port. */
export const DEFAULT_SSH_PORT = 22;
/** Default login user. */
export const DEFAULT_SSH_USER = 'root';
/** Default connect + handshake + auth budget in ms. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** Default SSH keepalive interval in ms. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;

function invalid(field: string, message: string): EtcdKitError {
  return new EtcdKitError('INVALID_ARGUMENT', `${field} ${message}`, { field });
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
  const username = target.username ?? DEFAULT_SSH_USER;
  if (typeof username !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(username)) {
    throw invalid('username', 'must be a valid user name');
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
  let agent: string | undefined;
  if (typeof target.agent === 'string') {
    if (target.agent === '') throw invalid('agent', 'must be a socket path, true or false');
    agent = target.agent;
  } else if (target.agent === true) {
    agent = env.SSH_AUTH_SOCK;
    if (!agent) throw invalid('agent', 'is true but SSH_AUTH_SOCK is not set');
  } else if (target.agent === undefined && !hasKey) {
    agent = env.SSH_AUTH_SOCK || undefined;
  }
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
    knownHostsPath: target.knownHostsPath,
    hostKeyFingerprint: target.hostKeyFingerprint,
    acceptUnknownHostKey: target.acceptUnknownHostKey === true,
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
