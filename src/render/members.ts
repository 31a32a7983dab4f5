import { isIP } from 'node:net';
import { assertIntInRange, invalidInput } from './invalid.js';

/**
 * One etcd member as the renderers see it.
 * @category Rendering
 */
export interface ClusterMember {
  /** Member name (`ETCD_NAME`): 1–63 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit. */
  name: string;
  /** Address clients and peers reach the member on: IPv4, IPv6 (no brackets) or a DNS name. */
  address: string;
  /** Client port (TLS, gRPC + HTTP). Default: 2379. */
  clientPort?: number;
  /** Peer port (TLS, raft). Default: 2380. */
  peerPort?: number;
}

/** Default client port of etcd. */
export const DEFAULT_CLIENT_PORT = 2379;
/** Default peer port of etcd. */
export const DEFAULT_PEER_PORT = 2380;

const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Formats `address` for the host part of a URL: IPv6 literals are bracketed. */
export function urlHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/** The member's client URL, e.g. `https://10.0.0.1:2379` or `https://[fd00::1]:2379`. */
export function clientUrl(m: ClusterMember): string {
  return `https://${urlHost(m.address)}:${m.clientPort ?? DEFAULT_CLIENT_PORT}`;
}

/** The member's peer URL, e.g. `https://10.0.0.1:2380` or `https://[fd00::1]:2380`. */
export function peerUrl(m: ClusterMember): string {
  return `https://${urlHost(m.address)}:${m.peerPort ?? DEFAULT_PEER_PORT}`;
}

/** Both URLs of a member. */
export interface MemberUrls {
  /** `https://<address>:<clientPort>`. */
  clientUrl: string;
  /** `https://<address>:<peerPort>`. */
  peerUrl: string;
}

/** Both URLs of a member, see {@link clientUrl} and {@link peerUrl}. */
export function memberUrls(m: ClusterMember): MemberUrls {
  return { clientUrl: clientUrl(m), peerUrl: peerUrl(m) };
}

/** Throws unless `name` is a valid member name (see {@link ClusterMember.name}). */
export function assertMemberName(name: unknown, field: string): asserts name is string {
  if (typeof name !== 'string' || !MEMBER_NAME.test(name)) {
    throw invalidInput(
      field,
      `member name must be 1-63 characters of A-Z a-z 0-9 . _ - starting with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
}

/** Throws unless `address` is an IPv4 address, an unbracketed IPv6 address or a DNS name. */
export function assertAddress(address: unknown, field: string): asserts address is string {
  if (typeof address !== 'string' || address.length === 0) throw invalidInput(field, 'must be a non-empty IPv4, IPv6 or DNS address');
  const family = isIP(address);
  if (family === 4) return;
  if (family === 6) {
    // A zone id (fe80::1%eth0) would need %25 in a URL and never matches a certificate SAN.
    if (address.includes('%')) throw invalidInput(field, `IPv6 zone ids are not supported, got '${address}'`);
    return;
  }
  if (address.startsWith('[')) throw invalidInput(field, `give IPv6 addresses without brackets, got '${address}'`);
  // Looks like a dotted quad but is not one (e.g. 10.0.0.256): refuse rather than treat it as a DNS name.
  if (/^[0-9.]+$/.test(address)) throw invalidInput(field, `not a valid IPv4 address: '${address}'`);
  const name = address.endsWith('.') ? address.slice(0, -1) : address;
  if (name.length > 253 || !name.split('.').every((label) => DNS_LABEL.test(label))) {
    throw invalidInput(field, `not a valid IPv4, IPv6 or DNS address: ${JSON.stringify(address)}`);
  }
}

/** Lower-cased host:port with IPv6 in canonical form, used to detect two listeners on one socket. */
function socketKey(address: string, port: number): string {
  return new URL(`https://${urlHost(address)}:${port}`).host.toLowerCase() || `${address}:${port}`;
}

/**
 * Validates a member list: names, addresses, ports (1–65535, client ≠ peer), no duplicate names and no two
 * listeners (client or peer URL) on the same address:port. Throws `RENDER_INVALID_INPUT` naming the field,
 * e.g. `members[1].name`.
 *
 * @param field - Path of the list in the caller's input, used as the prefix of error fields. Default: `members`.
 */
export function validateClusterMembers(members: ClusterMember[], field = 'members'): void {
  if (!Array.isArray(members) || members.length === 0) throw invalidInput(field, 'must be a non-empty array of members');
  const names = new Map<string, number>();
  const sockets = new Map<string, string>();
  members.forEach((m, i) => {
    const at = `${field}[${i}]`;
    if (m === null || typeof m !== 'object') throw invalidInput(at, 'must be an object');
    assertMemberName(m.name, `${at}.name`);
    const firstIndex = names.get(m.name);
    if (firstIndex !== undefined) throw invalidInput(`${at}.name`, `duplicate member name '${m.name}' (also ${field}[${firstIndex}])`);
    names.set(m.name, i);
    assertAddress(m.address, `${at}.address`);
    const clientPort = m.clientPort ?? DEFAULT_CLIENT_PORT;
    const peerPort = m.peerPort ?? DEFAULT_PEER_PORT;
    assertIntInRange(clientPort, `${at}.clientPort`, 1, 65535);
    assertIntInRange(peerPort, `${at}.peerPort`, 1, 65535);
    if (clientPort === peerPort) throw invalidInput(`${at}.peerPort`, `must differ from clientPort (both ${clientPort})`);
    for (const [kind, port] of [
      ['peerPort', peerPort],
      ['clientPort', clientPort],
    ] as const) {
      const key = socketKey(m.address, port);
      const owner = sockets.get(key);
      if (owner !== undefined) throw invalidInput(`${at}.${kind}`, `${key} is already used by ${owner}`);
      sockets.set(key, `${at}.${kind}`);
    }
  });
}
