import { describe, expect, it } from 'vitest';
import {
  assertInstallableVersion,
  type ClusterVersionFacts,
  MIN_PATCH_BEFORE_NEXT_MINOR,
  type MemberVersions,
  planVersionChange,
  type VersionChangeKind,
  type VersionRule,
  versionFactsNeeded,
} from '../../src/deploy/version-rules.js';
import { EtcdKitError } from '../../src/errors.js';

/** A cluster of members etcd01.. running the given versions (`undefined`: no etcd yet). */
function running(...versions: (string | undefined)[]): MemberVersions[] {
  return versions.map((v, i) => ({ name: `etcd0${i + 1}`, ...(v === undefined ? {} : { running: v }) }));
}

const kinds = (members: MemberVersions[], target: string, cluster: ClusterVersionFacts = { authEnabled: false }): VersionChangeKind[] =>
  planVersionChange({ members, cluster, target }).transitions.map((t) => t.kind);

/** The refusal planVersionChange throws, as the fields callers branch on. */
function refusal(members: MemberVersions[], target: string, cluster: ClusterVersionFacts = { authEnabled: false }) {
  try {
    planVersionChange({ members, cluster, target });
  } catch (err) {
    if (!(err instanceof EtcdKitError)) throw err;
    return { code: err.code, member: err.member, ...(err.details as { from?: string; to: string; rule: VersionRule }), message: err.message };
  }
  throw new Error(`expected ${target} to be refused`);
}

// The newest patch of each minor the project tests (all above every minimum).
const LATEST: Record<string, string> = { '3.4': '3.4.23', '3.5': '3.5.33', '3.6': '3.6.14', '3.7': '3.7.1' };
const MINORS = Object.keys(LATEST);

describe('planVersionChange: every pair of minors, uniform three-member cluster', () => {
  // Row: what every member runs; column: the target. A rule name means refused for that rule.
  const table: Record<string, Record<string, VersionChangeKind | VersionRule>> = {
    '3.4': { '3.4': 'none', '3.5': 'upgrade', '3.6': 'skips-minor', '3.7': 'skips-minor' },
    '3.5': { '3.4': 'minor-downgrade', '3.5': 'none', '3.6': 'upgrade', '3.7': 'skips-minor' },
    '3.6': { '3.4': 'skips-minor', '3.5': 'minor-downgrade', '3.6': 'none', '3.7': 'upgrade' },
    '3.7': { '3.4': 'skips-minor', '3.5': 'skips-minor', '3.6': 'minor-downgrade', '3.7': 'none' },
  };
  for (const from of MINORS) {
    for (const to of MINORS) {
      const expected = table[from]![to]!;
      it(`${LATEST[from]} → ${LATEST[to]}: ${expected}`, () => {
        const members = running(LATEST[from], LATEST[from], LATEST[from]);
        if (expected === 'none' || expected === 'upgrade') {
          expect(kinds(members, LATEST[to]!)).toEqual([expected, expected, expected]);
        } else {
          expect(refusal(members, LATEST[to]!)).toMatchObject({
            code: 'VERSION_CHANGE_REFUSED',
            member: 'etcd01',
            from: LATEST[from],
            to: LATEST[to],
            rule: expected,
          });
        }
      });
    }
  }

  it('a refusal names the member and both versions in its message, and says what to do', () => {
    const skip = refusal(running('3.4.23', '3.4.23'), '3.6.14');
    expect(skip.message).toBe(
      'etcd01: 3.4.23 → 3.6.14 refused: etcd upgrades one minor at a time and this skips 3.5; deploy the latest 3.5 release first, then 3.6',
    );
    expect(refusal(running('3.5.30'), '3.6.14').message).toContain('upgrade every member to ≥ 3.5.32 first');
    expect(refusal(running('3.7.1'), '3.6.14').message).toContain('etcdctl downgrade validate/enable 3.6');
    // 3.5 has no downgrade API: only a restore goes back
    expect(refusal(running('3.5.33'), '3.4.23').message).toContain('snapshot restore');
  });
});

describe('planVersionChange: patches within a minor', () => {
  it('both ways, per member', () => {
    expect(kinds(running('3.5.16', '3.5.33', '3.5.30'), '3.5.30')).toEqual(['patch-up', 'patch-down', 'none']);
    expect(kinds(running('3.6.14'), '3.6.1')).toEqual(['patch-down']);
  });

  it('refuses installing 3.5.0–3.5.2, but moving away from them is fine', () => {
    for (const bad of ['3.5.0', '3.5.1', '3.5.2']) {
      expect(refusal(running('3.5.16', '3.5.16'), bad)).toMatchObject({ member: 'etcd01', from: '3.5.16', to: bad, rule: 'bad-release' });
      expect(refusal(running('3.4.23'), bad).message).toContain('data inconsistency');
    }
    expect(kinds(running('3.5.16'), '3.5.3')).toEqual(['patch-down']);
    expect(kinds(running('3.5.1', '3.5.2'), '3.5.33')).toEqual(['patch-up', 'patch-up']);
  });
});

describe('planVersionChange: minimum patch before the next minor', () => {
  it('is one constant per minor, with etcd’s current numbers', () => {
    expect(MIN_PATCH_BEFORE_NEXT_MINOR).toEqual({ '3.5': '3.5.32', '3.6': '3.6.11' });
  });

  it('3.5 → 3.6: exactly at the minimum goes, one patch below is refused', () => {
    expect(kinds(running('3.5.32', '3.5.32', '3.5.32'), '3.6.14')).toEqual(['upgrade', 'upgrade', 'upgrade']);
    expect(refusal(running('3.5.31', '3.5.32', '3.5.32'), '3.6.14')).toMatchObject({ member: 'etcd01', from: '3.5.31', rule: 'min-patch' });
  });

  it('3.6 → 3.7: exactly at the minimum goes, one patch below is refused', () => {
    expect(kinds(running('3.6.11', '3.6.11', '3.6.11'), '3.7.1')).toEqual(['upgrade', 'upgrade', 'upgrade']);
    expect(refusal(running('3.6.11', '3.6.11', '3.6.10'), '3.7.0')).toMatchObject({ member: 'etcd03', from: '3.6.10', to: '3.7.0', rule: 'min-patch' });
  });

  it('3.4 → 3.5 has no minimum', () => {
    expect(kinds(running('3.4.0', '3.4.23'), '3.5.33')).toEqual(['upgrade', 'upgrade']);
  });

  it('every member counts, not just the ones that change: one low member blocks the whole upgrade', () => {
    // etcd03 already runs 3.6 (half-done); etcd02 is still below the minimum
    expect(refusal(running('3.5.33', '3.5.30', '3.6.14'), '3.6.14')).toMatchObject({ member: 'etcd02', from: '3.5.30', rule: 'min-patch' });
  });

  it('never rolls back to a patch below the minimum while members run the newer minor', () => {
    expect(refusal(running('3.6.14', '3.5.32', '3.5.32'), '3.5.30')).toMatchObject({ member: 'etcd01', from: '3.6.14', to: '3.5.30', rule: 'min-patch' });
    expect(refusal(running('3.7.1', '3.6.14'), '3.6.10')).toMatchObject({ member: 'etcd01', rule: 'min-patch' });
    // with no member on the newer minor, a patch-down below the minimum is just a patch-down
    expect(kinds(running('3.5.32', '3.5.33'), '3.5.30')).toEqual(['patch-down', 'patch-down']);
  });
});

describe('planVersionChange: half-done upgrades', () => {
  it('finishing one: the upgraded members stay, the others upgrade', () => {
    expect(kinds(running('3.6.14', '3.5.33', '3.5.32'), '3.6.14', { clusterVersion: '3.5' })).toEqual(['none', 'upgrade', 'upgrade']);
    expect(kinds(running('3.5.33', '3.4.23', '3.4.23'), '3.5.33', { clusterVersion: '3.4', authEnabled: false })).toEqual(['none', 'upgrade', 'upgrade']);
  });

  it('rolling one back by swapping binaries, while a member still runs the older minor', () => {
    expect(kinds(running('3.6.14', '3.5.33', '3.5.33'), '3.5.33', { clusterVersion: '3.5' })).toEqual(['downgrade', 'none', 'none']);
    expect(kinds(running('3.6.14', '3.6.14', '3.5.33'), '3.5.32')).toEqual(['downgrade', 'downgrade', 'patch-down']);
    expect(kinds(running('3.5.33', '3.4.23', '3.4.23'), '3.4.23', { clusterVersion: '3.4' })).toEqual(['downgrade', 'none', 'none']);
    expect(kinds(running('3.7.1', '3.6.14', '3.6.14'), '3.6.14', { clusterVersion: '3.6' })).toEqual(['downgrade', 'none', 'none']);
  });

  it('refuses a rollback once the cluster version moved on, even with a member on the older minor', () => {
    expect(refusal(running('3.6.14', '3.6.14', '3.5.33'), '3.5.33', { clusterVersion: '3.6' })).toMatchObject({ member: 'etcd01', from: '3.6.14', rule: 'minor-downgrade' });
  });

  it('refuses a rollback once no member runs the older minor, even before etcd raised the cluster version', () => {
    const r = refusal(running('3.6.14', '3.6.14', '3.6.14'), '3.5.33', { clusterVersion: '3.5' });
    expect(r).toMatchObject({ member: 'etcd01', from: '3.6.14', to: '3.5.33', rule: 'minor-downgrade' });
    expect(r.message).toContain('no member runs 3.5 any more');
  });

  it('refuses the next minor while the cluster version still lags one behind (seconds after the last upgrade)', () => {
    const r = refusal(running('3.5.33', '3.5.33', '3.5.33'), '3.6.14', { clusterVersion: '3.4.0' });
    expect(r).toMatchObject({ member: 'etcd01', from: '3.5.33', rule: 'skips-minor' });
    expect(r.message).toContain('cluster version is still 3.4');
    expect(kinds(running('3.5.33', '3.5.33'), '3.6.14', { clusterVersion: '3.5.0' })).toEqual(['upgrade', 'upgrade']);
  });

  it('refuses a mixed cluster that would skip: every member must be at most one minor behind the target', () => {
    expect(refusal(running('3.5.33', '3.4.23', '3.5.33'), '3.6.14')).toMatchObject({ member: 'etcd02', from: '3.4.23', rule: 'skips-minor' });
  });
});

describe('planVersionChange: stopped members and new members', () => {
  it('a stopped member is judged by the binary on its disk', () => {
    const members: MemberVersions[] = [
      { name: 'etcd01', running: '3.5.33' },
      { name: 'etcd02', onDisk: '3.5.30' },
    ];
    expect(refusal(members, '3.6.14')).toMatchObject({ member: 'etcd02', from: '3.5.30', rule: 'min-patch' });
    expect(planVersionChange({ members, target: '3.5.33' }).transitions).toEqual([
      { member: 'etcd01', from: '3.5.33', to: '3.5.33', kind: 'none' },
      { member: 'etcd02', from: '3.5.30', to: '3.5.33', kind: 'patch-up' },
    ]);
    // a stopped 3.5 member keeps a swap back to 3.5 possible
    expect(kinds([{ name: 'a', running: '3.6.14' }, { name: 'b', onDisk: '3.5.33' }], '3.5.33')).toEqual(['downgrade', 'none']);
  });

  it('what runs wins over what is on disk for `from`, but both must obey the rules', () => {
    const member = { name: 'etcd01', running: '3.5.33', onDisk: '3.4.23' };
    expect(planVersionChange({ members: [member], cluster: { authEnabled: false }, target: '3.5.33' }).transitions[0]).toMatchObject({ from: '3.5.33', kind: 'none' });
    expect(refusal([member], '3.6.14')).toMatchObject({ from: '3.4.23', rule: 'skips-minor' });
  });

  it('new members install the target; a bootstrap is all installs', () => {
    expect(planVersionChange({ members: running(undefined, undefined, undefined), target: '3.7.1' }).transitions).toEqual(
      ['etcd01', 'etcd02', 'etcd03'].map((member) => ({ member, to: '3.7.1', kind: 'install' })),
    );
    expect(kinds(running('3.5.33', '3.5.33', undefined), '3.6.14')).toEqual(['upgrade', 'upgrade', 'install']);
    expect(planVersionChange({ members: [], target: '3.6.14' }).transitions).toEqual([]);
  });

  it('a join obeys the same rules: a 3.6 member next to a 3.4 cluster is a skip', () => {
    expect(refusal(running('3.4.23', '3.4.23', undefined), '3.6.14')).toMatchObject({ member: 'etcd01', from: '3.4.23', to: '3.6.14', rule: 'skips-minor' });
  });
});

describe('planVersionChange: auth and 3.4 → 3.5', () => {
  it('refuses a rolling 3.4 → 3.5 upgrade with auth enabled, or when auth could not be read', () => {
    const r = refusal(running('3.4.23', '3.4.23'), '3.5.33', { authEnabled: true });
    expect(r).toMatchObject({ member: 'etcd01', from: '3.4.23', to: '3.5.33', rule: 'auth-upgrade' });
    expect(r.message).toContain('auth');
    expect(refusal(running('3.4.23'), '3.5.33', {})).toMatchObject({ rule: 'auth-unknown' });
    // the half-done case too: one member on 3.5 already
    expect(refusal(running('3.5.33', '3.4.23'), '3.5.33', { authEnabled: true })).toMatchObject({ member: 'etcd02', rule: 'auth-upgrade' });
    expect(kinds(running('3.4.23'), '3.5.33', { authEnabled: false })).toEqual(['upgrade']);
  });

  it('auth does not matter for any other change', () => {
    const auth = { authEnabled: true };
    expect(kinds(running('3.5.33'), '3.6.14', auth)).toEqual(['upgrade']);
    expect(kinds(running('3.6.14'), '3.7.1', auth)).toEqual(['upgrade']);
    expect(kinds(running('3.4.20'), '3.4.23', {})).toEqual(['patch-up']);
    expect(kinds(running('3.5.33', '3.4.23'), '3.4.23', { authEnabled: true })).toEqual(['downgrade', 'none']);
  });
});

describe('planVersionChange: versions etcd-kit does not know', () => {
  it('refuses an unknown target minor or a malformed one, naming the first member', () => {
    for (const target of ['3.8.0', '3.3.25', '2.3.8', '4.0.0', 'v3.5.30', '3.5', '3.6.0-rc.1', '']) {
      expect(refusal(running('3.5.33'), target)).toMatchObject({ member: 'etcd01', from: '3.5.33', to: target, rule: 'unknown-minor' });
    }
  });

  it('refuses a member that runs an unknown minor', () => {
    expect(refusal(running('3.5.33', '3.3.25'), '3.5.33')).toMatchObject({ member: 'etcd02', from: '3.3.25', rule: 'unknown-minor' });
    expect(refusal([{ name: 'x', onDisk: '3.8.0' }], '3.7.1')).toMatchObject({ member: 'x', from: '3.8.0', rule: 'unknown-minor' });
  });

  it('assertInstallableVersion: the release-only checks, with no member', () => {
    expect(assertInstallableVersion('3.6.14').minorText).toBe('3.6');
    for (const [target, rule] of [['3.8.0', 'unknown-minor'], ['3.5.2', 'bad-release']] as const) {
      const err = (() => {
        try {
          assertInstallableVersion(target);
        } catch (e) {
          return e as EtcdKitError;
        }
        throw new Error('expected a refusal');
      })();
      expect(err).toMatchObject({ code: 'VERSION_CHANGE_REFUSED', member: undefined, details: { to: target, rule } });
    }
  });
});

describe('versionFactsNeeded', () => {
  it('asks for the cluster version only when a minor changes, for auth only on 3.4 → 3.5', () => {
    expect(versionFactsNeeded(running('3.5.30', '3.5.33'), '3.5.33')).toEqual({ clusterVersion: false, authEnabled: false });
    expect(versionFactsNeeded(running('3.5.33', undefined), '3.6.14')).toEqual({ clusterVersion: true, authEnabled: false });
    expect(versionFactsNeeded(running('3.4.23'), '3.5.33')).toEqual({ clusterVersion: true, authEnabled: true });
    expect(versionFactsNeeded([{ name: 'a', onDisk: '3.4.23' }, { name: 'b', running: '3.5.33' }], '3.5.33')).toEqual({ clusterVersion: true, authEnabled: true });
    expect(versionFactsNeeded(running(undefined), '3.5.33')).toEqual({ clusterVersion: false, authEnabled: false });
    expect(versionFactsNeeded(running('3.4.23'), '9.9.9')).toEqual({ clusterVersion: false, authEnabled: false });
  });
});
