import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { arch as osArch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factsScript, parseFacts } from '../../src/remote/facts.js';

const run = promisify(execFile);

let dir: string;
let server: Server;
let listenPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-facts-'));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listenPort = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('factsScript, run by a real /bin/sh on this machine', () => {
  it('reports hashes, missing files, modes, owners, listening ports and the architecture', async () => {
    const present = join(dir, 'with space', 'file.txt');
    await mkdir(join(dir, 'with space'), { mode: 0o750 });
    await chmod(join(dir, 'with space'), 0o750);
    await writeFile(present, 'hello etcd');
    await chmod(present, 0o640);
    const link = join(dir, 'link');
    await symlink(present, link);
    const missing = join(dir, 'absent');
    const script = factsScript({
      files: [present, missing, link],
      dirs: [join(dir, 'with space')],
      unitName: 'etcd-kit-test-nonexistent.service',
      serviceUser: 'root',
      serviceGroup: 'no-such-group-etcd-kit',
      hashCacheFile: join(dir, 'cache', 'sha256sums'),
      readFiles: [present, missing],
    });
    const { stdout } = await run('/bin/sh', ['-c', script]);
    const facts = parseFacts(stdout);
    // readFiles: the text of present files (path with a space included), nothing for missing ones
    expect([...facts.contents]).toEqual([[present, 'hello etcd']]);
    expect(facts.uid).toBe(process.getuid?.());
    expect(facts.arch).toBe(osArch() === 'x64' ? 'x86_64' : facts.arch);
    expect(facts.userExists).toBe(true);
    // this machine has systemctl (systemd 252) even without systemd as PID 1
    expect(facts.systemdVersion).toBeGreaterThanOrEqual(200);
    expect(facts.groupExists).toBe(false);
    expect(facts.hashes.get(present)).toBe(createHash('sha256').update('hello etcd').digest('hex'));
    expect(facts.hashes.get(missing)).toBeNull();
    // A symlink is not a regular file we manage: reported as missing so install replaces it.
    expect(facts.hashes.get(link)).toBeNull();
    expect(facts.stats.get(present)).toMatchObject({ mode: 0o640, owner: 'root', group: 'root', type: 'regular file' });
    expect(facts.stats.get(join(dir, 'with space'))).toMatchObject({ mode: 0o750, type: 'directory' });
    expect(facts.stats.get(link)?.type).toBe('symbolic link');
    expect(facts.stats.has(missing)).toBe(false);
    expect(facts.listening.some((s) => s.port === listenPort)).toBe(true);
  });

  it('caches hashes by inode, size and times, and notices any write', async () => {
    const file = join(dir, 'cached.bin');
    const cache = join(dir, 'cache2', 'sha256sums');
    await writeFile(file, 'version 1');
    const query = { files: [file], dirs: [], unitName: 'x.service', serviceUser: 'root', serviceGroup: 'root', hashCacheFile: cache };
    const hashOf = async () => parseFacts((await run('/bin/sh', ['-c', factsScript(query)])).stdout).hashes.get(file);
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(await hashOf()).toBe(sha('version 1'));
    // Just written: too recent to trust a timestamp, so not cached yet.
    await expect(readFile(cache, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await hashOf()).toBe(sha('version 1'));
    const line = (await readFile(cache, 'utf8')).trim();
    expect(line.startsWith(`${sha('version 1')} `)).toBe(true);
    expect(line.endsWith(` ${file}`)).toBe(true);
    // The cache is what answers while the file is untouched (a planted entry proves it is read)...
    await writeFile(cache, `${'0'.repeat(64)}${line.slice(64)}\n`);
    expect(await hashOf()).toBe('0'.repeat(64));
    // ...and any write (same size even) changes ctime, so the file is hashed again.
    await writeFile(file, 'version 2');
    expect(await hashOf()).toBe(sha('version 2'));
  });

  it('an nft that fails to list the ruleset (no CAP_NET_ADMIN, say) is reported with its error', async () => {
    // A stand-in for the host's nft that fails the way nft does without the capability.
    const bin = join(dir, 'failing-nft-bin');
    await mkdir(bin);
    await writeFile(join(bin, 'nft'), '#!/bin/sh\necho "netlink: Error: cache initialization failed: Operation not permitted" >&2\nexit 1\n', { mode: 0o755 });
    const script = factsScript({ files: [], dirs: [], unitName: 'etcd-kit-test-nonexistent.service', serviceUser: 'root', serviceGroup: 'root', hashCacheFile: join(dir, 'cache3', 'sums') });
    const { stdout } = await run('/bin/sh', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const facts = parseFacts(stdout);
    expect(facts.firewall.nftablesError).toBe('netlink: Error: cache initialization failed: Operation not permitted');
    expect(facts.firewall.nftables).toEqual([]);
  });

  it('reports the etcd binary’s version, runs it once per content, and whether the data dir holds a member', async () => {
    const bin = join(dir, 'ver-bin');
    const data = join(dir, 'ver-data');
    await mkdir(bin);
    await mkdir(data);
    const etcd = join(bin, 'etcd');
    const runs = join(dir, 'ver-runs');
    // A stand-in etcd: prints what `etcd --version` prints and counts how often it ran.
    const fake = (version: string) =>
      `#!/bin/sh\necho x >>'${runs}'\n[ "$1" = --version ] || exit 2\nprintf 'etcd Version: ${version}\\nGit SHA: Not provided\\nGo Version: go1.26.8\\nGo OS/Arch: linux/amd64\\n'\n`;
    await writeFile(etcd, fake('3.5.30'), { mode: 0o755 });
    const cache = join(dir, 'ver-cache', 'sums');
    const query = { files: [etcd], dirs: [], unitName: 'x.service', serviceUser: 'root', serviceGroup: 'root', hashCacheFile: cache, etcdBinary: etcd, dataDir: data };
    const facts = async () => parseFacts((await run('/bin/sh', ['-c', factsScript(query)])).stdout);
    const runCount = async () => (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

    const first = await facts();
    expect(first.etcdVersion).toBe('3.5.30');
    expect(first.memberData).toBe(false);
    expect(await runCount()).toBe(1);
    // remembered by content: the next reads do not run it again
    await mkdir(join(data, 'member'));
    const second = await facts();
    expect(second).toMatchObject({ etcdVersion: '3.5.30', memberData: true });
    expect(await runCount()).toBe(1);
    expect(await readFile(cache, 'utf8')).toContain(`${createHash('sha256').update(fake('3.5.30')).digest('hex')} version 3.5.30\n`);

    // new content: run again
    await writeFile(etcd, fake('3.6.14'), { mode: 0o755 });
    expect((await facts()).etcdVersion).toBe('3.6.14');
    expect(await runCount()).toBe(2);
    // something that does not print `etcd Version: X.Y.Z` has no version; a missing binary neither
    await writeFile(etcd, '#!/bin/sh\necho "not etcd"\n', { mode: 0o755 });
    expect((await facts()).etcdVersion).toBeUndefined();
    await rm(etcd);
    const missing = await facts();
    expect(missing.etcdVersion).toBeUndefined();
    expect(missing.hashes.get(etcd)).toBeNull();
    // not asked: neither reported
    const plain = parseFacts((await run('/bin/sh', ['-c', factsScript({ ...query, etcdBinary: undefined, dataDir: undefined })])).stdout);
    expect(plain).toMatchObject({ memberData: false });
    expect(plain.etcdVersion).toBeUndefined();
  });

  it('reports binDir: its links and their targets, its version directories, a flat install’s files and version', async () => {
    const bin = join(dir, 'versioned-bin');
    const runs = join(dir, 'bin-runs');
    const fake = (version: string) => `#!/bin/sh\necho x >>'${runs}'\nprintf 'etcd Version: ${version}\\n'\n`;
    await mkdir(join(bin, '3.5.30'), { recursive: true });
    await mkdir(join(bin, '3.6.0-rc.1'));
    await mkdir(join(bin, 'notes'));
    await mkdir(join(bin, '3.5'));
    await writeFile(join(bin, '3.5.30', 'etcd'), fake('3.5.30'), { mode: 0o755 });
    await symlink('3.5.30', join(bin, 'current'));
    await symlink('current/etcd', join(bin, 'etcd'));
    await symlink('current/etcdctl', join(bin, 'etcdctl'));
    await symlink('/elsewhere', join(bin, '9.9.9'));
    await writeFile(join(bin, '1.2.3'), 'a file, not a directory');
    const query = {
      files: [join(bin, '3.5.30', 'etcd')],
      dirs: [],
      unitName: 'x.service',
      serviceUser: 'root',
      serviceGroup: 'root',
      hashCacheFile: join(dir, 'bin-cache', 'sums'),
      binDir: bin,
      etcdBinary: join(bin, 'etcd'),
    };
    const facts = async () => parseFacts((await run('/bin/sh', ['-c', factsScript(query)])).stdout);
    const versioned = await facts();
    expect(versioned.links).toEqual(
      new Map([
        [join(bin, 'current'), '3.5.30'],
        [join(bin, 'etcd'), 'current/etcd'],
        [join(bin, 'etcdctl'), 'current/etcdctl'],
        [join(bin, '9.9.9'), '/elsewhere'],
      ]),
    );
    // only real directories named like a version; a link to a directory, a file or another name is not one
    expect(versioned.versionDirs).toEqual(['3.5.30', '3.6.0-rc.1']);
    // the version of the etcd current names, by its own --version (once per content), its hash reported too
    expect(versioned.etcdVersion).toBe('3.5.30');
    expect(versioned.hashes.get(join(bin, '3.5.30', 'etcd'))).toBe(createHash('sha256').update(fake('3.5.30')).digest('hex'));
    const runCount = async () => (await readFile(runs, 'utf8')).split('\n').filter(Boolean).length;
    expect(await runCount()).toBe(1);
    // a second read answers from the cache; current's etcd is hashed even when no file of the query names it
    const notQueried = parseFacts((await run('/bin/sh', ['-c', factsScript({ ...query, files: [] })])).stdout);
    expect(notQueried.etcdVersion).toBe('3.5.30');
    expect(notQueried.hashes.get(join(bin, '3.5.30', 'etcd'))).toBe(versioned.hashes.get(join(bin, '3.5.30', 'etcd')));
    expect(await runCount()).toBe(1);
    // the bytes, not the directory's name, tell the version
    await writeFile(join(bin, '3.5.30', 'etcd'), fake('3.5.31'), { mode: 0o755 });
    expect((await facts()).etcdVersion).toBe('3.5.31');
    // an etcd that does not run there: the directory's name
    await writeFile(join(bin, '3.5.30', 'etcd'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    expect((await facts()).etcdVersion).toBe('3.5.30');
    // the stable names are links, not files of a flat install
    expect(versioned.hashes.get(join(bin, 'etcd'))).toBeNull();
    expect(versioned.hashes.get(join(bin, 'etcdutl'))).toBeNull();
    // current pointing at something that is not a version directory: no version
    await rm(join(bin, 'current'));
    await symlink('notes', join(bin, 'current'));
    expect((await facts()).etcdVersion).toBeUndefined();

    // a flat install: regular files hashed, etcd's own --version read (once per content)
    await rm(join(bin, 'etcd'));
    await writeFile(join(bin, 'etcd'), fake('3.4.23'), { mode: 0o755 });
    const flat = await facts();
    expect(flat.hashes.get(join(bin, 'etcd'))).toBe(createHash('sha256').update(fake('3.4.23')).digest('hex'));
    expect(flat.etcdVersion).toBe('3.4.23');
    expect(flat.links.has(join(bin, 'etcd'))).toBe(false);
    // binDir not asked: nothing reported
    const plain = parseFacts((await run('/bin/sh', ['-c', factsScript({ ...query, binDir: undefined, etcdBinary: undefined })])).stdout);
    expect([plain.links.size, plain.versionDirs, plain.hashes.has(join(bin, 'etcd'))]).toEqual([0, [], false]);
  });

  it('rejects truncated output', () => {
    expect(() => parseFacts('@@uid\n0\n@@arch\nx86_64\n')).toThrow(/truncated/);
  });
});
