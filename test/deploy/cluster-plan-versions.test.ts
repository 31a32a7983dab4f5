import { resolve } from 'node:path';
// The version side of a plan, pure: what each member runs and will run, a version change always being a
// change (and a restart), and how formatPlan shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberVersions } from '../../src/deploy/observe-versions.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import { planCluster } from '../../src/deploy/cluster-plan.js';
import type { PreparedDeploy } from '../../src/deploy/prepare.js';
import { inspectionInPlace, type PreparedFixture, preparedThreeMembers } from './prepared-fixture.js';
import { confirmTargetVersion } from '../../src/deploy/target-version.js';
import { planVersionChange } from '../../src/deploy/version-rules.js';
import { isEtcdKitError } from '../../src/errors.js';
import type { ClusterHealth } from '../../src/etcd/index.js';
import type { MemberInspection } from '../../src/remote/index.js';

let fixture: PreparedFixture;
let prepared: PreparedDeploy;

beforeAll(async () => {
  fixture = await preparedThreeMembers('3.5.33');
  prepared = fixture.prepared;
});
afterAll(async () => {
  await fixture?.cleanup();
});

/** A host where the member's bundle is in place and etcd runs (or not). */
function inspection(i: number, running = true, memberData = true, etcdVersion = '3.5.33'): MemberInspection {
  const unit = running
    ? { loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 100 + i, unitFileState: 'enabled', needDaemonReload: false }
    : { loadState: 'loaded', activeState: 'inactive', subState: 'dead', mainPid: 0, unitFileState: 'enabled', needDaemonReload: false };
  return inspectionInPlace(prepared, i, { unit, memberData, etcdVersion });
}

/** A health picture where member i reports `versions[i]` (undefined: did not answer). */
function health(...versions: (string | undefined)[]): ClusterHealth {
  return {
    healthy: true,
    verdict: versions.every((v) => v !== undefined) ? 'healthy' : 'degraded',
    leader: null,
    quorum: { votingMembers: 3, needed: 2, healthyVoters: 3 },
    members: [],
    endpoints: versions.map((version, i) => ({
      endpoint: prepared.endpoints[i]!,
      healthy: version !== undefined,
      tookMs: 1,
      ...(version === undefined
        ? {}
        : { status: { memberId: `${i}`, version, dbSizeBytes: 0, dbSizeInUseBytes: 0, leaderId: '1', raftIndex: 1, raftAppliedIndex: 1, raftTerm: 1, isLearner: false, errors: [] } }),
    })),
    alarms: [],
    tookMs: 1,
  };
}

function plan(inspections: MemberInspection[], h: ClusterHealth | undefined) {
  const observed = memberVersions(prepared.members, inspections, h);
  const change = planVersionChange({ members: observed, cluster: { authEnabled: false }, target: prepared.etcdVersion });
  return planCluster(prepared, inspections, { observed, change });
}

describe('memberVersions', () => {
  it('running from etcd’s own status; on disk only for a member that has data and does not answer', () => {
    const insp = [inspection(0), inspection(1, false, true, '3.5.30'), inspection(2, false, false, '3.4.23')];
    expect(memberVersions(prepared.members, insp, health('3.5.30', undefined, undefined))).toEqual([
      { name: 'etcd01', running: '3.5.30' },
      { name: 'etcd02', onDisk: '3.5.30' },
      // a binary without data is a leftover, not a member: a new install
      { name: 'etcd03' },
    ]);
    expect(memberVersions(prepared.members, insp, undefined)[1]).toEqual({ name: 'etcd02', onDisk: '3.5.30' });
  });
});

describe('planCluster: versions', () => {
  it('every member on the target with nothing to change: no changes', () => {
    const { plan: p } = plan([0, 1, 2].map((i) => inspection(i)), health('3.5.33', '3.5.33', '3.5.33'));
    expect(p.noChanges).toBe(true);
    expect(p.etcdVersion).toBe('3.5.33');
    expect(p.members.map((m) => m.version)).toEqual([0, 1, 2].map(() => ({ running: '3.5.33', target: '3.5.33', change: 'none' })));
    expect(formatPlan(p)).toBe('No changes: every member is up to date and running etcd 3.5.33.');
  });

  it('a member still running an older release than the binary in place is restarted, never "no changes"', () => {
    // the binary on disk is the target's already (a deploy cut short before its restart)
    const { plan: p, inspected } = plan([0, 1, 2].map((i) => inspection(i)), health('3.5.30', '3.5.33', '3.5.33'));
    expect(p.noChanges).toBe(false);
    expect(p.members.map((m) => [m.service, m.version.change])).toEqual([
      ['restart', 'patch-up'],
      ['none', 'none'],
      ['none', 'none'],
    ]);
    expect(inspected[0]!.needsRestart).toBe(true);
    expect(formatPlan(p).split('\n')).toEqual([
      'Update the running cluster:',
      `  1. snapshot: checked snapshot into ${resolve('etcd-kit-backups')} — an etcd version changes: the data is kept on the controller first`,
      '  2. patch-up etcd01: 3.5.30 → 3.5.33 — still runs 3.5.30 while 3.5.33 is in place; a follower; healthy and caught up before the next',
      'Details:',
      '  etcd 3.5.33:',
      '    etcd01: 3.5.30 → 3.5.33 (patch-up)',
      '    etcd02: 3.5.33 (no change)',
      '    etcd03: 3.5.33 (no change)',
      '  etcd01 (10.0.0.11): no file changes',
      '  etcd02 (10.0.0.12): up to date',
      '  etcd03 (10.0.0.13): up to date',
    ]);
  });

  it('a stopped member is shown with its on-disk version', () => {
    const { plan: p } = plan([inspection(0), inspection(1), inspection(2, false, true, '3.5.30')], health('3.5.33', '3.5.33', undefined));
    expect(p.members[2]!.version).toEqual({ onDisk: '3.5.30', target: '3.5.33', change: 'patch-up' });
    expect(p.members[2]!.service).toBe('start');
    expect(formatPlan(p)).toContain('    etcd03: 3.5.30 (on disk) → 3.5.33 (patch-up)');
  });
});

describe('confirmTargetVersion: the binary to install already runs on a host under another version', () => {
  /** Member 0's host on `version`, the target's etcd bytes at `path` (relative to binDir). */
  const hostWith = (path: string, version: string, sha256: string) => {
    const insp = [0, 1, 2].map((i) => inspection(i));
    const facts = insp[0]!.facts;
    insp[0] = {
      ...insp[0]!,
      facts: { ...facts, etcdVersion: version, links: new Map([['/opt/etcd/bin/current', version]]), hashes: new Map([[`/opt/etcd/bin/${path}`, sha256]]) },
    };
    return insp;
  };
  const sha = () => prepared.members[0]!.steady.files.find((f) => f.role === 'etcd')!.sha256;
  const refusal = (insp: MemberInspection[]) => {
    try {
      confirmTargetVersion(prepared.members, insp, '3.5.33');
      return undefined;
    } catch (err) {
      return err;
    }
  };

  it('refuses when those bytes are what current names (or a flat install has) and report another version', () => {
    const err = refusal(hostWith('3.5.30/etcd', '3.5.30', sha()));
    expect(isEtcdKitError(err, 'BUNDLE_INVALID') && err.member === 'etcd01' && err.details).toEqual({ expected: '3.5.33', reported: '3.5.30' });
    expect(isEtcdKitError(refusal(hostWith('etcd', '3.5.30', sha())), 'BUNDLE_INVALID')).toBe(true);
  });

  it('accepts other bytes, or the same bytes reporting the target', () => {
    expect(refusal(hostWith('3.5.30/etcd', '3.5.30', 'f'.repeat(64)))).toBeUndefined();
    expect(refusal(hostWith('3.5.33/etcd', '3.5.33', sha()))).toBeUndefined();
    // bytes in a version directory current does not name were checked when placed: not this check's business
    expect(refusal(hostWith('3.5.29/etcd', '3.5.30', sha()))).toBeUndefined();
  });
});
