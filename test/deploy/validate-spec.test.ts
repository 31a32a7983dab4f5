import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveClusterSpec } from '../../src/deploy/validate-spec.js';
import { EtcdKitError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'etcd-kit-spec-'));
const tarball = join(dir, 'etcd-v3.4.23-linux-amd64.tar.gz');
const key = join(dir, 'id_ed25519');
const binDir = join(dir, 'bin');
writeFileSync(tarball, 'not really a tarball: the spec only checks that it exists');
writeFileSync(key, 'placeholder key file');
mkdirSync(binDir);
mkdirSync(join(dir, 'emptybin'));
writeFileSync(join(binDir, 'etcd'), '');
writeFileSync(join(binDir, 'etcdctl'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { HOME: dir }; // no SSH_AUTH_SOCK, no ~/.ssh keys: credentials must come from the spec
const members = [
  { name: 'etcd01', host: '10.0.0.11' },
  { name: 'etcd02', host: '10.0.0.12' },
  { name: 'etcd03', host: '10.0.0.13' },
];
const good = () => ({ members: structuredClone(members), etcd: { tarball }, ssh: { privateKeyPath: key } });

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

type Spec = ReturnType<typeof good> & Record<string, unknown>;
type Mutation = [title: string, field: string, mutate: (spec: Spec) => unknown];
const withMember = (s: Spec, i: number, patch: Record<string, unknown>) => ({ ...s, members: s.members.map((m, j) => (j === i ? { ...m, ...patch } : m)) });

const bad: Mutation[] = [
  ['no members', 'members', (s) => ({ ...s, members: [] })],
  ['members not a list', 'members', (s) => ({ ...s, members: 'etcd01' })],
  ['member without name', 'members[1].name', (s) => withMember(s, 1, { name: undefined })],
  ['member name with a space', 'members[1].name', (s) => withMember(s, 1, { name: 'etcd 02' })],
  ['member name with a quote', 'members[2].name', (s) => withMember(s, 2, { name: 'etcd"3' })],
  ['member name too long', 'members[0].name', (s) => withMember(s, 0, { name: 'a'.repeat(64) })],
  ['duplicate member names', 'members[2].name', (s) => withMember(s, 2, { name: 'etcd01' })],
  ['empty host', 'members[1].host', (s) => withMember(s, 1, { host: '' })],
  ['invalid dotted quad', 'members[1].host', (s) => withMember(s, 1, { host: '300.1.1.1' })],
  ['host with a space', 'members[0].host', (s) => withMember(s, 0, { host: '10.0.0.1 10.0.0.2' })],
  ['host is a URL', 'members[0].host', (s) => withMember(s, 0, { host: 'https://10.0.0.1:2379' })],
  ['duplicate hosts', 'members[2].host', (s) => withMember(s, 2, { host: '10.0.0.11' })],
  ['bad extra SAN', 'members[0].extraSans[1]', (s) => withMember(s, 0, { extraSans: ['ok.example', 'bad_name!'] })],
  ['unknown member field', 'members[0].ip', (s) => withMember(s, 0, { ip: '10.0.0.1' })],
  ['ssh port out of range', 'members[1].ssh.port', (s) => withMember(s, 1, { ssh: { port: 70000 } })],
  ['bad pinned fingerprint', 'ssh.hostKeyFingerprints.etcd01', (s) => ({ ...s, ssh: { privateKeyPath: key, hostKeyFingerprints: { etcd01: 'MD5:aa:bb' } } })],
  ['fingerprint for no member', 'ssh.hostKeyFingerprints.etcd09', (s) => ({ ...s, ssh: { privateKeyPath: key, hostKeyFingerprints: { etcd09: `SHA256:${'A'.repeat(43)}` } } })],
  ['missing private key file', 'ssh.privateKeyPath', (s) => ({ ...s, ssh: { privateKeyPath: join(dir, 'nope') } })],
  ['missing known_hosts file', 'ssh.knownHostsPath', (s) => ({ ...s, ssh: { privateKeyPath: key, knownHostsPath: join(dir, 'nope') } })],
  ['no SSH credentials at all', 'members[0].ssh.privateKeyPath', (s) => ({ ...s, ssh: {} })],
  ['acceptUnknownHostKeys not a boolean', 'ssh.acceptUnknownHostKeys', (s) => ({ ...s, ssh: { privateKeyPath: key, acceptUnknownHostKeys: 'yes' } })],
  ['no etcd source', 'etcd', (s) => ({ ...s, etcd: undefined })],
  ['etcd source of two kinds', 'etcd', (s) => ({ ...s, etcd: { tarball, binDir } })],
  ['missing tarball', 'etcd.tarball', (s) => ({ ...s, etcd: { tarball: join(dir, 'etcd-v9.tar.gz') } })],
  ['tarball is a directory', 'etcd.tarball', (s) => ({ ...s, etcd: { tarball: dir } })],
  ['binDir without binaries', 'etcd.binDir', (s) => ({ ...s, etcd: { binDir: join(dir, 'emptybin') } })],
  ['url without sha256', 'etcd.sha256', (s) => ({ ...s, etcd: { url: 'http://127.0.0.1/etcd.tar.gz' } })],
  ['sha256 too short', 'etcd.sha256', (s) => ({ ...s, etcd: { url: 'http://127.0.0.1/etcd.tar.gz', sha256: 'abc' } })],
  ['sha256 read as a number from YAML', 'etcd.sha256', (s) => ({ ...s, etcd: { url: 'http://127.0.0.1/etcd.tar.gz', sha256: 0 } })],
  ['sha256 without url', 'etcd.sha256', (s) => ({ ...s, etcd: { tarball, sha256: 'ab'.repeat(32) } })],
  ['url with a file scheme', 'etcd.url', (s) => ({ ...s, etcd: { url: 'file:///tmp/etcd.tar.gz', sha256: 'ab'.repeat(32) } })],
  ['unknown key algorithm', 'pki.keyAlgorithm', (s) => ({ ...s, pki: { dir: 'pki', keyAlgorithm: 'dsa-1024' } })],
  ['pki dir is a file', 'pki.dir', (s) => ({ ...s, pki: { dir: tarball } })],
  ['negative renewBeforeDays', 'pki.renewBeforeDays', (s) => ({ ...s, pki: { dir: 'pki', renewBeforeDays: -1 } })],
  ['duplicate client cert', 'pki.clients', (s) => ({ ...s, pki: { dir: 'pki', clients: ['admin', 'admin'] } })],
  ['relative layout prefix', 'layout.prefix', (s) => ({ ...s, layout: { prefix: 'opt/etcd' } })],
  ['layout path with a quote', 'layout.dataDir', (s) => ({ ...s, layout: { dataDir: '/var/lib/"etcd' } })],
  ['same client and peer port', 'ports.peer', (s) => ({ ...s, ports: { client: 2379, peer: 2379 } })],
  ['election below 5x heartbeat', 'settings.electionMs', (s) => ({ ...s, settings: { heartbeatMs: 300, electionMs: 1000 } })],
  ['unknown setting', 'settings.heartbeat', (s) => ({ ...s, settings: { heartbeat: 100 } })],
  ['quota as a string', 'settings.quotaBackendBytes', (s) => ({ ...s, settings: { quotaBackendBytes: '2G' } })],
  ['plaintext metrics on a public address', 'settings.metricsUrls[0]', (s) => ({ ...s, settings: { metricsUrls: ['http://10.0.0.11:2381'] } })],
  ['bad cluster name', 'name', (s) => ({ ...s, name: 'my cluster' })],
  ['unknown top-level field', 'tls', (s) => ({ ...s, tls: true })],
];

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
