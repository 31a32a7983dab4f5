/**
 * Host key policy: decides, before authentication, whether the key a host presents is the one we expect.
 * The verdict is kept so a refused handshake can be reported as UNKNOWN or MISMATCH rather than a generic
 * failure.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { EtcdKitError } from '../errors.js';
import {
  algorithmsForKeyTypes,
  findKnownHostEntries,
  fingerprintOfKey,
  type KnownHostEntry,
  keyTypeOfBlob,
  normalizeFingerprint,
  parseKnownHosts,
} from './known-hosts.js';

/** Why a host key was refused. */
export interface HostKeyRejection {
  /** `SSH_HOST_KEY_UNKNOWN` (no entry for the host) or `SSH_HOST_KEY_MISMATCH` (changed or revoked key). */
  code: 'SSH_HOST_KEY_UNKNOWN' | 'SSH_HOST_KEY_MISMATCH';
  /** Human-readable reason. */
  reason: string;
  /** Fingerprint of the key the host presented. */
  fingerprint: string;
}

/** Where the expected host key comes from. */
export type HostKeyPolicy =
  | { kind: 'fingerprint'; fingerprints: string[] }
  | { kind: 'known-hosts'; path: string; entries: KnownHostEntry[]; acceptUnknown: boolean };

/** A stateful verifier for one connection attempt. */
export interface HostKeyVerifier {
  /** Host key algorithms to offer, or `undefined` for ssh2's defaults. */
  readonly algorithms: string[] | undefined;
  /** Called by ssh2 with the raw key blob; true accepts the key. */
  verify(key: Buffer): boolean;
  /** Set when `verify` refused a key. */
  rejection: HostKeyRejection | undefined;
  /** Fingerprint of the key presented (accepted or not), once seen. */
  presentedFingerprint: string | undefined;
}

/**
 * Builds the policy for a target (as `resolveTarget` resolved it): the pinned fingerprint(s) if any,
 * otherwise the known_hosts file (a missing file simply has no entries, so the host is unknown).
 */
export async function loadHostKeyPolicy(target: {
  hostKeyFingerprint?: string | readonly string[] | undefined;
  knownHostsPath?: string | undefined;
  acceptUnknownHostKey?: boolean | undefined;
}): Promise<HostKeyPolicy> {
  if (target.hostKeyFingerprint !== undefined) {
    const given = typeof target.hostKeyFingerprint === 'string' ? [target.hostKeyFingerprint] : [...target.hostKeyFingerprint];
    if (given.length === 0) {
      throw new EtcdKitError('INVALID_ARGUMENT', 'hostKeyFingerprint is empty', { field: 'hostKeyFingerprint' });
    }
    const fingerprints = given.map((text, i) => {
      const fp = typeof text === 'string' ? normalizeFingerprint(text) : undefined;
      if (fp === undefined) {
        throw new EtcdKitError('INVALID_ARGUMENT', 'hostKeyFingerprint must look like `SHA256:<43 base64 chars>`', {
          field: given.length > 1 ? `hostKeyFingerprint[${i}]` : 'hostKeyFingerprint',
        });
      }
      return fp;
    });
    return { kind: 'fingerprint', fingerprints };
  }
  const path = target.knownHostsPath;
  // resolveTarget fills in the default path whenever no fingerprint is pinned.
  if (path === undefined) throw new EtcdKitError('INVALID_ARGUMENT', 'knownHostsPath is required when no hostKeyFingerprint is given', { field: 'knownHostsPath' });
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new EtcdKitError('INVALID_ARGUMENT', `cannot read known_hosts file ${path}`, {
        field: 'knownHostsPath',
        cause: err,
      });
    }
  }
  return { kind: 'known-hosts', path, entries: parseKnownHosts(text), acceptUnknown: target.acceptUnknownHostKey === true };
}

/** Creates the verifier for one connection to `host`:`port` under `policy`. */
export function createHostKeyVerifier(policy: HostKeyPolicy, host: string, port: number): HostKeyVerifier {
  const matching = policy.kind === 'known-hosts' ? findKnownHostEntries(policy.entries, host, port) : [];
  const trusted = matching.filter((e) => e.marker === undefined);
  const verifier: HostKeyVerifier = {
    // Offer only key types known for this host, as ssh does: a host with an RSA and an ed25519 key must
    // present the one we can check, not whichever it prefers.
    algorithms: trusted.length > 0 ? algorithmsForKeyTypes(new Set(trusted.map((e) => e.keyType))) : undefined,
    rejection: undefined,
    presentedFingerprint: undefined,
    verify(key: Buffer): boolean {
      const fingerprint = fingerprintOfKey(key);
      verifier.presentedFingerprint = fingerprint;
      const reject = (code: HostKeyRejection['code'], reason: string): boolean => {
        verifier.rejection = { code, reason, fingerprint };
        return false;
      };
      if (policy.kind === 'fingerprint') {
        return policy.fingerprints.includes(fingerprint)
          ? true
          : reject('SSH_HOST_KEY_MISMATCH', `host key ${fingerprint} does not match the pinned fingerprint`);
      }
      if (matching.some((e) => e.marker === 'revoked' && e.key.equals(key))) {
        return reject('SSH_HOST_KEY_MISMATCH', `host key ${fingerprint} is marked @revoked in ${policy.path}`);
      }
      if (trusted.some((e) => e.key.equals(key))) return true;
      if (trusted.length > 0) {
        const type = keyTypeOfBlob(key) ?? 'unknown';
        const lines = trusted.map((e) => e.line).join(', ');
        return reject(
          'SSH_HOST_KEY_MISMATCH',
          `host key changed: ${type} ${fingerprint} differs from ${policy.path} line(s) ${lines}`,
        );
      }
      if (policy.acceptUnknown) return true;
      return reject('SSH_HOST_KEY_UNKNOWN', `host is not in ${policy.path} (presented ${fingerprint})`);
    },
  };
  return verifier;
}
