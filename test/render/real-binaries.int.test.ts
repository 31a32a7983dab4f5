/**
 * The version-aware renderer against the real etcd binary of every cached release (3.4.23 … 3.7.1, see
 * test/helpers/etcd-releases.ts): what each binary's own `--help` lists, and a 3-member cluster per release
 * started from the rendered env files, whose logs must hold none of etcd's complaints about its environment.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EtcdSettings,
  envVarToFlag,
  etcdDefault,
  etcdEnvVarDeprecated,
  etcdEnvVarKnown,
  flagToEnvVar,
  parseEnvFile,
  type ResolvedEtcdVersion,
  renderEtcdEnv,
  resolveEtcdVersion,
} from '../../src/render/index.js';
import { type EtcdRelease, etcdReleases } from '../helpers/etcd-releases.js';
import { type LocalCluster, startLocalCluster } from '../helpers/local-cluster.js';

const run = promisify(execFile);

/** What a binary's `etcd --help` says: flags, the ones it marks deprecated, and its feature gates. */
interface BinaryHelp {
  flags: Set<string>;
  deprecated: Set<string>;
  gates: Set<string>;
}

// Present-tense deprecation only: "Deprecated in v3.6 …", a section "v2 Proxy (Deprecated …)", but not
// "Will be deprecated in v3.7" / "TO BE DEPRECATED", which etcd neither warns about nor acts on yet.
const deprecatedNow = (text: string): boolean => /\bdeprecated\b/i.test(text.replace(/\b(will|to) be deprecated\b/gi, ''));

async function binaryHelp(etcd: string): Promise<BinaryHelp> {
  // Usage goes to stderr, the flag list to stdout.
  const { stdout, stderr } = await run(etcd, ['--help'], { env: { PATH: '/usr/bin:/bin' } });
  const help: BinaryHelp = { flags: new Set(), deprecated: new Set(), gates: new Set() };
  let section = '';
  let flag: { name: string; text: string } | undefined;
  const close = (): void => {
    if (flag && (deprecatedNow(flag.text) || deprecatedNow(section))) help.deprecated.add(flag.name);
    flag = undefined;
  };
  for (const line of `${stderr}\n${stdout}`.split('\n')) {
    const f = /^ {2}--([a-z0-9][a-z0-9-]*)/.exec(line);
    if (f) {
      close();
      flag = { name: f[1]!, text: '' };
      help.flags.add(f[1]!);
      continue;
    }
    if (flag && line.startsWith('    ')) {
      flag.text += ` ${line.trim()}`;
      const gate = /^ {4}([A-Z][A-Za-z0-9]+)=true\|false \(/.exec(line);
      if (flag.name === 'feature-gates' && gate) help.gates.add(gate[1]!);
      continue;
    }
    close();
    const title = /^([A-Za-z0-9].*):$/.exec(line);
    if (title) section = title[1]!;
  }
  close();
  return help;
}

/** Lines where etcd complains about its environment: an unknown variable, or any deprecation warning. */
function complaints(log: string): string[] {
  return log.split('\n').filter((l) => {
    if (l.includes('unrecognized environment variable')) return true;
    // zap (JSON) warnings, and capnslog's " W | " lines (3.4 parses its flags before switching to zap).
    const warning = l.includes('"level":"warn"') || / W \| /.test(l);
    return warning && /deprecat/i.test(l);
  });
}

/** A name this release does not read but another minor does: the mistake a version-blind renderer makes. */
function foreignVar(v: ResolvedEtcdVersion): string {
  const name = ['ETCD_TLS_MIN_VERSION', 'ETCD_FEATURE_GATES', 'ETCD_ENABLE_V2', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK'].find((n) => !etcdEnvVarKnown(v, n));
  if (!name) throw new Error(`no foreign variable for ${v.text}`);
  return name;
}

/** Every optional variable the release can take: metrics listener, cipher suites, TLS minimum, every tunable. */
function fullSettings(v: ResolvedEtcdVersion, metricsPort: number): EtcdSettings {
  return {
    heartbeatMs: 50,
    electionMs: 500,
    quotaBackendBytes: 4 * 1024 ** 3,
    autoCompactionMode: 'revision',
    autoCompactionRetention: '1000',
    maxRequestBytes: 2 * 1024 * 1024,
    cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    metricsUrls: [`http://127.0.0.1:${metricsPort}`],
    metrics: 'extensive',
    logLevel: 'info', // the checks below read info lines (corruption check, recognized variables)
    maxWals: 3,
    preVote: true,
    initialCorruptCheck: true,
    ...(etcdEnvVarKnown(v, 'ETCD_TLS_MIN_VERSION') ? { tlsMinVersion: 'TLS1.2' as const } : {}),
    ...(etcdEnvVarDeprecated(v, 'ETCD_SNAPSHOT_COUNT') ? {} : { snapshotCount: 20_000 }),
    ...(etcdEnvVarDeprecated(v, 'ETCD_MAX_SNAPSHOTS') ? {} : { maxSnapshots: 3 }),
  };
}

// etcd logs "--<flag> is deprecated …" for a deprecated flag it is given only from 3.5.18 on (the deprecatedFlags
// map in server/etcdmain/config.go); older releases mark flags deprecated in --help but stay silent, so on them
// the "no deprecation warning" check holds trivially and the negative control shows the silence.
function warnsAboutDeprecatedFlags(version: string): boolean {
  const [, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return minor > 5 || (minor === 5 && patch >= 18);
}

const releases = etcdReleases();

describe('the release cache', () => {
  it('holds one binary per supported minor, 3.4 to 3.7', () => {
    expect(releases.map((r) => r.version)).toEqual(expect.arrayContaining(['3.4.23', '3.5.16', '3.5.30', '3.5.33', '3.6.14', '3.7.1']));
  });
});

describe.each(releases.map((r): [string, EtcdRelease] => [r.version, r]))('etcd %s (real binary)', (version, release) => {
  const v = resolveEtcdVersion(version);
  let help: BinaryHelp;
  let cluster: LocalCluster;
  const metricsPorts: number[] = [];

  beforeAll(async () => {
    help = await binaryHelp(release.etcd);
    cluster = await startLocalCluster({
      size: 3,
      etcdBin: release.etcd,
      etcdctlBin: release.etcdctl,
      etcdVersion: version,
      settings: (slot) => {
        metricsPorts[slot.index] = slot.sparePort;
        return fullSettings(v, slot.sparePort);
      },
    });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it("the version table lists exactly the binary's flags and deprecations", () => {
    expect(help.flags.size).toBeGreaterThan(70);
    expect([...help.flags].map(flagToEnvVar).sort()).toEqual([...v.envVars].sort());
    expect([...help.deprecated].map(flagToEnvVar).sort()).toEqual([...v.deprecatedEnvVars.keys()].sort());
    // AllAlpha/AllBeta are the gate package's own switches, not etcd features.
    expect([...help.gates].filter((g) => !g.startsWith('All')).sort()).toEqual([...v.featureGates.keys()].sort());
  });

  it('(a) every variable rendered, defaults or every optional setting, is a flag this binary knows', () => {
    const sets: EtcdSettings[] = [{}, fullSettings(v, 2381)];
    if (help.flags.has('tls-min-version')) sets.push({ tlsMinVersion: 'TLS1.3' });
    for (const settings of sets) {
      for (const m of cluster.members) {
        const env = parseEnvFile(renderEtcdEnv({ ...m.renderOptions, settings }));
        for (const name of Object.keys(env)) expect(help.flags.has(envVarToFlag(name)), `${name} for ${version}`).toBe(true);
      }
    }
  });

  it('(b) no variable rendered is one the binary marks deprecated', async () => {
    for (const m of cluster.members) {
      const env = parseEnvFile(await readFile(m.envFile, 'utf8'));
      for (const name of Object.keys(env)) expect(help.deprecated.has(envVarToFlag(name)), `${name} is deprecated in ${version}`).toBe(false);
    }
  });

  it('(c) the initial corruption check goes where the binary wants it: a feature gate from 3.6 on', async () => {
    const env = parseEnvFile(await readFile(cluster.members[0]!.envFile, 'utf8'));
    if (help.flags.has('feature-gates')) {
      expect(help.gates.has('InitialCorruptCheck')).toBe(true);
      expect(env.ETCD_FEATURE_GATES).toBe('InitialCorruptCheck=true');
      expect(env.ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK).toBeUndefined();
    } else {
      expect(env.ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK).toBe('true');
      expect(env.ETCD_FEATURE_GATES).toBeUndefined();
    }
  });

  it('(d) three members from the rendered files are healthy, serve metrics, and log no complaint', async () => {
    const res = await cluster.etcdctl(['endpoint', 'health']);
    expect(res.code).toBe(0);
    expect(`${res.stdout}${res.stderr}`.match(/is healthy/g)).toHaveLength(3);
    expect((await cluster.etcdctl(['put', 'etcd-kit/version', version])).code).toBe(0);
    const logs = await cluster.readLogs();
    for (const [name, log] of Object.entries(logs)) {
      expect(complaints(log), `${name} on ${version}`).toEqual([]);
      // Where etcd reports each variable it used (every release here does), it must report every one rendered.
      if (log.includes('recognized and used environment variable')) {
        for (const key of Object.keys(parseEnvFile(await readFile(cluster.member(name).envFile, 'utf8')))) {
          // capnslog: "… variable ETCD_NAME=etcd1"; zap: "…","variable-name":"ETCD_NAME","variable-value":…
          expect(log, `${name}: ${key}`).toMatch(new RegExp(`recognized and used environment variable.{0,30}[ "]${key}["=]`));
        }
      }
    }
    for (const port of metricsPorts) {
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('etcd_server_has_leader 1');
    }
  });

  it('(c) the corruption check takes effect: a restarted member runs it, still without complaint', async () => {
    // etcd checks only a member that already has data (embed/etcd.go: "newly started member does not need corruption check").
    const m = cluster.members[0]!;
    const before = (await cluster.readLog(m.name)).length;
    await cluster.restart(m.name);
    const log = (await cluster.readLog(m.name)).slice(before);
    expect(log).toContain('starting initial corruption check');
    expect(log).toMatch(/initial corruption checking passed/);
    expect(complaints(log)).toEqual([]);
  });

  it('negative control: the same log grep finds a wrong and a deprecated variable rendered into a copy', async () => {
    const m = cluster.members[2]!;
    const original = await readFile(m.envFile, 'utf8');
    const wrong = foreignVar(v);
    // A deprecated name this binary warns about, with etcd's own default so behaviour does not change (3.4 deprecates nothing).
    const deprecated = ['ETCD_MAX_SNAPSHOTS', 'ETCD_ENABLE_V2'].find((n) => help.deprecated.has(envVarToFlag(n)));
    const values: Record<string, string> = { ETCD_TLS_MIN_VERSION: 'TLS1.2', ETCD_FEATURE_GATES: 'InitialCorruptCheck=true' };
    const extra = [`${wrong}="${values[wrong] ?? 'true'}"`];
    if (deprecated) extra.push(`${deprecated}="${etcdDefault(v, deprecated)}"`);
    await cluster.stop(m.name);
    const before = (await cluster.readLog(m.name)).length;
    await writeFile(m.envFile, `${original}\n#[Negative control]\n${extra.join('\n')}\n`);
    try {
      await cluster.start(m.name);
      const found = complaints((await cluster.readLog(m.name)).slice(before));
      expect(found.some((l) => l.includes('unrecognized environment variable') && l.includes(wrong)), found.join('\n')).toBe(true);
      const warned = found.some((l) => !l.includes('unrecognized') && l.includes(`--${envVarToFlag(deprecated ?? '-')}`));
      expect(warned, found.join('\n')).toBe(deprecated !== undefined && warnsAboutDeprecatedFlags(version));
    } finally {
      await writeFile(m.envFile, original);
    }
  });
});

describe.each(releases.filter((r) => etcdEnvVarKnown(r.version, 'ETCD_TLS_MIN_VERSION')).map((r): [string, EtcdRelease] => [r.version, r]))(
  'etcd %s with tlsMinVersion TLS1.3 (real binary)',
  (version, release) => {
    let cluster: LocalCluster;

    beforeAll(async () => {
      cluster = await startLocalCluster({ size: 1, etcdBin: release.etcd, etcdctlBin: release.etcdctl, etcdVersion: version, settings: { tlsMinVersion: 'TLS1.3' } });
    });

    afterAll(async () => {
      await cluster?.close();
    });

    /** A TLS handshake with the admin certificate, capped at `maxVersion`: 'TLSv1.3' on success, else the error code. */
    const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> =>
      new Promise((resolve) => {
        const m = cluster.members[0]!;
        const socket = connect({ host: m.address, port: m.clientPort, ca: cluster.tls.caPem, cert: cluster.tls.certPem, key: cluster.tls.keyPem, maxVersion });
        socket.once('secureConnect', () => {
          resolve(socket.getProtocol() ?? 'unknown');
          socket.destroy();
        });
        socket.once('error', (err) => resolve(String((err as NodeJS.ErrnoException).code ?? err.message)));
      });

    it('starts healthy, logs no complaint, and speaks TLS 1.3 only', async () => {
      const m = cluster.members[0]!;
      expect(parseEnvFile(await readFile(m.envFile, 'utf8')).ETCD_TLS_MIN_VERSION).toBe('TLS1.3');
      expect(complaints(await cluster.readLog(m.name))).toEqual([]);
      expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
      // Refused by the server for the version, not for anything else about the client.
      expect(await handshake('TLSv1.2')).toMatch(/PROTOCOL_VERSION/);
    });
  },
);
