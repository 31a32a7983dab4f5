/**
 * The one place where ssh2 failures become {@link EtcdKitError} codes. ssh2 tags its errors with
 * `err.level`; socket errors carry a Node `code` (ECONNREFUSED, EHOSTUNREACH, ...).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { HostKeyVerifier } from './host-key.js';

/** What was going on when the error happened. */
export interface SshErrorContext {
  /** Host (as given) for `member` and messages. */
  host: string;
  /** Port, for messages. */
  port: number;
  /** The connection attempt's host key verifier, to tell a refused key from other handshake failures. */
  verifier?: HostKeyVerifier;
  /** `connect` while establishing the session, `sftp` during file transfer, `exec` for commands. */
  phase: 'connect' | 'exec' | 'sftp';
}

const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Maps an ssh2 (or socket) error to an {@link EtcdKitError}. Already-classified errors pass through. */
export function classifySshError(err: unknown, ctx: SshErrorContext): EtcdKitError {
  if (err instanceof EtcdKitError) return err;
  const e = err as (Error & { level?: string; code?: string }) | undefined;
  const level = e?.level;
  const where = `${ctx.host}:${ctx.port}`;
  const opts = { cause: err, member: ctx.host };
  const rejection = ctx.verifier?.rejection;
  if (rejection !== undefined) {
    return new EtcdKitError(rejection.code, `${where}: ${rejection.reason}`, {
      ...opts,
      details: { fingerprint: rejection.fingerprint },
    });
  }
  const message = e?.message ?? String(err);
  switch (level) {
    case 'client-authentication':
      return new EtcdKitError('SSH_AUTH_FAILED', `${where}: authentication failed (${message})`, opts);
    case 'agent':
      return new EtcdKitError('SSH_AUTH_FAILED', `${where}: ssh-agent failed (${message})`, opts);
    case 'client-timeout':
      return new EtcdKitError('SSH_TIMEOUT', `${where}: ${message}`, opts);
    case 'client-dns':
      return new EtcdKitError('SSH_UNREACHABLE', `${where}: cannot resolve host (${message})`, opts);
    case 'handshake':
      // A host offering none of the key types we know for it is a changed host key, not a network error.
      if (ctx.verifier?.algorithms !== undefined && /host key/i.test(message)) {
        return new EtcdKitError(
          'SSH_HOST_KEY_MISMATCH',
          `${where}: host offers none of the key types known for it (${ctx.verifier.algorithms.join(', ')})`,
          opts,
        );
      }
      return new EtcdKitError('SSH_UNREACHABLE', `${where}: SSH handshake failed (${message})`, opts);
    case 'client-socket':
      if (e?.code === 'ETIMEDOUT') return new EtcdKitError('SSH_TIMEOUT', `${where}: ${message}`, opts);
      return new EtcdKitError('SSH_UNREACHABLE', `${where}: ${message}`, opts);
    default:
      break;
  }
  if (e?.code !== undefined && UNREACHABLE_SOCKET_CODES.has(e.code)) {
    return new EtcdKitError('SSH_UNREACHABLE', `${where}: ${message}`, opts);
  }
  if (ctx.phase === 'sftp') {
    return new EtcdKitError('SSH_TRANSFER_FAILED', `${where}: file transfer failed (${message})`, opts);
  }
  if (ctx.phase === 'exec') {
    return new EtcdKitError('SSH_COMMAND_FAILED', `${where}: ${message}`, opts);
  }
  return new EtcdKitError('SSH_UNREACHABLE', `${where}: ${message}`, opts);
}

/** The error an aborted operation rejects with. */
export function abortedError(host: string, signal: AbortSignal | undefined): EtcdKitError {
  return new EtcdKitError('ABORTED', `${host}: operation aborted`, { member: host, cause: signal?.reason });
}
