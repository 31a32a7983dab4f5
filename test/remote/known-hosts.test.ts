import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  algorithmsForKeyTypes,
  entryMatchesHost,
  findKnownHostEntries,
  fingerprintOfKey,
  formatKnownHostsLine,
  keyTypeOfBlob,
  knownHostsName,
  normalizeFingerprint,
  parseKnownHosts,
} from '../../src/remote/known-hosts.js';

const run = promisify(execFile);

interface Key {
  type: string;
  base64: string;
  blob: Buffer;
  /** `SHA256:...` as ssh-keygen -lf prints it. */
  fingerprint: string;
}

let dir: string;
const keys: Record<'ed25519' | 'ecdsa' | 'rsa' | 'other', Key> = {} as never;

async function makeKey(name: string, type: string, bits?: string): Promise<Key> {
  const path = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-f', path]);
  const pub = (await readFile(`${path}.pub`, 'utf8')).trim().split(' ');
  const { stdout } = await run('ssh-keygen', ['-lf', `${path}.pub`]);
  return {
    type: pub[0] ?? '',
    base64: pub[1] ?? '',
    blob: Buffer.from(pub[1] ?? '', 'base64'),
    fingerprint: stdout.split(' ')[1] ?? '',
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-known-hosts-'));
  keys.ed25519 = await makeKey('ed', 'ed25519');
  keys.ecdsa = await makeKey('ec', 'ecdsa', '256');
  keys.rsa = await makeKey('rsa', 'rsa', '2048');
  keys.other = await makeKey('other', 'ed25519');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fingerprints', () => {
  it('equal what ssh-keygen -lf prints, for every key type', () => {
    for (const key of Object.values(keys)) {
      expect(fingerprintOfKey(key.blob)).toBe(key.fingerprint);
      expect(keyTypeOfBlob(key.blob)).toBe(key.type);
    }
  });

  it('are normalised from a whole ssh-keygen -lf line or a padded value, and garbage is refused', () => {
    const fp = keys.ed25519.fingerprint;
    expect(normalizeFingerprint(`256 ${fp} root@host (ED25519)`)).toBe(fp);
    expect(normalizeFingerprint(`${fp}=`)).toBe(fp);
    expect(normalizeFingerprint('MD5:12:34')).toBeUndefined();
    expect(normalizeFingerprint('SHA256:tooshort')).toBeUndefined();
  });
});

describe('known_hosts parsing and matching', () => {
  it('matches plain names, [host]:port for other ports, and comma lists', () => {
    const text = [
      '# comment',
      '',
      `10.0.0.1,node1 ${keys.ed25519.type} ${keys.ed25519.base64}`,
      `[10.0.0.2]:2222 ${keys.ecdsa.type} ${keys.ecdsa.base64} a comment`,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(2);
    expect(findKnownHostEntries(entries, '10.0.0.1')).toHaveLength(1);
    expect(findKnownHostEntries(entries, 'NODE1', 22)).toHaveLength(1);
    // Port 22 entries do not apply to other ports, and vice versa.
    expect(findKnownHostEntries(entries, '10.0.0.1', 2222)).toHaveLength(0);
    expect(findKnownHostEntries(entries, '10.0.0.2', 2222)[0]?.key.equals(keys.ecdsa.blob)).toBe(true);
    expect(findKnownHostEntries(entries, '10.0.0.2', 22)).toHaveLength(0);
    expect(knownHostsName('h', 22)).toBe('h');
    expect(knownHostsName('h', 2222)).toBe('[h]:2222');
  });

  it('matches lines hashed by ssh-keygen -H (HashKnownHosts format)', async () => {
    const path = join(dir, 'hashed_known_hosts');
    await writeFile(
      path,
      `10.9.8.7 ${keys.ed25519.type} ${keys.ed25519.base64}\n[10.9.8.7]:2201 ${keys.rsa.type} ${keys.rsa.base64}\n`,
    );
    await run('ssh-keygen', ['-H', '-f', path]);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('10.9.8.7');
    const entries = parseKnownHosts(text);
    expect(entries.every((e) => e.hosts.kind === 'hashed')).toBe(true);
    expect(findKnownHostEntries(entries, '10.9.8.7').map((e) => e.keyType)).toEqual(['ssh-ed25519']);
    expect(findKnownHostEntries(entries, '10.9.8.7', 2201).map((e) => e.keyType)).toEqual(['ssh-rsa']);
    expect(findKnownHostEntries(entries, '10.9.8.8')).toHaveLength(0);
  });

  it('finds a host in a hashed file the way ssh-keygen -F does', async () => {
    const path = join(dir, 'hashed_known_hosts');
    const { stdout } = await run('ssh-keygen', ['-F', '[10.9.8.7]:2201', '-f', path]);
    expect(stdout).toContain('ssh-rsa');
    const entries = parseKnownHosts(await readFile(path, 'utf8'));
    expect(findKnownHostEntries(entries, '10.9.8.7', 2201)).toHaveLength(1);
  });

  it('honours wildcards and negations', () => {
    const entries = parseKnownHosts(`*.lan,!bad.lan,10.0.0.? ${keys.ed25519.type} ${keys.ed25519.base64}`);
    const [entry] = entries;
    expect(entry).toBeDefined();
    if (!entry) return;
    expect(entryMatchesHost(entry, 'etcd1.lan')).toBe(true);
    expect(entryMatchesHost(entry, 'bad.lan')).toBe(false);
    expect(entryMatchesHost(entry, '10.0.0.7')).toBe(true);
    expect(entryMatchesHost(entry, '10.0.0.17')).toBe(false);
    expect(entryMatchesHost(entry, 'lan')).toBe(false);
  });

  it('keeps @revoked lines, drops @cert-authority lines, malformed lines and keys whose type does not match', () => {
    const text = [
      `@revoked h1 ${keys.ed25519.type} ${keys.ed25519.base64}`,
      `@cert-authority *.lan ${keys.ecdsa.type} ${keys.ecdsa.base64}`,
      'h2 ssh-ed25519',
      'h3 ssh-ed25519 !!!notbase64',
      `h4 ssh-rsa ${keys.ed25519.base64}`,
      `|2|unknownscheme ${keys.ed25519.type} ${keys.ed25519.base64}`,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.marker).toBe('revoked');
    expect(entries[0]?.line).toBe(1);
  });

  it('formats a line that parses back and matches', () => {
    const line = formatKnownHostsLine('10.1.1.1', 2222, keys.rsa.blob);
    expect(line.startsWith('[10.1.1.1]:2222 ssh-rsa ')).toBe(true);
    const entries = parseKnownHosts(line);
    expect(findKnownHostEntries(entries, '10.1.1.1', 2222)[0]?.key.equals(keys.rsa.blob)).toBe(true);
  });

  it('offers the host key algorithms of the known key types (RSA with SHA-2 first)', () => {
    expect(algorithmsForKeyTypes(['ssh-rsa'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(algorithmsForKeyTypes(['ssh-ed25519', 'ecdsa-sha2-nistp256'])).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(algorithmsForKeyTypes(['sk-ssh-ed25519@openssh.com'])).toEqual([]);
  });
});
