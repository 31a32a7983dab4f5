// What each member of a running cluster is (up, down but intact, lost: replace), when a replacement is
// refused, and how the plan shows it. Pure: observations in, decisions out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertReplacementsSafe,
  type ClusterObservation,
  clusterObservation,
  decideMemberStates,
  type MemberObservation,
} from '../../src/deploy/member-state.js';
import { memberVersions } from '../../src/deploy/observe-versions.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import { planCluster } from '../../src/deploy/cluster-plan.js';
import type { PreparedDeploy } from '../../src/deploy/prepare.js';
import { inspectionInPlace, type PreparedFixture, preparedThreeMembers } from './prepared-fixture.js';
import { planVersionChange } from '../../src/deploy/version-rules.js';
import type { ClusterHealth, EtcdMember } from '../../src/etcd/index.js';
import { EtcdKitError } from '../../src/errors.js';
import type { MemberInspection, UnitFacts } from '../../src/remote/index.js';
import { peerUrl } from '../../src/render/index.js';

const RAFT_LOST_0 =
  '{"level":"panic","ts":"2026-12-01T10:44:40.216272Z","logger":"raft","caller":"v3@v3.6.0/log.go:324","msg":"tocommit(8) is out of range [lastIndex(0)]. Was the raft log corrupted, truncated, or lost?"}';
const RAFT_LOST_5 = 'panic: tocommit(40) is out of range [lastIndex(5)]. Was the raft log corrupted, truncated, or lost?';

const ACTIVE: UnitFacts = { loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 100, unitFileState: 'enabled', needDaemonReload: false, restarts: 0 };
const STOPPED: UnitFacts = { ...ACTIVE, activeState: 'inactive', subState: 'dead', mainPid: 0 };
const LOOPING: UnitFacts = { ...ACTIVE, activeState: 'activating', subState: 'auto-restart', mainPid: 0, restarts: 4 };

const url = (n: number) => `https://10.0.0.1${n}:2380`;
const listed = (n: number, extra: Partial<EtcdMember> = {}): EtcdMember => ({
  id: `id${n}`,
  name: `etcd0${n}`,
  peerUrls: [url(n)],
  clientUrls: [`https://10.0.0.1${n}:2379`],
  isLearner: false,
  ...extra,
});

function obs(n: number, answers: boolean, memberData: boolean, unit: UnitFacts = ACTIVE, etcdFatal: string[] = []): MemberObservation {
  return { name: `etcd0${n}`, peerUrl: url(n), answers, facts: { memberData, unit, etcdFatal } };
}

function cluster(members: EtcdMember[], answered: string[], quorum = true): ClusterObservation {
  return { quorum, members, answeredIds: new Set(answered) };
}

const three = cluster([listed(1), listed(2), listed(3)], ['id1', 'id2']);

describe('decideMemberStates', () => {
  it('a member that answers is up, whatever its host says', () => {
    expect(decideMemberStates([obs(1, true, true), obs(2, true, false, LOOPING, [RAFT_LOST_0])], three)).toEqual([{ kind: 'up' }, { kind: 'up' }]);
  });

  it('not answering with its data there: down, never replaced (stopped, crash-looping, partitioned)', () => {
    expect(decideMemberStates([obs(3, false, true, STOPPED)], three)).toEqual([{ kind: 'down', reason: 'down (etcd inactive/dead, data intact)', running: false }]);
    expect(decideMemberStates([obs(3, false, true, LOOPING)], three)).toEqual([
      { kind: 'down', reason: 'down (etcd activating/auto-restart, restarted 4 times, data intact)', running: false },
    ]);
    // etcd runs, the controller cannot reach it (a partition): its data is there, it is not a dead disk
    expect(decideMemberStates([obs(3, false, true, ACTIVE)], three)).toEqual([{ kind: 'down', reason: 'not answering (etcd active/running, data intact)', running: true }]);
  });

  it('an empty data dir while a quorum of the others lists the member by name: replace, by its id', () => {
    expect(decideMemberStates([obs(3, false, false, STOPPED)], three)).toEqual([{ kind: 'replace', memberId: 'id3', reason: 'data dir empty' }]);
    expect(decideMemberStates([obs(3, false, false, LOOPING)], three)[0]).toMatchObject({ kind: 'replace', reason: 'data dir empty' });
  });

  it('etcd exits because its raft log is behind what the cluster committed: replace, saying which', () => {
    expect(decideMemberStates([obs(3, false, true, LOOPING, [RAFT_LOST_0])], three)).toEqual([
      { kind: 'replace', memberId: 'id3', reason: 'data dir empty (etcd exits: its raft log is empty, the cluster committed up to 8 for it)' },
    ]);
    expect(decideMemberStates([obs(3, false, true, LOOPING, ['other line', RAFT_LOST_5])], three)).toEqual([
      { kind: 'replace', memberId: 'id3', reason: 'data no longer matches the cluster (etcd exits: raft log ends at 5, the cluster committed up to 40 for it)' },
    ]);
    // other fatal lines are not evidence of lost data
    expect(decideMemberStates([obs(3, false, true, LOOPING, ['{"level":"fatal","msg":"listen tcp: address already in use"}'])], three)[0]?.kind).toBe('down');
  });

  it('never replaces without a quorum of the others, nor a member the cluster does not list (or never started)', () => {
    const noQuorum = cluster([listed(1), listed(2), listed(3)], [], false);
    expect(decideMemberStates([obs(3, false, false, STOPPED)], noQuorum)).toEqual([{ kind: 'new' }]);
    expect(decideMemberStates([obs(3, false, true, LOOPING, [RAFT_LOST_0])], noQuorum)[0]?.kind).toBe('down');
    const notListed = cluster([listed(1), listed(2)], ['id1', 'id2']);
    expect(decideMemberStates([obs(3, false, false, STOPPED)], notListed)).toEqual([{ kind: 'new' }]);
    expect(decideMemberStates([obs(3, false, true, LOOPING, [RAFT_LOST_0])], notListed)[0]?.kind).toBe('down');
    // added by an earlier join that never got to start it: no name yet, the join goes on
    const addedOnly = cluster([listed(1), listed(2), listed(3, { name: '', clientUrls: [], isLearner: true })], ['id1', 'id2']);
    expect(decideMemberStates([obs(3, false, false, STOPPED)], addedOnly)).toEqual([{ kind: 'new' }]);
  });
});

describe('assertReplacementsSafe', () => {
  const refusal = (fn: () => void): EtcdKitError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof EtcdKitError) return err;
      throw err;
    }
    throw new Error('expected a refusal');
  };
  const check = (members: MemberObservation[], c: ClusterObservation) => () => assertReplacementsSafe(members, decideMemberStates(members, c), c);

  it('one member to replace, every other answering, the others a quorum: allowed', () => {
    expect(check([obs(1, true, true), obs(2, true, true), obs(3, false, false, STOPPED)], three)).not.toThrow();
    expect(check([obs(1, true, true), obs(2, false, true, STOPPED), obs(3, true, true)], three)).not.toThrow(); // no replacement
  });

  it('two at once: refused, one member at a time', () => {
    const err = refusal(check([obs(1, true, true), obs(2, false, false, STOPPED), obs(3, false, false, STOPPED)], cluster([listed(1), listed(2), listed(3)], ['id1'])));
    expect(err.code).toBe('UNSAFE_CHANGE');
    expect(err.member).toBe('etcd02');
    expect(err.details?.['rule']).toBe('one-at-a-time');
    expect(err.message).toContain('etcd02 and etcd03');
  });

  it('another member of the spec down: refused, naming it', () => {
    const five = cluster([1, 2, 3, 4, 5].map((n) => listed(n)), ['id1', 'id2', 'id3']);
    const err = refusal(check([obs(1, true, true), obs(2, true, true), obs(3, true, true), obs(4, false, true, STOPPED), obs(5, false, false, STOPPED)], five));
    expect(err.code).toBe('UNSAFE_CHANGE');
    expect(err.member).toBe('etcd05');
    expect(err.details).toMatchObject({ rule: 'others-healthy', unhealthy: ['etcd04'] });
    expect(err.message).toContain('while etcd04 does not answer');
  });

  it('the others without a quorum of the voting members (members the spec lacks count): refused', () => {
    // five voters, two of them outside the spec and silent: the two healthy others are no quorum of five
    const c = cluster([1, 2, 3, 4, 5].map((n) => listed(n)), ['id1', 'id2']);
    const err = refusal(check([obs(1, true, true), obs(2, true, true), obs(3, false, false, STOPPED)], c));
    expect(err.code).toBe('UNSAFE_CHANGE');
    expect(err.details).toMatchObject({ rule: 'quorum', votingMembers: 5, needed: 3, healthyOthers: 2 });
    // a learner costs no quorum: its removal needs no vote of its own
    const smallLearner = cluster([listed(1), listed(2), listed(3, { isLearner: true })], ['id1', 'id2']);
    expect(check([obs(1, true, true), obs(2, true, true), obs(3, false, false, STOPPED)], smallLearner)).not.toThrow();
  });
});

describe('clusterObservation', () => {
  it('quorum, members and the ids that answered, from one health check', () => {
    expect(clusterObservation(undefined)).toEqual({ quorum: false, members: [], answeredIds: new Set() });
  });
});

// planCluster / formatPlan with a live health check, on a prepared 3-member spec.
let fixture: PreparedFixture;
let prepared: PreparedDeploy;

beforeAll(async () => {
  fixture = await preparedThreeMembers('3.6.14');
  prepared = fixture.prepared;
});
afterAll(async () => {
  await fixture?.cleanup();
});

function inspection(i: number, unit: UnitFacts, memberData = true, etcdFatal: string[] = []): MemberInspection {
  return inspectionInPlace(prepared, i, { unit, memberData, etcdVersion: '3.6.14', etcdFatal });
}

/** A health check where the members in `answering` (0-based) answered; the list has all three. */
function health(answering: number[]): ClusterHealth {
  const members = prepared.members.map((m, i) => ({ id: `id${i + 1}`, name: m.spec.name, peerUrls: [peerUrl(m.spec.cluster)], clientUrls: [prepared.endpoints[i]!], isLearner: false }));
  return {
    healthy: answering.length >= 2,
    verdict: answering.length === 3 ? 'healthy' : answering.length >= 2 ? 'degraded' : 'unavailable',
    leader: null,
    quorum: { votingMembers: 3, needed: 2, healthyVoters: answering.length },
    members,
    endpoints: prepared.endpoints.map((endpoint, i) => ({
      endpoint,
      healthy: answering.includes(i),
      tookMs: 1,
      ...(answering.includes(i)
        ? { status: { memberId: `id${i + 1}`, version: '3.6.14', dbSizeBytes: 0, dbSizeInUseBytes: 0, leaderId: 'id1', raftIndex: 1, raftAppliedIndex: 1, raftTerm: 1, isLearner: false, errors: [] } }
        : {}),
    })),
    alarms: [],
    tookMs: 1,
  };
}

function plan(inspections: MemberInspection[], h: ClusterHealth | undefined, live = true) {
  const observed = memberVersions(prepared.members, inspections, h);
  const change = planVersionChange({ members: observed, cluster: { authEnabled: false }, target: prepared.etcdVersion });
  return planCluster(prepared, inspections, { observed, change }, live ? { health: h } : undefined);
}

describe('planCluster with the cluster observed', () => {
  it('everything answering: no changes, as before', () => {
    const { plan: p } = plan([0, 1, 2].map((i) => inspection(i, ACTIVE)), health([0, 1, 2]));
    expect(p.noChanges).toBe(true);
    expect(p.members.map((m) => m.reason)).toEqual([undefined, undefined, undefined]);
  });

  it('a crash-looping member whose raft log is gone: replace etcd03 (was "No changes" before)', () => {
    const insp = [inspection(0, ACTIVE), inspection(1, ACTIVE), inspection(2, LOOPING, true, [RAFT_LOST_0])];
    // without the live picture only the unit is judged: waiting to restart after a crash is not running
    expect(plan(insp, health([0, 1]), false).plan.members[2]!.service).toBe('start');
    const { plan: p, inspected } = plan(insp, health([0, 1]));
    expect(p.noChanges).toBe(false);
    expect(p.members.map((m) => m.service)).toEqual(['none', 'none', 'replace']);
    expect(inspected[2]!.state).toEqual({ kind: 'replace', memberId: 'id3', reason: expect.stringMatching(/^data dir empty/) });
    const text = formatPlan(p).split('\n');
    expect(text.slice(0, 2)).toEqual([
      'Update the running cluster:',
      '  1. replace etcd03: stop, member remove, data dir set aside, add as a learner, start, promote — data dir empty (etcd exits: its raft log is empty, the cluster committed up to 8 for it)',
    ]);
    expect(p.operations).toEqual([{ kind: 'replace', member: 'etcd03', summary: expect.any(String), reason: expect.stringMatching(/^data dir empty/) }]);
    expect(formatPlan(p)).not.toContain('No changes');
  });

  it('a member stopped with its data: start, with the reason; a crash loop with data: start, never "up to date"', () => {
    const { plan: p } = plan([inspection(0, ACTIVE), inspection(1, STOPPED), inspection(2, ACTIVE)], health([0, 2]));
    expect(p.noChanges).toBe(false);
    expect(p.members.map((m) => [m.service, m.reason])).toEqual([
      ['none', undefined],
      ['start', 'down (etcd inactive/dead, data intact)'],
      ['none', undefined],
    ]);
    expect(formatPlan(p)).toContain('\n  1. start etcd02 — down (etcd inactive/dead, data intact)\n');
    const looping = plan([inspection(0, ACTIVE), inspection(1, ACTIVE), inspection(2, LOOPING)], health([0, 1])).plan;
    expect(looping.noChanges).toBe(false);
    expect(looping.members[2]).toMatchObject({ service: 'start', reason: 'down (etcd activating/auto-restart, restarted 4 times, data intact)' });
    expect(formatPlan(looping)).not.toMatch(/etcd03 \(10\.0\.0\.13\): up to date/);
  });

  it('a join cut short (a learner listed that never started, its env file written) joins again, to be promoted', () => {
    const h = health([0, 1]);
    const learner = { ...h, members: h.members.map((m, i) => (i === 2 ? { ...m, name: '', isLearner: true } : m)) };
    const insp = [inspection(0, ACTIVE), inspection(1, ACTIVE), inspection(2, LOOPING, false)];
    const { plan: p } = plan(insp, learner);
    expect(p.members.map((m) => [m.service, m.state])).toEqual([
      ['none', 'up'],
      ['none', 'up'],
      ['join', 'new'],
    ]);
    expect(p.operations.map((o) => `${o.kind} ${o.member}`)).toEqual(['join etcd03']);
    // without a quorum the membership is not trusted: the host's env file decides (it has one: start)
    expect(plan(insp, { ...learner, healthy: false }).plan.members[2]!.service).toBe('start');
    // a learner that runs and answers (systemd started it after the failed join) is promoted, never left as is
    const up = { ...health([0, 1, 2]), members: learner.members };
    const running = plan([inspection(0, ACTIVE), inspection(1, ACTIVE), inspection(2, ACTIVE)], up).plan;
    expect(running.noChanges).toBe(false);
    expect(running.members[2]).toMatchObject({ service: 'join', reason: expect.stringMatching(/^a learner of the cluster/) });
    // down with its data (stopped between its start and its promotion): the same
    expect(plan([inspection(0, ACTIVE), inspection(1, ACTIVE), inspection(2, STOPPED)], learner).plan.members[2]!.service).toBe('join');
  });

  it('running but not answering: restarted — unless its host firewall blocks the ports, then only those are opened', () => {
    const hung = plan([inspection(0, ACTIVE), inspection(1, ACTIVE), inspection(2, ACTIVE)], health([0, 1])).plan;
    expect(hung.members[2]).toMatchObject({ service: 'restart', state: 'down', reason: 'not answering (etcd active/running, data intact)' });
    expect(hung.operations.map((o) => `${o.kind} ${o.member}`)).toEqual(['restart etcd03']);
    const blocked = inspection(2, ACTIVE);
    const walled = plan([inspection(0, ACTIVE), inspection(1, ACTIVE), { ...blocked, pending: { ...blocked.pending, firewallOpens: [2379, 2380] } }], health([0, 1])).plan;
    expect(walled.members[2]).toMatchObject({ service: 'start', reason: expect.stringMatching(/firewall blocks etcd's ports: opened$/) });
  });

  it('a replacement while another member is down is refused by the plan itself (nothing changed yet)', () => {
    const insp = [inspection(0, ACTIVE), inspection(1, STOPPED), inspection(2, STOPPED, false)];
    // 2 of 3 down: no quorum, so the membership is not trusted and nothing is replaced; the plan starts both
    expect(plan(insp, health([0])).plan.members.map((m) => m.service)).toEqual(['none', 'start', 'start']);
    try {
      // a picture with quorum (as with a fourth voter answering) where etcd02 is down and etcd03 wiped
      plan([inspection(0, ACTIVE), inspection(1, STOPPED), inspection(2, STOPPED, false)], { ...health([0]), healthy: true });
      throw new Error('expected UNSAFE_CHANGE');
    } catch (err) {
      expect(err).toBeInstanceOf(EtcdKitError);
      expect((err as EtcdKitError).code).toBe('UNSAFE_CHANGE');
      expect((err as EtcdKitError).message).toContain('while etcd02 does not answer');
    }
  });
});

describe('planCluster: a member moved to another host', () => {
  /** A host with nothing installed yet: every file missing, no unit, no data. */
  function fresh(i: number): MemberInspection {
    const base = inspection(i, { ...STOPPED, loadState: 'not-found', unitFileState: '' }, false);
    return { ...base, files: base.files.map(({ hostContent: _none, ...f }) => ({ ...f, status: 'missing' as const, actualSha256: null })) };
  }
  /** etcd01/02 answer; the cluster lists etcd03 on its old host 10.0.0.19 (the spec has it on 10.0.0.13). */
  function movedHealth(answering = [0, 1]): ClusterHealth {
    const h = health(answering);
    return { ...h, members: h.members.map((m) => (m.name === 'etcd03' ? { ...m, peerUrls: ['https://10.0.0.19:2380'], clientUrls: ['https://10.0.0.19:2379'] } : m)) };
  }

  it('plans a move with its reason (a join that left the old member behind before), and formatPlan shows it', () => {
    const insp = [inspection(0, ACTIVE), inspection(1, ACTIVE), fresh(2)];
    // the cluster does not list etcd03 at all: a plain join
    const h = health([0, 1]);
    expect(plan(insp, { ...h, members: h.members.slice(0, 2) }).plan.members[2]!.service).toBe('join');
    const { plan: p, inspected } = plan(insp, movedHealth());
    expect(p.noChanges).toBe(false);
    expect(p.members.map((m) => [m.service, m.reason])).toEqual([
      ['none', undefined],
      ['none', undefined],
      ['move', '10.0.0.19 → 10.0.0.13'],
    ]);
    expect(inspected[2]!.state).toEqual({ kind: 'move', memberId: 'id3', from: '10.0.0.19', reason: '10.0.0.19 → 10.0.0.13' });
    const text = formatPlan(p).split('\n');
    expect(text.slice(0, 2)).toEqual([
      'Update the running cluster:',
      '  1. move etcd03: 10.0.0.19 → 10.0.0.13: the old host cleaned when reachable (etcd stopped and disabled, files removed, data dir moved aside), member remove, then join on 10.0.0.13 (learner, promoted once caught up) — the spec puts it on another host than the cluster lists',
    ]);
    expect(p.operations.map((o) => `${o.kind} ${o.member}`)).toEqual(['move etcd03']);
    expect(text).toContain('  etcd03 (10.0.0.13):');
    expect(text.some((l) => /^ {2}\d+\. join /.test(l))).toBe(false);
  });

  it('a move while another member is down is refused by the plan itself, before any host changes', () => {
    try {
      plan([inspection(0, ACTIVE), inspection(1, STOPPED), fresh(2)], { ...movedHealth([0]), healthy: true });
      throw new Error('expected UNSAFE_CHANGE');
    } catch (err) {
      expect(err).toBeInstanceOf(EtcdKitError);
      expect((err as EtcdKitError).code).toBe('UNSAFE_CHANGE');
      expect((err as EtcdKitError).member).toBe('etcd03');
      expect((err as EtcdKitError).message).toBe('refusing to move etcd03 (10.0.0.19 → 10.0.0.13) while etcd02 does not answer: fix it first');
    }
  });
});
