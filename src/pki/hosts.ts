/**
 * Host names and IP addresses → subjectAltName entries. Strict on purpose: a SAN typo only shows up later
 * as "tls: bad certificate" on a remote host, so every entry is checked here and named in the error.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { EtcdKitError } from '../errors.js';

/** One subjectAltName entry in canonical form. */
export type SanEntry = { type: 'dns'; name: string } | { type: 'ip'; address: string; bytes: Buffer };

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_DNS_NAME_LENGTH = 253;

/** Canonical text of an IPv6 address (RFC 5952 compression, lower case), via the WHATWG URL serializer. */
const canonicalIPv6 = (address: string): string => new URL(`http://[${address}]`).hostname.slice(1, -1);

/** 16 bytes of a canonical IPv6 address (no embedded dotted quad: canonicalIPv6 has removed it). */
function ipv6Bytes(canonical: string): Buffer {
  const [head = '', tail] = canonical.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros: string[] = Array(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => {
    bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  return bytes;
}

/** Text form of IP SAN bytes (4 → dotted quad, 16 → canonical IPv6), or hex for anything else. */
export function ipBytesToText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
    return canonicalIPv6(groups.join(':'));
  }
  return bytes.toString('hex');
}

function invalid(field: string, message: string): EtcdKitError {
  return new EtcdKitError('PKI_INVALID_INPUT', `${field}: ${message}`, { field });
}

/** Parses one host, throwing PKI_INVALID_INPUT naming `field` when it is not a valid IP or DNS name. */
export function parseHost(host: unknown, field: string): SanEntry {
  if (typeof host !== 'string') throw invalid(field, `expected a host name or IP address string, got ${typeof host}`);
  if (host === '') throw invalid(field, 'host is empty');
  if (/\s/.test(host)) throw invalid(field, `host ${JSON.stringify(host)} contains whitespace`);

  if (host.includes(':')) {
    if (host.includes('%')) throw invalid(field, `IPv6 address ${JSON.stringify(host)} has a zone index`);
    if (!isIPv6(host)) throw invalid(field, `${JSON.stringify(host)} is not a valid IPv6 address (no brackets)`);
    const address = canonicalIPv6(host);
    return { type: 'ip', address, bytes: ipv6Bytes(address) };
  }
  if (/^[0-9.]+$/.test(host)) {
    if (!isIPv4(host)) throw invalid(field, `${JSON.stringify(host)} looks like an IPv4 address but is not valid`);
    return { type: 'ip', address: host, bytes: Buffer.from(host.split('.').map(Number)) };
  }
  return { type: 'dns', name: parseDnsName(host, field) };
}

function parseDnsName(host: string, field: string): string {
  const name = host.toLowerCase();
  const quoted = JSON.stringify(host);
  if (name.length > MAX_DNS_NAME_LENGTH) throw invalid(field, `DNS name ${quoted} is longer than 253 characters`);
  if (name.endsWith('.')) throw invalid(field, `DNS name ${quoted} must not end with a dot`);
  const labels = name.split('.');
  labels.forEach((label, i) => {
    if (label === '*' && i === 0) {
      if (labels.length < 2) throw invalid(field, `wildcard ${quoted} needs a domain after "*."`);
      return;
    }
    if (label.includes('*')) {
      throw invalid(field, `DNS name ${quoted}: a wildcard is only allowed as the whole leftmost label ("*.example.com")`);
    }
    if (!DNS_LABEL.test(label)) {
      throw invalid(
        field,
        `DNS name ${quoted} has an invalid label ${JSON.stringify(label)} (1-63 of a-z, 0-9, "-"; no leading/trailing "-")`,
      );
    }
  });
  return name;
}

/**
 * Parses a host list into de-duplicated SAN entries (DNS names compared case-insensitively, IPs by their
 * bytes), keeping first-seen order. Errors name the element, e.g. `members[1].hosts[2]`.
 */
export function parseHosts(hosts: unknown, field: string, extra: readonly string[] = []): SanEntry[] {
  if (!Array.isArray(hosts)) throw invalid(field, 'expected an array of host names / IP addresses');
  const entries = [
    ...hosts.map((host, i) => parseHost(host, `${field}[${i}]`)),
    ...extra.map((host) => parseHost(host, field)),
  ];
  const seen = new Set<string>();
  const unique = entries.filter((entry) => {
    const key = entry.type === 'dns' ? `dns:${entry.name}` : `ip:${entry.bytes.toString('hex')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length === 0) throw invalid(field, 'at least one host name or IP address is required');
  return unique;
}
