import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEtcdKitError } from '../../src/errors.js';
import { writeFilesAtomic } from '../../src/pki/files.js';

describe('writeFilesAtomic', () => {
  it('writes every file of the set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-files-'));
    await writeFilesAtomic([
      { path: join(dir, 'a.crt'), data: 'cert', mode: 0o644 },
      { path: join(dir, 'a.key'), data: 'key', mode: 0o600 },
    ]);
    expect(await readFile(join(dir, 'a.key'), 'utf8')).toBe('key');
    expect((await readdir(dir)).sort()).toEqual(['a.crt', 'a.key']);
  });

  it('names the one file it could not write, leaves no temporary file and renames nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-files-'));
    const missing = join(dir, 'no-such-dir', 'a.key');
    const err = await writeFilesAtomic([
      { path: join(dir, 'a.crt'), data: 'cert', mode: 0o644 },
      { path: missing, data: 'key', mode: 0o600 },
    ]).catch((e: unknown) => e);
    expect(isEtcdKitError(err) && err.code).toBe('PKI_IO');
    expect((err as { details?: { path?: string } }).details?.path).toBe(missing);
    expect(await readdir(dir)).toEqual([]);
  });
});
