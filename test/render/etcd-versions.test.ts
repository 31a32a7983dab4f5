import { describe, expect, it } from 'vitest';
import { GENERATED_ETCD_MINORS } from '../../src/render/etcd-flags.generated.js';
import {
  DEFAULT_ETCD_VERSION,
  envVarToFlag,
  etcdDefault,
  etcdEnvVarDeprecated,
  etcdEnvVarKnown,
  etcdEnvVarSince,
  etcdFatalValue,
  etcdFeatureGateFor,
  etcdImplicitValue,
  etcdMinorTable,
  etcdVersionIssues,
  flagToEnvVar,
  resolveEtcdVersion,
  SUPPORTED_ETCD_MINORS,
} from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

const newest = (minor: string): string => GENERATED_ETCD_MINORS[minor]!.newestTag.slice(1);
const previous = (minor: string): string | undefined => SUPPORTED_ETCD_MINORS[SUPPORTED_ETCD_MINORS.indexOf(minor) - 1];
/** Every release tag the generated data was read from, `X.Y.Z`. */
const allReleases = SUPPORTED_ETCD_MINORS.flatMap((m) => Array.from({ length: GENERATED_ETCD_MINORS[m]!.tags }, (_, p) => `${m}.${p}`));
const varsOf = (version: string): Set<string> => new Set(resolveEtcdVersion(version).envVars);

describe('the generated data', () => {
  it('covers 3.4 to 3.7, every release tag from X.Y.0 to the newest, no pre-release', () => {
    expect(SUPPORTED_ETCD_MINORS).toEqual(['3.4', '3.5', '3.6', '3.7']);
    for (const m of SUPPORTED_ETCD_MINORS) {
      const d = GENERATED_ETCD_MINORS[m]!;
      expect(d.firstTag).toBe(`v${m}.0`);
      expect(d.newestTag).toMatch(new RegExp(`^v${m.replace('.', '\\.')}\\.[0-9]+$`));
      // Tags are contiguous, so every patch in range is one the data read.
      expect(d.tags).toBe(Number(d.newestTag.split('.')[2]) + 1);
      expect(d.newestCommit).toMatch(/^[0-9a-f]{40}$/);
      expect(Object.keys(d.flags).length).toBeGreaterThan(70);
      expect(Object.keys(d.flags)).toEqual(Object.keys(d.flags).sort());
    }
    expect(GENERATED_ETCD_MINORS['3.4']!.helpPath).toBe('etcdmain/help.go');
    expect(GENERATED_ETCD_MINORS['3.6']!.helpPath).toBe('server/etcdmain/help.go');
    expect(allReleases).toContain('3.4.23');
    expect(allReleases).toContain('3.7.1');
  });

  it('has feature gates from 3.6 on only', () => {
    expect(GENERATED_ETCD_MINORS['3.4']!.featureGates).toBeUndefined();
    expect(GENERATED_ETCD_MINORS['3.5']!.featureGates).toBeUndefined();
    expect(GENERATED_ETCD_MINORS['3.6']!.featureGates?.['InitialCorruptCheck']).toEqual({ default: false, stage: 'Alpha', since: 0 });
    expect(GENERATED_ETCD_MINORS['3.7']!.featureGates?.['InitialCorruptCheck']).toMatchObject({ default: false });
    expect(resolveEtcdVersion('3.5.33').featureGates.size).toBe(0);
    expect([...resolveEtcdVersion('3.6.14').featureGates.keys()]).toContain('TxnModeWriteWithSharedBuffer');
  });

  it('maps flags to variables and back for every flag', () => {
    expect(flagToEnvVar('--initial-cluster-token')).toBe('ETCD_INITIAL_CLUSTER_TOKEN');
    expect(flagToEnvVar('max-snapshots')).toBe('ETCD_MAX_SNAPSHOTS');
    expect(envVarToFlag('ETCD_TLS_MIN_VERSION')).toBe('tls-min-version');
    for (const m of SUPPORTED_ETCD_MINORS) {
      for (const flag of Object.keys(GENERATED_ETCD_MINORS[m]!.flags)) expect(envVarToFlag(flagToEnvVar(flag))).toBe(flag);
    }
  });
});

describe('DEFAULT_ETCD_VERSION', () => {
  it('is the newest 3.6 release in the data', () => {
    expect(DEFAULT_ETCD_VERSION).toBe('3.6.14');
    expect(DEFAULT_ETCD_VERSION).toBe(newest('3.6'));
    expect(resolveEtcdVersion(DEFAULT_ETCD_VERSION).beyondNewestKnown).toBe(false);
  });
});

describe('resolveEtcdVersion', () => {
  it('returns the parsed version with its minor table, cached', () => {
    const v = resolveEtcdVersion('3.5.16');
    expect(v.version).toMatchObject({ major: 3, minor: 5, patch: 16, minorText: '3.5' });
    expect(v.text).toBe('3.5.16');
    expect(v.table).toBe(etcdMinorTable('3.5'));
    expect(resolveEtcdVersion('3.5.16')).toBe(v);
    expect(v.beyondNewestKnown).toBe(false);
    expect(v.issues).toEqual([]);
  });

  it('refuses what is not X.Y.Z, naming the field', () => {
    for (const bad of ['v3.6.14', '3.6', '3.6.14-rc.0', '3.6.14 ', '', 'latest', 3614, undefined, null, ['3.6.14']]) {
      expectInvalid(() => resolveEtcdVersion(bad), 'etcdVersion');
    }
    expectInvalid(() => resolveEtcdVersion('3.6', 'spec.etcd.version'), 'spec.etcd.version');
  });

  it('refuses a minor without a table', () => {
    for (const bad of ['3.3.27', '3.8.0', '2.3.8', '4.0.0', '3.10.0']) {
      const err = expectInvalid(() => resolveEtcdVersion(bad), 'etcdVersion');
      expect(err.message).toContain('3.4, 3.5, 3.6, 3.7');
    }
    expectInvalid(() => etcdMinorTable('3.8'), 'etcdVersion');
    expectInvalid(() => etcdEnvVarKnown('3.3.0', 'ETCD_NAME'), 'etcdVersion');
  });

  it('accepts a patch newer than the data (patches do not drop flags) with the newest known release\'s variables', () => {
    const next = resolveEtcdVersion('3.6.15');
    expect(next.beyondNewestKnown).toBe(true);
    expect(next.envVars).toEqual(resolveEtcdVersion('3.6.14').envVars);
    expect(next.deprecatedEnvVars).toEqual(resolveEtcdVersion('3.6.14').deprecatedEnvVars);
    expect(resolveEtcdVersion('3.4.999').envVars).toEqual(resolveEtcdVersion(newest('3.4')).envVars);
    expect(resolveEtcdVersion('3.7.9').table.minor).toBe('3.7');
  });

  it('knows variables per exact patch', () => {
    // --tls-min-version arrived in patch releases of both 3.4 and 3.5.
    expect(etcdEnvVarKnown('3.4.23', 'ETCD_TLS_MIN_VERSION')).toBe(false);
    expect(etcdEnvVarKnown('3.4.24', 'ETCD_TLS_MIN_VERSION')).toBe(false);
    expect(etcdEnvVarKnown('3.4.25', 'ETCD_TLS_MIN_VERSION')).toBe(true);
    expect(etcdEnvVarKnown('3.5.7', 'ETCD_TLS_MIN_VERSION')).toBe(false);
    expect(etcdEnvVarKnown('3.5.8', 'ETCD_TLS_MIN_VERSION')).toBe(true);
    expect(etcdEnvVarSince('3.4', 'ETCD_TLS_MIN_VERSION')).toBe('3.4.25');
    expect(etcdEnvVarSince('3.5', 'ETCD_TLS_MIN_VERSION')).toBe('3.5.8');
    expect(etcdEnvVarSince('3.6', 'ETCD_TLS_MIN_VERSION')).toBe('3.6.0');
    expect(etcdEnvVarSince('3.6', 'ETCD_ENABLE_V2')).toBeUndefined();
    // A 3.6 flag misspelt in 3.6.0-3.6.4 (its help's own typo) and dropped in 3.6.5.
    expect(etcdEnvVarKnown('3.6.4', 'ETCD_EXPERIMENTAL_SNAPSHOT_CATCH_UP_ENTRIES')).toBe(true);
    expect(etcdEnvVarKnown('3.6.5', 'ETCD_EXPERIMENTAL_SNAPSHOT_CATCH_UP_ENTRIES')).toBe(false);
    // 3.6.0-3.6.7 deprecated --snapshot-count; 3.6.8 took it back.
    expect(etcdEnvVarDeprecated('3.6.7', 'ETCD_SNAPSHOT_COUNT')).toBe(true);
    expect(etcdEnvVarDeprecated('3.6.8', 'ETCD_SNAPSHOT_COUNT')).toBe(false);
    expect(etcdEnvVarKnown('3.6.8', 'ETCD_SNAPSHOT_COUNT')).toBe(true);
  });

  it('answers the questions of the brief per minor', () => {
    expect(etcdEnvVarKnown('3.4.23', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK')).toBe(true);
    expect(etcdEnvVarKnown('3.4.23', 'ETCD_ENABLE_V2')).toBe(true);
    expect(etcdEnvVarDeprecated('3.4.23', 'ETCD_ENABLE_V2')).toBe(false);
    expect(etcdEnvVarKnown('3.5.16', 'ETCD_TLS_MIN_VERSION')).toBe(true);
    expect(etcdEnvVarDeprecated('3.5.16', 'ETCD_ENABLE_V2')).toBe(true);
    expect(etcdEnvVarKnown('3.5.16', 'ETCD_DEBUG')).toBe(false);
    expect(etcdEnvVarKnown('3.6.14', 'ETCD_ENABLE_V2')).toBe(false);
    expect(etcdEnvVarKnown('3.6.14', 'ETCD_PROXY')).toBe(false);
    expect(etcdEnvVarKnown('3.6.14', 'ETCD_FEATURE_GATES')).toBe(true);
    expect(etcdEnvVarDeprecated('3.6.14', 'ETCD_MAX_SNAPSHOTS')).toBe(true);
    expect(etcdEnvVarDeprecated('3.6.14', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK')).toBe(true);
    expect(resolveEtcdVersion('3.6.14').deprecatedEnvVars.get('ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK')).toBe('ETCD_FEATURE_GATES=InitialCorruptCheck=true');
    expect(resolveEtcdVersion('3.6.14').deprecatedEnvVars.get('ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME')).toBe('ETCD_CORRUPT_CHECK_TIME');
    expect([...varsOf('3.7.1')].filter((n) => n.startsWith('ETCD_EXPERIMENTAL_'))).toEqual([]);
    expect(etcdEnvVarDeprecated('3.7.1', 'ETCD_MAX_SNAPSHOTS')).toBe(true);
    // Not a flag: etcd refuses to take its version from the environment.
    for (const v of allReleases) expect(etcdEnvVarKnown(v, 'ETCD_VERSION')).toBe(false);
  });

  it('links each minor\'s docs', () => {
    for (const m of SUPPORTED_ETCD_MINORS) expect(etcdMinorTable(m).docsUrl).toBe(`https://etcd.io/docs/v${m}/`);
    expect(resolveEtcdVersion('3.6.14').table.docsUrl).toBe('https://etcd.io/docs/v3.6/');
    expect(etcdMinorTable('3.6')).toMatchObject({ firstKnown: '3.6.0', newestKnown: '3.6.14' });
  });
});

describe('hand-written knowledge, cross-checked against the generated data', () => {
  it('renamed: the new name exists undeprecated; the old one is deprecated in favour of it, or gone', () => {
    for (const m of SUPPORTED_ETCD_MINORS) {
      const v = resolveEtcdVersion(newest(m));
      for (const r of etcdMinorTable(m).renamed) {
        expect(v.envVars.has(r.to), `${m}: ${r.to}`).toBe(true);
        expect(v.deprecatedEnvVars.has(r.to), `${m}: ${r.to}`).toBe(false);
        if (r.oldStillRead) {
          expect(v.deprecatedEnvVars.get(r.from), `${m}: ${r.from}`).toBe(r.to);
        } else {
          expect(v.envVars.has(r.from), `${m}: ${r.from}`).toBe(false);
          expect(varsOf(newest(previous(m)!)).has(r.from), `${m}: ${r.from} in the minor before`).toBe(true);
        }
      }
    }
    // 3.6's list is exactly what its help marks deprecated in favour of another flag.
    const byHelp = [...resolveEtcdVersion('3.6.0').deprecatedEnvVars].filter(([, use]) => use?.startsWith('ETCD_') && !use.startsWith('ETCD_FEATURE_GATES='));
    expect(etcdMinorTable('3.6').renamed.map((r) => [r.from, r.to]).sort()).toEqual(byHelp.sort());
    expect(etcdMinorTable('3.6').renamed).toHaveLength(17);
  });

  it('gated: the gate exists, the old variable points at it, and the list is etcd\'s own map', () => {
    for (const m of SUPPORTED_ETCD_MINORS) {
      const v = resolveEtcdVersion(newest(m));
      for (const g of etcdMinorTable(m).gated) {
        expect(v.featureGates.has(g.gate), `${m}: ${g.gate}`).toBe(true);
        expect(v.deprecatedEnvVars.get(g.from), `${m}: ${g.from}`).toBe(`ETCD_FEATURE_GATES=${g.gate}=true`);
      }
    }
    const etcdMap = Object.entries(GENERATED_ETCD_MINORS['3.6']!.experimentalFlagGates ?? {}).map(([flag, gate]) => [flagToEnvVar(flag), gate]);
    expect(etcdMinorTable('3.6').gated.map((g) => [g.from, g.gate]).sort()).toEqual(etcdMap.sort());
    const byHelp = [...resolveEtcdVersion('3.6.14').deprecatedEnvVars].filter(([, use]) => use?.startsWith('ETCD_FEATURE_GATES='));
    expect(byHelp.map(([name]) => name).sort()).toEqual(etcdMinorTable('3.6').gated.map((g) => g.from).sort());
    // The gates outlive the variables: 3.7 still knows them.
    for (const g of etcdMinorTable('3.6').gated) expect(etcdFeatureGateFor('3.7.1', g.from)).toBe(g.gate);
    expect(etcdFeatureGateFor('3.5.33', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK')).toBeUndefined();
    expect(etcdFeatureGateFor('3.6.0', 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK')).toBe('InitialCorruptCheck');
    expect(etcdFeatureGateFor('3.6.14', 'ETCD_MAX_SNAPSHOTS')).toBeUndefined();
  });

  it('removed: exactly the variables the minor before read and this one does not, gone at every patch', () => {
    for (const m of SUPPORTED_ETCD_MINORS.slice(1)) {
      const before = varsOf(newest(previous(m)!));
      const table = etcdMinorTable(m);
      const releases = allReleases.filter((r) => r.startsWith(`${m}.`));
      const gone = new Set<string>();
      for (const r of table.removed) {
        const matches = (n: string): boolean => (r.name.endsWith('*') ? n.startsWith(r.name.slice(0, -1)) : n === r.name);
        for (const release of releases) expect([...varsOf(release)].filter(matches), `${release}: ${r.name}`).toEqual([]);
        const had = [...before].filter(matches);
        if (r.unlisted) expect(had, `${m}: ${r.name} is unlisted`).toEqual([]);
        else expect(had.length, `${m}: ${r.name} in the minor before`).toBeGreaterThan(0);
        for (const n of had) gone.add(n);
      }
      const actuallyGone = [...before].filter((n) => !varsOf(newest(m)).has(n));
      expect([...gone].sort(), `${m}`).toEqual(actuallyGone.sort());
    }
    expect(etcdMinorTable('3.4').removed).toEqual([]);
  });

  it('defaultChanges: match the defaults etcd\'s help shows before and after', () => {
    let checked = 0;
    for (const m of SUPPORTED_ETCD_MINORS) {
      for (const c of etcdMinorTable(m).defaultChanges) {
        expect(etcdDefault(newest(previous(m)!), c.name), `${m}: ${c.name} before`).toBe(c.from);
        expect(etcdDefault(newest(m), c.name), `${m}: ${c.name}`).toBe(c.to);
        checked++;
      }
    }
    expect(checked).toBe(4);
    expect(etcdDefault('3.4.23', 'ETCD_SNAPSHOT_COUNT')).toBe('100000');
    expect(etcdDefault('3.6.14', 'ETCD_SNAPSHOT_COUNT')).toBe('10000');
    expect(etcdDefault('3.4.23', 'ETCD_LOGGER')).toBe('capnslog');
    expect(etcdDefault('3.6.14', 'ETCD_MAX_SNAPSHOTS')).toBe('5');
    expect(etcdDefault('3.6.14', 'ETCD_ENABLE_V2')).toBeUndefined();
    expect(etcdDefault('3.4.23', 'ETCD_NO_SUCH_THING')).toBeUndefined();
  });

  it('fatal values hold from their minor on', () => {
    expect(etcdFatalValue('3.4.23', 'ETCD_LOGGER', 'capnslog')).toBeUndefined();
    expect(etcdFatalValue('3.5.0', 'ETCD_LOGGER', 'capnslog')?.why).toMatch(/capnslog/);
    expect(etcdFatalValue('3.7.1', 'ETCD_LOGGER', 'capnslog')).toBeDefined();
    expect(etcdFatalValue('3.7.1', 'ETCD_LOGGER', 'zap')).toBeUndefined();
    expect(etcdFatalValue('3.5.33', 'ETCD_DISCOVERY_FALLBACK', 'proxy')).toBeUndefined();
    expect(etcdFatalValue('3.6.0', 'ETCD_DISCOVERY_FALLBACK', 'proxy')).toBeDefined();
    for (const m of SUPPORTED_ETCD_MINORS) for (const f of etcdMinorTable(m).fatalValues) expect(etcdEnvVarKnown(newest(m), f.name)).toBe(true);
  });

  it('implicit values: TLS 1.2 before --tls-min-version', () => {
    expect(etcdImplicitValue('3.4.23', 'ETCD_TLS_MIN_VERSION')).toBe('TLS1.2');
    expect(etcdImplicitValue('3.5.7', 'ETCD_TLS_MIN_VERSION')).toBe('TLS1.2');
    expect(etcdImplicitValue('3.5.16', 'ETCD_TLS_MIN_VERSION')).toBeUndefined();
    expect(etcdImplicitValue('3.4.23', 'ETCD_MAX_WALS')).toBeUndefined();
  });
});

describe('etcdVersionIssues', () => {
  it('flags 3.5.0-3.5.2 (data inconsistency, fixed in 3.5.3) and nothing else', () => {
    for (const v of ['3.5.0', '3.5.1', '3.5.2']) {
      const issues = etcdVersionIssues(v);
      expect(issues.map((i) => i.id)).toEqual(['etcd-3.5-data-inconsistency']);
      expect(issues[0]).toMatchObject({ first: '3.5.0', last: '3.5.2', fixedIn: '3.5.3' });
      expect(resolveEtcdVersion(v).issues).toBe(issues);
    }
    for (const v of allReleases.filter((r) => !['3.5.0', '3.5.1', '3.5.2'].includes(r))) expect(etcdVersionIssues(v), v).toEqual([]);
  });
});
