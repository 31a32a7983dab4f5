import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
// etcd's source with every tag (the search tool's mirror of etcd-io/etcd); override with ETCD_GIT_DIR.
const ETCD_GIT_DIR = process.env['ETCD_GIT_DIR'] || '/work/.mirror/etcd-io+etcd/repo';
const GENERATED = join(import.meta.dirname, '../../src/render/etcd-flags.generated.ts');

describe('src/render/etcd-flags.generated.ts', () => {
  it('says how it was made and that it must not be edited', async () => {
    const text = await readFile(GENERATED, 'utf8');
    expect(text.split('\n')[0]).toBe('// GENERATED FILE — DO NOT EDIT. Regenerate with:');
    expect(text).toContain('node scripts/gen-etcd-flags.mjs <etcd-git-dir>');
    expect(text).toMatch(/v3\.4\.0…v3\.4\.\d+ \(\d+ tags\)/);
  });

  // Only where etcd's git history is on the machine: the script reads it, nothing is downloaded.
  it.skipIf(!existsSync(ETCD_GIT_DIR))('is exactly what scripts/gen-etcd-flags.mjs writes today (deterministic, up to date)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-gen-'));
    try {
      const out = join(dir, 'flags.ts');
      await run(process.execPath, [join(import.meta.dirname, '../../scripts/gen-etcd-flags.mjs'), ETCD_GIT_DIR, out]);
      expect(await readFile(out, 'utf8')).toBe(await readFile(GENERATED, 'utf8'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
