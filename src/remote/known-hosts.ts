/**
 * OpenSSH known_hosts parsing and host key fingerprints, as `ssh` and `ssh-keygen` understand them.
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { DEFAULT_SSH_PORT } from './options.js';

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  /** `revoked` for `@revoked` lines; `@cert-authority` lines are dropped by the parser. */
  marker: 'revoked' | undefined;
  /** Host patterns of the line (`host`, `[host]:port`, wildcards, `!negations`), or a hashed name. */
  hosts:
    | {
        /** Plain patterns. */
        kind: 'patterns';
        /** The comma-separated patterns. */
        patterns: string[];
      }
    | {
        /** A `|1|salt|hash` entry (HashKnownHosts). */
        kind: 'hashed';
        /** HMAC-SHA1 key. */
        salt: Buffer;
        /** HMAC-SHA1 of the host name. */
        hash: Buffer;
      };
  /** Key type named on the line, e.g. `ssh-ed25519`. */
  keyType: string;
  /** The public key blob (SSH wire format). */
  key: Buffer;
  /** 1-based line number, for messages. */
  line: number;
}

/**
 * Parses known_hosts text. Comments, blank lines, `@cert-authority` lines (certificates are not supported)
 * and malformed lines are skipped, as `ssh` does.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = (lines[i] ?? '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else continue; // @cert-authority or unknown markers: not a plain host key
    }
    const [hostField, keyType, keyBase64] = fields;
    if (hostField === undefined || keyType === undefined || keyBase64 === undefined) continue;
    const key = decodeBase64Strict(keyBase64);
    if (key === undefined || keyTypeOfBlob(key) !== keyType) continue;
    const hosts = parseHostField(hostField);
    if (hosts === undefined) continue;
    entries.push({ marker, hosts, keyType, key, line: i + 1 });
  }
  return entries;
}

function parseHostField(field: string): KnownHostEntry['hosts'] | undefined {
  if (field.startsWith('|1|')) {
    const [, , salt64, hash64] = field.split('|');
    const salt = salt64 === undefined ? undefined : decodeBase64Strict(salt64);
    const hash = hash64 === undefined ? undefined : decodeBase64Strict(hash64);
    if (salt === undefined || hash === undefined || hash.length !== 20) return undefined;
    return { kind: 'hashed', salt, hash };
  }
  if (field.startsWith('|')) return undefined; // unknown hash scheme
  return { kind: 'patterns', patterns: field.split(',').filter((p) => p !== '') };
}

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  return buf.length > 0 ? buf : undefined;
}

/** The name OpenSSH looks up for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = DEFAULT_SSH_PORT): string {
  return port === DEFAULT_SSH_PORT ? host : `[${host}]:${port}`;
}

/** Does one line's host field match `host`:`port`? Negated patterns veto a match, as in OpenSSH. */
export function entryMatchesHost(entry: KnownHostEntry, host: string, port = DEFAULT_SSH_PORT): boolean {
  // ssh lowercases host names before looking them up (and before hashing them).
  const name = knownHostsName(host.toLowerCase(), port);
  if (entry.hosts.kind === 'hashed') {
    const digest = createHmac('sha1', entry.hosts.salt).update(name).digest();
    return timingSafeEqual(digest, entry.hosts.hash);
  }
  let matched = false;
  for (const pattern of entry.hosts.patterns) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (!wildcardMatch(body.toLowerCase(), name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH pattern matching: `*` any run of characters, `?` exactly one. */
function wildcardMatch(pattern: string, text: string): boolean {
  const regex = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
  );
  return regex.test(text);
}

/** Entries of `entries` that apply to `host`:`port`. */
export function findKnownHostEntries(entries: readonly KnownHostEntry[], host: string, port = DEFAULT_SSH_PORT): KnownHostEntry[] {
  return entries.filter((entry) => entryMatchesHost(entry, host, port));
}

/** The key type (first string) of an SSH public key blob, or `undefined` if the blob is malformed. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:<base64 without padding>` of a public key blob: exactly what `ssh-keygen -lf` prints. */
export function fingerprintOfKey(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const FINGERPRINT = /SHA256:([A-Za-z0-9+/]{43})=?/;

/**
 * Normalises a pinned fingerprint: accepts `SHA256:...` or a whole `ssh-keygen -lf` output line
 * (`256 SHA256:... comment (ED25519)`). Returns `undefined` when no SHA-256 fingerprint is found.
 */
export function normalizeFingerprint(text: string): string | undefined {
  const match = FINGERPRINT.exec(text.trim());
  return match ? `SHA256:${match[1]}` : undefined;
}

/**
 * Host key algorithms to offer for keys of the given types (so a host with several keys presents one we
 * know, as OpenSSH does). RSA keys can sign with SHA-2 or SHA-1.
 */
export function algorithmsForKeyTypes(keyTypes: Iterable<string>): string[] {
  const out: string[] = [];
  for (const type of keyTypes) {
    const algos = type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
    for (const algo of algos) if (SUPPORTED_HOST_KEY_ALGORITHMS.has(algo) && !out.includes(algo)) out.push(algo);
  }
  return out;
}

const SUPPORTED_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
]);

/** One known_hosts line (`host keytype base64`) for a key, e.g. to persist a key accepted on first use. */
export function formatKnownHostsLine(host: string, port: number, key: Buffer): string {
  const type = keyTypeOfBlob(key);
  if (type === undefined) throw new TypeError('not an SSH public key blob');
  return `${knownHostsName(host, port)} ${type} ${key.toString('base64')}`;
}
