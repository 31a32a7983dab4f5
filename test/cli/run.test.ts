// The CLI without hosts: argument handling, exit codes, init, pki create/inspect, and refusing bad specs
// before anything is touched. Deploy/health on real hosts are in deploy.int.test.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../src/cli/run.js';
import { createClusterPki, readPkiDir, writePkiDir } from '../../src/index.js';
import { acquirePkiLock, advanceCaRotation, beginCaRotation, markCaRotationMemberDone } from '../../src/pki-entry.js';

const dir = mkdtempSync(join(tmpdir(), 'etcd-kit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['node', 'etcd-kit', ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY: false,
  });
  return { code, stdout, stderr };
}

describe('etcd-kit CLI', () => {
  it('prints help and version with exit 0', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toMatch(/deploy \[options\]/);
    const version = await cli('--version');
    expect(version.code).toBe(EXIT.ok);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('exits 2 on unknown commands and missing required options', async () => {
    expect((await cli('frobnicate')).code).toBe(EXIT.invalid);
    const missing = await cli('deploy');
    expect(missing.code).toBe(EXIT.invalid);
    expect(missing.stderr).toMatch(/--file/);
  });

  it('init writes the example spec once, then refuses to overwrite', async () => {
    const out = join(dir, 'cluster.yaml');
    expect((await cli('init', '-o', out)).code).toBe(EXIT.ok);
    expect(readFileSync(out, 'utf8')).toContain('members:');
    const again = await cli('init', '-o', out);
    expect(again.code).toBe(EXIT.invalid);
    expect(again.stderr).toMatch(/exists/);
  });

  it('refuses an invalid spec with exit 2, naming the field, before connecting anywhere', async () => {
    const spec = join(dir, 'bad.yaml');
    writeFileSync(spec, 'members:\n  - name: etcd01\n    host: 300.1.1.1\netcd:\n  binDir: /usr/bin\n');
    const res = await cli('deploy', '-f', spec);
    expect(res.code).toBe(EXIT.invalid);
    expect(res.stderr).toContain('INVALID_SPEC');
    expect(res.stderr).toContain('members[0].host');
  });

  it('snapshot restore and recover: required options, and a damaged snapshot refused with exit 2 before any host', async () => {
    const spec = join(dir, 'restore.yaml');
    // 10.255.255.1 answers nothing: reaching it would fail with another code, after a timeout
    writeFileSync(join(dir, 'id_restore'), 'placeholder');
    writeFileSync(spec, ['members:', '  - { name: etcd01, host: 10.255.255.1 }', 'ssh: { privateKeyPath: ./id_restore }', 'etcd: { binDir: /usr/bin }', 'pki: { dir: ./restore-pki }'].join('\n'));
    expect((await cli('snapshot', 'restore', '-f', spec)).stderr).toMatch(/--from/);
    expect((await cli('recover', '-f', spec)).stderr).toMatch(/--from/);
    const damaged = join(dir, 'damaged.db');
    writeFileSync(damaged, Buffer.alloc(4096, 7));
    const started = Date.now();
    const res = await cli('snapshot', 'restore', '-f', spec, '--from', damaged);
    expect(res.code).toBe(EXIT.invalid);
    expect(res.stderr).toContain('SNAPSHOT_INVALID');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('deploy with a PKI dir another operation holds: PKI_LOCKED, exit 2, before any host', async () => {
    const spec = join(dir, 'locked.yaml');
    writeFileSync(join(dir, 'id_locked'), 'placeholder');
    // 10.255.255.1 answers nothing: reaching it would fail with another code, after a timeout
    writeFileSync(spec, ['members:', '  - { name: etcd01, host: 10.255.255.1 }', 'ssh: { privateKeyPath: ./id_locked }', 'etcd: { binDir: /usr/bin }', 'pki: { dir: ./locked-pki }'].join('\n'));
    const lock = await acquirePkiLock(join(dir, 'locked-pki'), { operation: 'restore' });
    try {
      const started = Date.now();
      const res = await cli('deploy', '-f', spec);
      expect(res.code).toBe(EXIT.invalid);
      expect(res.stderr).toContain('PKI_LOCKED');
      expect(res.stderr).toContain('in use by restore');
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await lock.release();
    }
  });

  it('reports YAML syntax errors as INVALID_SPEC', async () => {
    const spec = join(dir, 'syntax.yaml');
    writeFileSync(spec, 'members: [\n');
    const res = await cli('plan', '-f', spec);
    expect(res.code).toBe(EXIT.invalid);
    expect(res.stderr).toMatch(/not valid YAML/);
  });

  it('pki create makes a PKI dir for the spec, pki inspect lists it with expiry', async () => {
    const key = join(dir, 'id_test');
    writeFileSync(key, 'placeholder');
    const spec = join(dir, 'pki.yaml');
    writeFileSync(
      spec,
      [
        'members:',
        '  - { name: etcd01, host: 10.0.0.11 }',
        '  - { name: etcd02, host: 10.0.0.12 }',
        '  - { name: etcd03, host: 10.0.0.13 }',
        'ssh: { privateKeyPath: ./id_test }',
        'etcd: { binDir: /usr/bin }',
        'pki: { dir: ./pki, keyAlgorithm: ecdsa-p256 }',
      ].join('\n'),
    );
    const created = await cli('pki', 'create', '-f', spec);
    expect(created.code).toBe(EXIT.ok);
    expect(created.stdout).toMatch(/created CA/);
    const pki = await readPkiDir(join(dir, 'pki'));
    expect(Object.keys(pki.members).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(statSync(join(dir, 'pki/ca.key')).mode & 0o777).toBe(0o600);

    const again = await cli('pki', 'create', '-f', spec);
    expect(again.stdout).toMatch(/nothing to issue/);

    const listed = await cli('pki', 'inspect', '-d', join(dir, 'pki'));
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.stdout).toMatch(/members\/etcd02\/server\.crt\s+etcd02\s+10\.0\.0\.12,127\.0\.0\.1,localhost\s+serverAuth\+clientAuth/);
    expect(listed.stdout).toMatch(/clients\/admin\.crt\s+admin\s+-\s+clientAuth/);
    const json = JSON.parse((await cli('pki', 'inspect', '-d', join(dir, 'pki'), '--json')).stdout) as { daysLeft: number; isCA: boolean }[];
    expect(json).toHaveLength(1 + 6 + 2);
    expect(json[0]!.isCA).toBe(true);
    const warn = await cli('pki', 'inspect', '-d', join(dir, 'pki'), '--warn-days', '100000');
    expect(warn.code).toBe(3);
    expect(warn.code).toBe(EXIT.certExpiring);
  });

  it('documents distinct health exit codes: 0 healthy, 5 degraded, 3 unavailable', async () => {
    expect([EXIT.ok, EXIT.degraded, EXIT.unavailable]).toEqual([0, 5, 3]);
    const help = await cli('health', '--help');
    expect(help.stdout).toContain('healthy (every member answers) 0, degraded (quorum, but a member does not answer) 5, unavailable (no quorum) 3');
    expect(help.stdout).not.toContain('--all');
  });

  it('health without a spec or endpoints is a usage error', async () => {
    const res = await cli('health');
    expect(res.code).toBe(EXIT.invalid);
    expect(res.stderr).toMatch(/needs -f/);
  });
  it('snapshot save --dir: -o with it, --keep without it, or a --keep that is not an integer ≥ 1 is a usage error (exit 2), nothing created', async () => {
    const backups = join(dir, 'backups');
    const both = await cli('snapshot', 'save', '--endpoints', 'https://127.0.0.1:1', '--pki-dir', dir, '--dir', backups, '-o', 'x.db');
    expect(both.code).toBe(EXIT.invalid);
    expect(both.stderr).toMatch(/'-o, --output <file>' cannot be used with option '--dir <dir>'/);
    const keepAlone = await cli('snapshot', 'save', '--endpoints', 'https://127.0.0.1:1', '--pki-dir', dir, '--keep', '3');
    expect(keepAlone.code).toBe(EXIT.invalid);
    expect(keepAlone.stderr).toContain('error [INVALID_ARGUMENT] at keep: --keep needs --dir');
    for (const bad of ['0', '-1', '1.5', 'two', '']) {
      const res = await cli('snapshot', 'save', '--endpoints', 'https://127.0.0.1:1', '--pki-dir', dir, '--dir', backups, '--keep', bad);
      expect(res.code, bad).toBe(EXIT.invalid);
      expect(res.stderr, bad).toContain('at keep: --keep: must be an integer ≥ 1');
    }
    expect(existsSync(backups)).toBe(false);
    expect((await cli('snapshot', 'save', '--help')).stdout).toMatch(/--dir <dir>[\s\S]*--keep <n>[\s\S]*--prefix <name>/);
  });
  it('commands that talk to a cluster need only ca.crt and the client pair from --pki-dir; an unknown --client is exit 2', async () => {
    const pkiDir = join(dir, 'client-only-pki');
    await writePkiDir(pkiDir, await createClusterPki({ keyAlgorithm: 'ecdsa-p256', members: [{ name: 'etcd01', hosts: ['127.0.0.1'] }] }));
    rmSync(join(pkiDir, 'ca.key'));
    rmSync(join(pkiDir, 'members'), { recursive: true });
    const unknown = await cli('snapshot', 'save', '--endpoints', 'https://127.0.0.1:1', '--pki-dir', pkiDir, '--client', 'nope', '--dir', join(dir, 'b1'));
    expect(unknown.code).toBe(EXIT.invalid);
    expect(unknown.stderr).toContain(`error [INVALID_ARGUMENT] at client: no client certificate 'nope' in ${pkiDir}`);
    // The admin pair is enough: the run gets as far as the (closed) endpoint.
    const backups = join(dir, 'b2');
    const res = await cli('snapshot', 'save', '--endpoints', 'https://127.0.0.1:1', '--pki-dir', pkiDir, '--dir', backups, '--keep', '2', '--timeout', '3000');
    expect(res.code, res.stderr).toBe(EXIT.failed);
    expect(res.stderr).toContain('error [ETCD_UNREACHABLE]');
    expect(readdirSync(backups)).toEqual([]);
  });
});

describe('pki inspect and pki create around a CA rotation', () => {
  it('shows the next CA during a rotation, the retired one after; pki create refuses mid-rotation with exit 2', async () => {
    const key = join(dir, 'id_rot');
    writeFileSync(key, 'placeholder');
    const spec = join(dir, 'rot.yaml');
    writeFileSync(
      spec,
      ['members:', '  - { name: etcd01, host: 10.0.0.11 }', 'ssh: { privateKeyPath: ./id_rot }', 'etcd: { binDir: /usr/bin }', 'pki: { dir: ./rot-pki }'].join('\n'),
    );
    expect((await cli('pki', 'create', '-f', spec)).code).toBe(EXIT.ok);
    const pkiDir = join(dir, 'rot-pki');
    await beginCaRotation(pkiDir, { keyAlgorithm: 'ecdsa-p384' });

    const during = await cli('pki', 'inspect', '-d', pkiDir);
    expect(during.stdout).toMatch(/ca\.next\.crt\s+etcd-ca\s+-\s+CA \(next\)/);
    expect(during.stdout).toMatch(/CA rotation in progress since .*: phase trust-both, members done with it: none/);
    const json = JSON.parse((await cli('pki', 'inspect', '-d', pkiDir, '--json')).stdout) as { role: string; keyAlgorithm: string }[];
    expect(json.map((c) => c.role)).toEqual(['ca', 'next-ca', 'server', 'peer', 'client', 'client']);
    expect(json[1]!.keyAlgorithm).toBe('ecdsa-p384');

    const refused = await cli('pki', 'create', '-f', spec);
    expect(refused.code).toBe(EXIT.invalid);
    expect(refused.stderr).toMatch(/CA_ROTATION_IN_PROGRESS.*phase trust-both/);

    for (const phase of ['trust-both', 'new-leaves', 'drop-old'] as const) {
      await markCaRotationMemberDone(pkiDir, phase, 'etcd01');
      await advanceCaRotation(pkiDir, { members: ['etcd01'] });
    }
    const after = await cli('pki', 'inspect', '-d', pkiDir);
    expect(after.stdout).toMatch(/retired\/\d{8}T\d{6}Z-[0-9a-f]{8}\/ca\.crt\s+etcd-ca\s+-\s+CA \(retired\)/);
    expect(after.stdout).toMatch(/last CA rotation finished .*; the old CA is kept in retired\//);
    expect(after.stdout).not.toMatch(/ca\.next\.crt/);
    expect((await cli('pki', 'create', '-f', spec)).stdout).toMatch(/nothing to issue/);
  });
});
