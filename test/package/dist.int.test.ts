// The package as a consumer loads it: the built dist through `import` and through `require`, in fresh
// Node processes (not vitest's transformer), plus publint and arethetypeswrong on the packed tarball.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node = (code: string, type: 'module' | 'commonjs') =>
  execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: root, encoding: 'utf8' });

describe('built package', () => {
  beforeAll(() => {
    if (!existsSync(`${root}/dist/index.js`)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  });

  it('loads through import (ESM) by package name', () => {
    const out = node(
      "import * as kit from 'etcd-kit'; const e = new kit.EtcdKitError('INVALID_SPEC', 'x', { field: 'a.b' }); console.log(JSON.stringify({ keys: Object.keys(kit).length, code: e.code, field: e.field, inst: e instanceof Error }));",
      'module',
    );
    expect(JSON.parse(out)).toMatchObject({ code: 'INVALID_SPEC', field: 'a.b', inst: true });
    expect(JSON.parse(out).keys).toBeGreaterThan(1);
  });

  it('loads through require (CJS) by package name with the same exports', () => {
    const esm = node("import * as kit from 'etcd-kit'; console.log(JSON.stringify(Object.keys(kit).sort()));", 'module');
    const cjs = node("const kit = require('etcd-kit'); console.log(JSON.stringify(Object.keys(kit).sort()));", 'commonjs');
    expect(JSON.parse(cjs)).toEqual(JSON.parse(esm).filter((k: string) => k !== 'default'));
  });

  it('loads each layer entry point (etcd-kit/pki, ...) through import and require alike, with one EtcdKitError class', () => {
    const subpaths = ['pki', 'render', 'remote', 'etcd'];
    // `load` is import() or require(); the report lists each entry's exports and whether its EtcdKitError is the root's.
    const report = (load: string) =>
      `const root = ${load}('etcd-kit'); const out = {}; for (const s of ${JSON.stringify(subpaths)}) { const m = ${load}('etcd-kit/' + s); out[s] = { keys: Object.keys(m).filter((k) => k !== 'default').sort(), sameError: m.EtcdKitError === root.EtcdKitError }; } console.log(JSON.stringify(out));`;
    const esm = JSON.parse(node(report('await import'), 'module'));
    const cjs = JSON.parse(node(report('require'), 'commonjs'));
    expect(cjs).toEqual(esm);
    for (const s of subpaths) {
      expect(esm[s].sameError).toBe(true);
      expect(esm[s].keys.length).toBeGreaterThan(5);
    }
  });

  it('passes publint and arethetypeswrong', () => {
    const out = execFileSync(process.execPath, ['scripts/check-package.mjs'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('No problems found');
  });
});
