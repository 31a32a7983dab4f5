// clearMemberData's script on a real shell and a real directory: a non-empty data dir is moved aside whole
// (never deleted) and an empty one with the same mode put back; an empty one is left alone. And the
// facts a replacement decides on: NRestarts and etcd's last fatal lines.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearDataScript } from '../../src/remote/data-dir.js';
import { parseFacts, parseUnitShow } from '../../src/remote/facts.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-data-dir-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('clearDataScript', () => {
  it('moves a non-empty data dir aside and leaves an empty one with the same mode', async () => {
    const data = join(dir, 'etcd');
    await mkdir(join(data, 'member', 'wal'), { recursive: true, mode: 0o700 });
    await writeFile(join(data, 'member', 'wal', '0.wal'), 'x');
    const { stdout } = await run('sh', ['-c', clearDataScript(data, '20261201T103000Z')]);
    expect(stdout.trim()).toBe(`@aside ${data}.broken-20261201T103000Z`);
    expect(await readdir(data)).toEqual([]);
    expect((await stat(data)).mode & 0o777).toBe(0o700);
    expect(await readdir(join(`${data}.broken-20261201T103000Z`, 'member', 'wal'))).toEqual(['0.wal']);
    // a second run finds it empty: nothing moved
    expect((await run('sh', ['-c', clearDataScript(data, '20261201T103001Z')])).stdout).toBe('');
    // never over an existing copy
    await writeFile(join(data, 'x'), 'y');
    await expect(run('sh', ['-c', clearDataScript(data, '20261201T103000Z')])).rejects.toThrow(/exists already/);
    expect(await readdir(data)).toEqual(['x']);
  });

  it('for a host the member moved away from: moved aside as <dataDir>.moved-<stamp>, nothing put in its place', async () => {
    const data = join(dir, 'moved');
    await mkdir(join(data, 'member', 'snap'), { recursive: true, mode: 0o700 });
    await writeFile(join(data, 'member', 'snap', 'db'), 'keys');
    const { stdout } = await run('sh', ['-c', clearDataScript(data, '20261201T120000Z', { tag: 'moved', recreate: false })]);
    expect(stdout.trim()).toBe(`@aside ${data}.moved-20261201T120000Z`);
    await expect(stat(data)).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(`${data}.moved-20261201T120000Z`, 'member', 'snap'))).toEqual(['db']);
    // a re-run: nothing there, nothing moved, no failure; an empty dir left by someone is removed, not kept
    expect((await run('sh', ['-c', clearDataScript(data, '20261201T120001Z', { tag: 'moved', recreate: false })])).stdout).toBe('');
    await mkdir(data);
    expect((await run('sh', ['-c', clearDataScript(data, '20261201T120002Z', { tag: 'moved', recreate: false })])).stdout).toBe('');
    await expect(stat(data)).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).filter((n) => n.startsWith('moved.'))).toEqual(['moved.moved-20261201T120000Z']);
  });
});

describe('facts for member states', () => {
  it('NRestarts from systemctl show; etcd fatal lines from their own section', () => {
    expect(parseUnitShow('ActiveState=activating\nSubState=auto-restart\nMainPID=0\nNRestarts=4\n')).toMatchObject({ activeState: 'activating', restarts: 4, mainPid: 0 });
    expect(parseUnitShow('ActiveState=active\n').restarts).toBeUndefined();
    const facts = parseFacts('@@unit\nActiveState=activating\nNRestarts=2\n@@etcdfatal\npanic: tocommit(8) is out of range [lastIndex(0)].\n@@end\n');
    expect(facts.unit.restarts).toBe(2);
    expect(facts.etcdFatal).toEqual(['panic: tocommit(8) is out of range [lastIndex(0)].']);
    expect(parseFacts('@@end\n').etcdFatal).toEqual([]);
  });
});
