import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveClusterSpec } from '../../src/deploy/resolve-spec.js';
import { EtcdKitError } from '../../src/errors.js';
import { bad, binDir, dir, good, key, members, type Spec, tarball } from './spec-cases.js';

const env = { HOME: dir }; // no SSH_AUTH_SOCK, no ~/.ssh keys: credentials must come from the spec

function expectSpecError(spec: unknown, field: string): EtcdKitError {
  let caught: unknown;
  try {
    resolveClusterSpec(spec, { env, baseDir: dir });
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected an error at ${field}`).toBeInstanceOf(EtcdKitError);
  const err = caught as EtcdKitError;
  expect(err.code).toBe('INVALID_SPEC');
  expect(err.field).toBe(field);
  expect(err.message).toContain(field);
  return err;
}

describe('resolveClusterSpec: defaults', () => {
  it('fills every default for a minimal spec', () => {
    const spec = resolveClusterSpec(good(), { env, baseDir: dir });
    expect(spec.members.map((m) => m.name)).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(spec.members[0]!.address).toBe('10.0.0.11');
    expect(spec.members[0]!.certHosts).toEqual(['10.0.0.11']);
    expect(spec.members[0]!.cluster).toEqual({ name: 'etcd01', address: '10.0.0.11', clientPort: 2379, peerPort: 2380 });
    expect(spec.members[0]!.ssh).toMatchObject({
      host: '10.0.0.11',
      port: 22,
      username: 'root',
      privateKeyPath: key,
      acceptUnknownHostKey: false,
      knownHostsPath: join(dir, '.ssh/known_hosts'),
    });
    expect(spec.layout.prefix).toBe('/opt/etcd');
    expect(spec.layout.dataDir).toBe('/var/lib/etcd');
    expect(spec.pki).toEqual({ dir: join(dir, 'pki'), keyAlgorithm: 'ecdsa-p256', clients: ['admin', 'kube-apiserver'], renewBeforeDays: 30 });
    expect(spec.settings.heartbeatMs).toBe(100);
    expect(spec.settings.electionMs).toBe(1000);
    expect(spec.warnings).toEqual([]);
  });

  it('applies member overrides, pinned fingerprints, layout and ports', () => {
    const fp = `SHA256:${'A'.repeat(43)}`;
    const spec = resolveClusterSpec(
      {
        name: 'prod-etcd',
        members: [
          { name: 'a', host: 'a.example.com', address: '10.1.0.1', extraSans: ['etcd.example.com'], ssh: { port: 2222, user: 'deployer' } },
          { name: 'b', host: '10.1.0.2' },
          { name: 'c', host: 'fd00::3' },
        ],
        etcd: { binDir: 'bin' },
        ssh: { privateKeyPath: key, hostKeyFingerprints: { b: fp } },
        layout: { prefix: '/srv/etcd', dataDir: '/data/etcd' },
        ports: { client: 12379, peer: 12380 },
        pki: { dir: 'certs', keyAlgorithm: 'ecdsa-p256', clients: ['admin'] },
        settings: { heartbeatMs: 250, electionMs: 2500 },
      },
      { env, baseDir: dir },
    );
    expect(spec.name).toBe('prod-etcd');
    expect(spec.members[0]!.certHosts).toEqual(['10.1.0.1', 'a.example.com', 'etcd.example.com']);
    expect(spec.members[0]!.ssh).toMatchObject({ host: 'a.example.com', port: 2222, username: 'deployer' });
    expect(spec.members[1]!.ssh.hostKeyFingerprint).toBe(fp);
    expect(spec.members[2]!.cluster.clientPort).toBe(12379);
    expect(spec.etcd).toEqual({ binDir });
    expect(spec.layout.binDir).toBe('/srv/etcd/bin');
    expect(spec.layout.dataDir).toBe('/data/etcd');
    expect(spec.pki).toEqual({ dir: join(dir, 'certs'), keyAlgorithm: 'ecdsa-p256', clients: ['admin'], renewBeforeDays: 30 });
    expect(spec.settings.electionMs).toBe(2500);
  });

  it('warns (does not fail) on an even member count and on a single member', () => {
    const four = good();
    four.members.push({ name: 'etcd04', host: '10.0.0.14' });
    expect(resolveClusterSpec(four, { env }).warnings[0]).toMatch(/odd/);
    const one = good();
    one.members = one.members.slice(0, 1);
    expect(resolveClusterSpec(one, { env }).warnings[0]).toMatch(/fault tolerance/);
  });

  it('uses ssh-agent from SSH_AUTH_SOCK when no key is given', () => {
    const spec = resolveClusterSpec({ members, etcd: { tarball } }, { env: { HOME: dir, SSH_AUTH_SOCK: '/tmp/agent.sock' } });
    expect(spec.members[0]!.ssh.agent).toBe('/tmp/agent.sock');
    expect(spec.members[0]!.ssh.privateKeyPath).toBeUndefined();
  });

  it('pki without a dir gets the default dir, ./pki', () => {
    const spec = resolveClusterSpec({ ...good(), pki: { keyAlgorithm: 'rsa-2048' } }, { env, baseDir: dir });
    expect(spec.pki).toEqual({ dir: join(dir, 'pki'), keyAlgorithm: 'rsa-2048', clients: ['admin', 'kube-apiserver'], renewBeforeDays: 30 });
  });

  it("its SSH targets use the spec's names (user, acceptUnknownHostKeys), the deprecated spellings alongside", () => {
    const spec = resolveClusterSpec(
      { ...good(), members: [{ name: 'a', host: '10.0.0.11', ssh: { user: 'deployer' } }], ssh: { privateKeyPath: key, user: 'ops', acceptUnknownHostKeys: true } },
      { env, baseDir: dir },
    );
    expect(spec.members[0]!.ssh).toMatchObject({ user: 'deployer', username: 'deployer', acceptUnknownHostKeys: true, acceptUnknownHostKey: true });
    const defaults = resolveClusterSpec(good(), { env, baseDir: dir }).members[0]!.ssh;
    expect(defaults).toMatchObject({ user: 'root', acceptUnknownHostKeys: false });
  });

  it('accepts a url source and lower-cases its checksum', () => {
    const sha = 'AB'.repeat(32);
    const spec = resolveClusterSpec({ ...good(), etcd: { url: 'http://127.0.0.1:8080/etcd.tar.gz', sha256: sha } }, { env });
    expect(spec.etcd).toEqual({ url: 'http://127.0.0.1:8080/etcd.tar.gz', sha256: sha.toLowerCase() });
  });
});

describe('resolveClusterSpec: malformed specs', () => {
  it('has a table of at least 25 cases', () => expect(bad.length).toBeGreaterThanOrEqual(25));

  it.each(bad)('%s → INVALID_SPEC at %s', (_title, field, mutate) => {
    expectSpecError(mutate(good() as Spec), field);
  });

  it('rejects a non-object spec', () => {
    expectSpecError(null, '(spec)');
    expectSpecError([members], '(spec)');
  });

  it('never echoes a passphrase', () => {
    const err = expectSpecError({ ...good(), ssh: { privateKeyPath: join(dir, 'nope'), passphrase: 'hunter2-secret' } }, 'ssh.privateKeyPath');
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('hunter2');
  });
});
