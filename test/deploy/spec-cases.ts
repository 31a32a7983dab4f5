// The cluster specs the validator tests and the JSON Schema tests share: a good spec on files that exist, and
// the table of malformed ones resolveClusterSpec refuses, each with the field it must name.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export const dir = mkdtempSync(join(tmpdir(), 'etcd-kit-spec-'));
export const tarball = join(dir, 'etcd-v3.4.23-linux-amd64.tar.gz');
export const key = join(dir, 'id_ed25519');
export const binDir = join(dir, 'bin');
writeFileSync(tarball, 'not really a tarball: the spec only checks that it exists');
writeFileSync(key, 'placeholder key file');
mkdirSync(binDir);
mkdirSync(join(dir, 'emptybin'));
writeFileSync(join(binDir, 'etcd'), '');
writeFileSync(join(binDir, 'etcdctl'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

export const members = [
  { name: 'etcd01', host: '10.0.0.11' },
  { name: 'etcd02', host: '10.0.0.12' },
  { name: 'etcd03', host: '10.0.0.13' },
];
export const good = () => ({ members: structuredClone(members), etcd: { tarball }, ssh: { privateKeyPath: key } });

export type Spec = ReturnType<typeof good> & Record<string, unknown>;
export type Mutation = [title: string, field: string, mutate: (spec: Spec) => unknown];
const withMember = (s: Spec, i: number, patch: Record<string, unknown>) => ({ ...s, members: s.members.map((m, j) => (j === i ? { ...m, ...patch } : m)) });

export const bad: Mutation[] = [
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
