import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { etcdRelease, etcdReleases } from './etcd-releases.js';

let dir: string;
const savedEnv = process.env['ETCD_KIT_RELEASES_DIR'];

/** A fake cache entry as scripts/etcd-releases.sh lays it out: tarball, unpacked dir, binaries (empty files). */
function addRelease(version: string, source: string, binaries = ['etcd', 'etcdctl', 'etcdutl']) {
  const name = `etcd-v${version}-linux-amd64`;
  mkdirSync(join(dir, name));
  for (const b of binaries) writeFileSync(join(dir, name, b), '');
  writeFileSync(join(dir, `${name}.tar.gz`), '');
  return { version, source, tarball: join(dir, `${name}.tar.gz`), binDir: join(dir, name), sha256: '0'.repeat(64) };
}

function writeManifest(entries: unknown[]) {
  writeFileSync(join(dir, 'releases.json'), JSON.stringify(entries));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-kit-releases-'));
  process.env['ETCD_KIT_RELEASES_DIR'] = dir;
});

afterEach(() => {
  if (savedEnv === undefined) delete process.env['ETCD_KIT_RELEASES_DIR'];
  else process.env['ETCD_KIT_RELEASES_DIR'] = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

describe('etcdReleases', () => {
  it('says how to fill the cache when the manifest is missing', () => {
    expect(() => etcdReleases()).toThrow(/run: bash scripts\/etcd-releases\.sh/);
    expect(() => etcdRelease('3.6')).toThrow(/run: bash scripts\/etcd-releases\.sh/);
  });

  it('reads $ETCD_KIT_RELEASES_DIR at call time and lists oldest first (numeric order)', () => {
    writeManifest([addRelease('3.5.16', 'debian trixie'), addRelease('3.5.9', 'go modules'), addRelease('3.4.23', 'debian bookworm', ['etcd', 'etcdctl'])]);
    const releases = etcdReleases();
    expect(releases.map((r) => r.version)).toEqual(['3.4.23', '3.5.9', '3.5.16']);
    expect(releases[0]).toEqual({
      version: '3.4.23',
      source: 'debian bookworm',
      tarball: join(dir, 'etcd-v3.4.23-linux-amd64.tar.gz'),
      binDir: join(dir, 'etcd-v3.4.23-linux-amd64'),
      etcd: join(dir, 'etcd-v3.4.23-linux-amd64', 'etcd'),
      etcdctl: join(dir, 'etcd-v3.4.23-linux-amd64', 'etcdctl'),
      etcdutl: undefined,
    });
    expect(releases[2]?.etcdutl).toBe(join(dir, 'etcd-v3.5.16-linux-amd64', 'etcdutl'));
  });

  it('takes the directory as a parameter too', () => {
    writeManifest([addRelease('3.6.14', 'go modules')]);
    delete process.env['ETCD_KIT_RELEASES_DIR'];
    expect(etcdReleases(dir).map((r) => r.version)).toEqual(['3.6.14']);
  });

  it('rejects a manifest of the wrong shape and entries whose files are gone', () => {
    writeManifest([{ version: '3.6', source: 'go modules' }]);
    expect(() => etcdReleases()).toThrow(/expected shape.*run: bash scripts\/etcd-releases\.sh/);
    const entry = addRelease('3.6.14', 'go modules');
    rmSync(entry.binDir, { recursive: true });
    writeManifest([entry]);
    expect(() => etcdReleases()).toThrow(/3\.6\.14 is listed .* missing/);
  });
});

describe('etcdRelease', () => {
  beforeEach(() => {
    writeManifest([
      addRelease('3.4.23', 'debian bookworm', ['etcd', 'etcdctl']),
      addRelease('3.5.16', 'debian trixie'),
      addRelease('3.5.30', 'debian sid'),
      addRelease('3.5.33', 'go modules'),
      addRelease('3.6.14', 'go modules'),
    ]);
  });

  it("'X.Y' is the newest cached patch of that minor", () => {
    expect(etcdRelease('3.5').version).toBe('3.5.33');
    expect(etcdRelease('3.6').source).toBe('go modules');
  });

  it("'X.Y.Z' is that release exactly", () => {
    expect(etcdRelease('3.5.30').source).toBe('debian sid');
    expect(etcdRelease('3.4.23').etcdutl).toBeUndefined();
  });

  it('names the cached versions when none matches', () => {
    expect(() => etcdRelease('3.7')).toThrow("no cached etcd release matches '3.7'; cached: 3.4.23, 3.5.16, 3.5.30, 3.5.33, 3.6.14");
    expect(() => etcdRelease('3.5.3')).toThrow(/cached: 3\.4\.23/);
  });

  it('rejects a selector that is not X.Y or X.Y.Z', () => {
    expect(() => etcdRelease('v3.6')).toThrow(/neither 'X.Y' nor 'X.Y.Z'/);
    expect(() => etcdRelease('3')).toThrow(/neither/);
  });
});
