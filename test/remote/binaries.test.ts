import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { elfArch, prepareBinaries } from '../../src/remote/binaries.js';
import { type MemberFiles, prepareMemberBundle } from '../../src/remote/index.js';
import { readTar } from '../../src/remote/tar.js';
import { makeReleaseTarball, type ReleaseTarball, SOURCE_ETCD, SOURCE_ETCDCTL } from '../helpers/release-tarball.js';
import { createTestPki, renderMemberFiles } from './cluster-files.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let release: ReleaseTarball;
let dir: string;

beforeAll(async () => {
  release = await makeReleaseTarball();
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-binaries-'));
});

afterAll(async () => {
  await release?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const isBundleInvalid = (field: string) => (e: unknown) => isEtcdKitError(e, 'BUNDLE_INVALID') && e.field === field;

describe('prepareBinaries', () => {
  it('reads an official-layout release tarball: version, arch and byte-identical binaries', async () => {
    const prepared = await prepareBinaries({ tarball: release.tarball });
    expect(prepared.version).toBe(release.version);
    expect(prepared.arch).toBe('x86_64');
    expect(prepared.files.map((f) => f.name)).toEqual(['etcd', 'etcdctl']);
    const etcd = await readFile(SOURCE_ETCD);
    expect(prepared.files[0]?.sha256).toBe(sha(etcd));
    expect(prepared.files[0]?.data.equals(etcd)).toBe(true);
    expect(prepared.files[1]?.sha256).toBe(sha(await readFile(SOURCE_ETCDCTL)));
    // Prepared binaries pass through untouched (one read for all members).
    expect(await prepareBinaries(prepared)).toBe(prepared);
  });

  it('reads a directory of binaries', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await copyFile(SOURCE_ETCD, join(bin, 'etcd'));
    const prepared = await prepareBinaries({ dir: bin });
    expect(prepared.files.map((f) => f.name)).toEqual(['etcd']);
    expect(prepared.version).toBeUndefined();
  });

  it('refuses a tarball without etcd, a non-ELF etcd, and a missing file, naming the field', async () => {
    const empty = join(dir, 'empty');
    await mkdir(join(empty, 'etcd-v9.9.9-linux-amd64'), { recursive: true });
    await writeFile(join(empty, 'etcd-v9.9.9-linux-amd64', 'README.md'), 'no binaries');
    const tarball = join(dir, 'no-etcd.tar.gz');
    await run('tar', ['-czf', tarball, '-C', empty, 'etcd-v9.9.9-linux-amd64']);
    await expect(prepareBinaries({ tarball })).rejects.toSatisfy(isBundleInvalid('binaries.tarball'));

    const script = join(dir, 'script');
    await mkdir(script);
    await writeFile(join(script, 'etcd'), '#!/bin/sh\necho fake\n');
    await expect(prepareBinaries({ dir: script })).rejects.toSatisfy(isBundleInvalid('binaries'));

    await expect(prepareBinaries({ tarball: join(dir, 'absent.tar.gz') })).rejects.toSatisfy(isBundleInvalid('binaries.tarball'));
    await expect(prepareBinaries({ dir: join(dir, 'absent') })).rejects.toSatisfy(isBundleInvalid('binaries.dir'));
    await writeFile(join(dir, 'garbage.tar.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    await expect(prepareBinaries({ tarball: join(dir, 'garbage.tar.gz') })).rejects.toSatisfy(isBundleInvalid('binaries.tarball'));
  });

  it('takes etcdutl from a 3.5+ release like etcd: hashed from the archive, installed beside etcd as a hash-checked bundle file', async () => {
    // The release layout of 3.5+: etcd, etcdctl and etcdutl (any ELF stands in for etcdutl here).
    const top = 'etcd-v3.5.99-linux-amd64';
    await mkdir(join(dir, 'with-etcdutl', top), { recursive: true });
    await copyFile(SOURCE_ETCD, join(dir, 'with-etcdutl', top, 'etcd'));
    await copyFile(SOURCE_ETCDCTL, join(dir, 'with-etcdutl', top, 'etcdctl'));
    await copyFile(SOURCE_ETCDCTL, join(dir, 'with-etcdutl', top, 'etcdutl'));
    const tarball = join(dir, `${top}.tar.gz`);
    await run('tar', ['-I', 'gzip -1', '-cf', tarball, '-C', join(dir, 'with-etcdutl'), top]);
    const prepared = await prepareBinaries({ tarball });
    expect(prepared.version).toBe('3.5.99');
    expect(prepared.files.map((f) => f.name)).toEqual(['etcd', 'etcdctl', 'etcdutl']);
    expect(prepared.files[2]!.sha256).toBe(sha(await readFile(SOURCE_ETCDCTL)));
    const pki = await createTestPki([{ name: 'etcd01', address: '10.77.0.11' }]);
    const files = renderMemberFiles(pki, { members: [{ name: 'etcd01', address: '10.77.0.11' }] }).etcd01 as MemberFiles;
    const bundle = await prepareMemberBundle({ binaries: prepared, files });
    const etcdutl = bundle.files.find((f) => f.role === 'etcdutl')!;
    // installed beside etcd, root-owned and executable; a new etcdutl alone does not restart etcd
    expect(etcdutl).toMatchObject({ path: '/opt/etcd/bin/3.5.99/etcdutl', mode: 0o755, owner: 'root', group: 'root', restartsService: false, sha256: prepared.files[2]!.sha256 });
    expect(bundle.links.find((l) => l.role === 'etcdutl')).toEqual({ role: 'etcdutl', path: '/opt/etcd/bin/etcdutl', target: 'current/etcdutl' });
  });

  it('recognises ELF machines as uname -m names', async () => {
    expect(elfArch(await readFile(SOURCE_ETCD))).toBe('x86_64');
    const arm = Buffer.alloc(64);
    arm.writeUInt32BE(0x7f454c46, 0);
    arm[5] = 1;
    arm.writeUInt16LE(0xb7, 18);
    expect(elfArch(arm)).toBe('aarch64');
    expect(elfArch(Buffer.from('#!/bin/sh\n'))).toBeUndefined();
  });
});

describe('readTar', () => {
  it('reads GNU long names and pax paths, as GNU tar writes them', async () => {
    const src = join(dir, 'long');
    const deep = `${'d'.repeat(90)}/${'e'.repeat(90)}`;
    await mkdir(join(src, deep), { recursive: true });
    await writeFile(join(src, deep, `${'f'.repeat(80)}.txt`), 'long-name content');
    await writeFile(join(src, 'short.txt'), 'short');
    for (const format of ['gnu', 'pax', 'ustar']) {
      const out = join(dir, `long-${format}.tar`);
      const args = ['-cf', out, `--format=${format}`, '-C', src, '.'];
      if (format === 'ustar') {
        // ustar cannot hold the long path; only the short file goes in.
        args.splice(args.length - 1, 1, './short.txt');
      }
      await run('tar', args);
      const files = readTar(await readFile(out));
      const byPath = new Map(files.map((f) => [f.path, f.data.toString()]));
      expect(byPath.get('short.txt')).toBe('short');
      if (format !== 'ustar') expect(byPath.get(`${deep}/${'f'.repeat(80)}.txt`)).toBe('long-name content');
    }
  });

  it('detects a corrupted header', async () => {
    const out = join(dir, 'long-gnu.tar');
    const tar = Buffer.from(await readFile(out));
    tar[10] = (tar[10] ?? 0) ^ 0xff;
    expect(() => readTar(tar)).toThrow(/checksum/);
  });
});
