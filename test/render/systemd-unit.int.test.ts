import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSystemdUnit } from '../../src/render/index.js';

const run = promisify(execFile);

/** Runs `systemd-analyze verify` offline (no PID 1 systemd needed) and returns its exit code and stderr. */
async function verify(unitFile: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run('systemd-analyze', ['verify', '--man=no', unitFile], { env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? String(err) };
  }
}

describe('rendered systemd unit under systemd-analyze verify', () => {
  let root: string;
  let layout: { prefix: string; dataDir: string };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'etcd-kit-unit-'));
    layout = { prefix: join(root, 'opt/etcd'), dataDir: join(root, 'var/lib/etcd') };
    await mkdir(join(layout.prefix, 'bin'), { recursive: true });
    await mkdir(join(layout.prefix, 'cfg'), { recursive: true });
    await mkdir(layout.dataDir, { recursive: true });
    // verify checks that ExecStart points at an executable file.
    await writeFile(join(layout.prefix, 'bin/etcd'), '#!/bin/sh\nexit 0\n');
    await chmod(join(layout.prefix, 'bin/etcd'), 0o755);
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('passes with exit 0 and no diagnostics at all', async () => {
    const file = join(root, 'etcd.service');
    await writeFile(file, renderSystemdUnit({ layout }));
    expect(await verify(file)).toEqual({ code: 0, stderr: '' });
  });

  it('passes for a custom user, group and description', async () => {
    const file = join(root, 'etcd-custom.service');
    await writeFile(file, renderSystemdUnit({ layout, user: 'etcd', group: 'etcd', description: 'etcd member (100% rendered)' }));
    expect(await verify(file)).toEqual({ code: 0, stderr: '' });
  });

  // Controls: the same harness does report problems, so the empty stderr above means something.
  it('reports an unknown directive in an otherwise rendered unit', async () => {
    const file = join(root, 'etcd-typo.service');
    await writeFile(file, renderSystemdUnit({ layout }).replace('LimitNOFILE=', 'LimitNOFLIE='));
    const res = await verify(file);
    expect(res.stderr).toContain("Unknown key 'LimitNOFLIE'");
  });

  it('fails when the etcd binary the unit points at is missing', async () => {
    const file = join(root, 'etcd-nobin.service');
    await writeFile(file, renderSystemdUnit({ layout: { ...layout, binDir: join(root, 'missing') } }));
    const res = await verify(file);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('is not executable');
  });
});
