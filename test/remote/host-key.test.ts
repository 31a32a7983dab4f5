import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { createHostKeyVerifier, loadHostKeyPolicy } from '../../src/remote/host-key.js';
import { fingerprintOfKey } from '../../src/remote/known-hosts.js';

/** A fresh ed25519 public key blob in SSH wire format. */
function newKeyBlob(): Buffer {
  const { public: pub } = ssh2.utils.generateKeyPairSync('ed25519');
  return Buffer.from(pub.split(' ')[1] ?? '', 'base64');
}

let dir: string;
let knownHostsPath: string;
const hostKey = newKeyBlob();
const otherKey = newKeyBlob();
const revokedKey = newKeyBlob();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-host-key-'));
  knownHostsPath = join(dir, 'known_hosts');
  await writeFile(
    knownHostsPath,
    [
      `[10.0.0.1]:2222 ssh-ed25519 ${hostKey.toString('base64')}`,
      `@revoked 10.0.0.2 ssh-ed25519 ${revokedKey.toString('base64')}`,
      `10.0.0.2 ssh-ed25519 ${hostKey.toString('base64')}`,
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('known_hosts policy', () => {
  it('accepts the listed key and offers only its type', async () => {
    const v = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath }), '10.0.0.1', 2222);
    expect(v.algorithms).toEqual(['ssh-ed25519']);
    expect(v.verify(hostKey)).toBe(true);
    expect(v.rejection).toBeUndefined();
    expect(v.presentedFingerprint).toBe(fingerprintOfKey(hostKey));
  });

  it('refuses a changed key as MISMATCH', async () => {
    const v = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath }), '10.0.0.1', 2222);
    expect(v.verify(otherKey)).toBe(false);
    expect(v.rejection?.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(v.rejection?.fingerprint).toBe(fingerprintOfKey(otherKey));
  });

  it('refuses an unlisted host as UNKNOWN, or accepts it when asked to', async () => {
    const strict = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath }), '10.0.0.1', 22);
    expect(strict.algorithms).toBeUndefined();
    expect(strict.verify(hostKey)).toBe(false);
    expect(strict.rejection?.code).toBe('SSH_HOST_KEY_UNKNOWN');
    const lenient = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath, acceptUnknownHostKey: true }), '10.0.0.9', 22);
    expect(lenient.verify(otherKey)).toBe(true);
  });

  it('never accepts a changed key, even with acceptUnknownHostKey', async () => {
    const v = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath, acceptUnknownHostKey: true }), '10.0.0.1', 2222);
    expect(v.verify(otherKey)).toBe(false);
    expect(v.rejection?.code).toBe('SSH_HOST_KEY_MISMATCH');
  });

  it('refuses a @revoked key', async () => {
    const v = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath }), '10.0.0.2', 22);
    expect(v.verify(revokedKey)).toBe(false);
    expect(v.rejection?.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(v.rejection?.reason).toContain('@revoked');
    expect(createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath }), '10.0.0.2', 22).verify(hostKey)).toBe(true);
  });

  it('treats a missing known_hosts file as empty', async () => {
    const v = createHostKeyVerifier(await loadHostKeyPolicy({ knownHostsPath: join(dir, 'absent') }), '10.0.0.1', 2222);
    expect(v.verify(hostKey)).toBe(false);
    expect(v.rejection?.code).toBe('SSH_HOST_KEY_UNKNOWN');
  });
});

describe('pinned fingerprint policy', () => {
  it('accepts exactly the pinned key, from a bare fingerprint or a whole ssh-keygen -lf line', async () => {
    const fp = fingerprintOfKey(hostKey);
    for (const pin of [fp, `256 ${fp} root@h (ED25519)`, [fingerprintOfKey(otherKey), fp]]) {
      const v = createHostKeyVerifier(await loadHostKeyPolicy({ hostKeyFingerprint: pin, knownHostsPath: join(dir, 'absent') }), 'x', 22);
      expect(v.verify(hostKey)).toBe(true);
    }
    const v = createHostKeyVerifier(await loadHostKeyPolicy({ hostKeyFingerprint: fp }), 'x', 22);
    expect(v.verify(otherKey)).toBe(false);
    expect(v.rejection?.code).toBe('SSH_HOST_KEY_MISMATCH');
  });

  it('rejects a malformed pin as INVALID_ARGUMENT naming the field', async () => {
    await expect(loadHostKeyPolicy({ hostKeyFingerprint: 'MD5:aa:bb' })).rejects.toSatisfy(
      (e: unknown) => isEtcdKitError(e, 'INVALID_ARGUMENT') && e.field === 'hostKeyFingerprint',
    );
    await expect(loadHostKeyPolicy({ hostKeyFingerprint: [fingerprintOfKey(hostKey), 'nope'] })).rejects.toSatisfy(
      (e: unknown) => isEtcdKitError(e, 'INVALID_ARGUMENT') && e.field === 'hostKeyFingerprint[1]',
    );
    await expect(loadHostKeyPolicy({ hostKeyFingerprint: [] })).rejects.toSatisfy((e: unknown) =>
      isEtcdKitError(e, 'INVALID_ARGUMENT'),
    );
  });
});
