/**
 * The SSH target of a host that is no longer (or not yet) a member of the spec, for cleaning it up: the
 * spec's SSH settings with that host and its own key pin. Shared by removeEtcdMember (a removed member's
 * host) and a move (the host a member left): both clean a host the same way, with uninstallMember.
 * @module
 */
import type { SshTarget } from '../remote/index.js';

/**
 * `ssh`'s settings (user, key, known_hosts, port, sudo, ...) for `host`. A fingerprint pinned for another
 * host is dropped: `host`'s key is then checked against known_hosts, as always. `readyTimeoutMs` shortens
 * the connect timeout (never lengthens it).
 */
export function cleanupTarget(ssh: SshTarget, host: string, fingerprint: string | undefined, readyTimeoutMs?: number): SshTarget {
  const { hostKeyFingerprint: _pinnedForOtherHost, host: _otherHost, ...shared } = ssh;
  const timeout = readyTimeoutMs === undefined ? shared.readyTimeoutMs : Math.min(readyTimeoutMs, shared.readyTimeoutMs ?? readyTimeoutMs);
  return { ...shared, host, ...(fingerprint ? { hostKeyFingerprint: fingerprint } : {}), ...(timeout !== undefined ? { readyTimeoutMs: timeout } : {}) };
}
