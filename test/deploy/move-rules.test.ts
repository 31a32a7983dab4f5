// When a spec member is a move (the cluster lists its name on another host) and when moving it now is
// refused. Pure: observations in, decisions out (the plan's side is in member-state.test.ts).
import { describe, expect, it } from 'vitest';
import { type ClusterObservation, decideMemberStates, type MemberObservation, type MemberState } from '../../src/deploy/member-state.js';
import { assertMovesSafe, decideMoves, peerHost } from '../../src/deploy/move-rules.js';
import type { EtcdMember } from '../../src/etcd/index.js';
import { EtcdKitError } from '../../src/errors.js';
import type { UnitFacts } from '../../src/remote/index.js';

const ACTIVE: UnitFacts = { loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 100, unitFileState: 'enabled', needDaemonReload: false, restarts: 0 };
const NONE: UnitFacts = { loadState: 'not-found', activeState: 'inactive', subState: 'dead', mainPid: 0, unitFileState: '', needDaemonReload: false, restarts: 0 };
const STOPPED: UnitFacts = { ...ACTIVE, activeState: 'inactive', subState: 'dead', mainPid: 0 };

const peer = (host: number) => `https://10.0.0.${host}:2380`;
/** A listed member `etcd0<n>` on host 10.0.0.<host> (default 10 + n). */
const listed = (n: number, extra: Partial<EtcdMember> = {}, host = 10 + n): EtcdMember => ({
  id: `id${n}`,
  name: `etcd0${n}`,
  peerUrls: [peer(host)],
  clientUrls: [`https://10.0.0.${host}:2379`],
  isLearner: false,
  ...extra,
});

/** Spec member `etcd0<n>` on host 10.0.0.<host> (default 10 + n). */
function obs(n: number, answers: boolean, opts: { host?: number; memberData?: boolean; unit?: UnitFacts; name?: string } = {}): MemberObservation {
  return {
    name: opts.name ?? `etcd0${n}`,
    peerUrl: peer(opts.host ?? 10 + n),
    answers,
    facts: { memberData: opts.memberData ?? answers, unit: opts.unit ?? (answers ? ACTIVE : NONE), etcdFatal: [] },
  };
}

function cluster(members: EtcdMember[], answered: string[], quorum = true): ClusterObservation {
  return { quorum, members, answeredIds: new Set(answered) };
}

/** The states a plan computes: member-state's decision, then the moves. */
function states(members: MemberObservation[], c: ClusterObservation): MemberState[] {
  return decideMoves(members, decideMemberStates(members, c), c);
}

// etcd03 ran on 10.0.0.13; the spec now puts it on 10.0.0.14, a fresh host (no etcd, no data).
const three = cluster([listed(1), listed(2), listed(3)], ['id1', 'id2']);
const moved = [obs(1, true), obs(2, true), obs(3, false, { host: 14 })];
const MOVE_03: MemberState = { kind: 'move', memberId: 'id3', from: '10.0.0.13', reason: '10.0.0.13 → 10.0.0.14' };

describe('peerHost', () => {
  it('the host of a peer URL, IPv6 brackets dropped; anything unparsable as it is', () => {
    expect(peerHost('https://10.0.0.13:2380')).toBe('10.0.0.13');
    expect(peerHost('https://[fd00::13]:2380')).toBe('fd00::13');
    expect(peerHost('https://etcd03.example:2380')).toBe('etcd03.example');
    expect(peerHost('not a url')).toBe('not a url');
  });
});

describe('decideMoves', () => {
  it('the cluster lists the name on another host, nobody at the new peer URL, the new host fresh: move, by the old id', () => {
    expect(states(moved, three)).toEqual([{ kind: 'up' }, { kind: 'up' }, MOVE_03]);
    // whether the old member answers (host up) or not (powered off) does not matter to the decision
    expect(states(moved, cluster([listed(1), listed(2), listed(3)], ['id1', 'id2', 'id3']))[2]).toEqual(MOVE_03);
    // a stopped unit left by an earlier install (no data) is still a fresh host
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, unit: STOPPED })], three)[2]).toEqual(MOVE_03);
    // a learner of that name (a move's old member can be one) moves too
    expect(states(moved, cluster([listed(1), listed(2), listed(3, { isLearner: true })], ['id1', 'id2']))[2]).toMatchObject({ kind: 'move', memberId: 'id3' });
  });

  it('a moved member whose new host already runs etcd as a member of this cluster: not a move', () => {
    // its endpoint answers: it is a member already
    expect(states([obs(1, true), obs(2, true), obs(3, true, { host: 14 })], three)[2]).toEqual({ kind: 'up' });
    // the cluster lists a member at the new peer URL (here etcd04's host): whatever it is, not a move
    const withFour = cluster([listed(1), listed(2), listed(3), listed(4)], ['id1', 'id2', 'id4']);
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, memberData: true, unit: STOPPED })], withFour)[2]?.kind).toBe('down');
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, memberData: false })], withFour)[2]?.kind).not.toBe('move');
    // etcd runs on the new host (not answering yet), or it has a data dir: not a fresh host to join
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, unit: ACTIVE })], three)[2]).toEqual({ kind: 'new' });
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, unit: { ...NONE, activeState: 'activating' } })], three)[2]).toEqual({ kind: 'new' });
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, memberData: true, unit: STOPPED })], three)[2]?.kind).toBe('down');
  });

  it('never without a member list to trust, nor for a name the cluster does not list (a plain join)', () => {
    expect(states(moved, cluster([listed(1), listed(2), listed(3)], [], false))[2]).toEqual({ kind: 'new' });
    expect(states(moved, cluster([listed(1), listed(2)], ['id1', 'id2']))[2]).toEqual({ kind: 'new' });
    // an entry added by a join that never started has no name yet: not "etcd03 on another host"
    expect(states(moved, cluster([listed(1), listed(2), listed(3, { name: '' })], ['id1', 'id2']))[2]).toEqual({ kind: 'new' });
    // names are compared exactly
    expect(states([obs(1, true), obs(2, true), obs(3, false, { host: 14, name: 'ETCD03' })], three)[2]).toEqual({ kind: 'new' });
  });

  it('a re-run after a move cut short converges: old member gone → new (join); joined → up', () => {
    // removed, the new one not added yet
    expect(states(moved, cluster([listed(1), listed(2)], ['id1', 'id2']))[2]).toEqual({ kind: 'new' });
    // added as a learner at the new URL, never started: the join goes on
    const added = cluster([listed(1), listed(2), listed(9, { name: '', clientUrls: [], isLearner: true }, 14)], ['id1', 'id2']);
    expect(states(moved, added)[2]).toEqual({ kind: 'new' });
    // joined and answering
    const joined = cluster([listed(1), listed(2), listed(9, { name: 'etcd03' }, 14)], ['id1', 'id2', 'id9']);
    expect(states([obs(1, true), obs(2, true), obs(3, true, { host: 14 })], joined)[2]).toEqual({ kind: 'up' });
  });

  it('only "new" states are refined: up, down and replace stay what they are', () => {
    const given: MemberState[] = [{ kind: 'up' }, { kind: 'down', reason: 'x', running: false }, { kind: 'replace', memberId: 'id3', reason: 'y' }];
    const c = cluster([listed(1, {}, 21), listed(2, {}, 22), listed(3, {}, 23)], ['id1']);
    expect(decideMoves([obs(1, false), obs(2, false), obs(3, false)], given, c)).toEqual(given);
  });
});

describe('assertMovesSafe', () => {
  const refusal = (fn: () => void): EtcdKitError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof EtcdKitError) return err;
      throw err;
    }
    throw new Error('expected a refusal');
  };
  const check = (members: MemberObservation[], c: ClusterObservation) => () => assertMovesSafe(members, states(members, c), c);

  it('one move, every other member answering, the others a quorum with the old one out: allowed', () => {
    expect(check(moved, three)).not.toThrow();
    expect(check(moved, cluster([listed(1), listed(2), listed(3)], ['id1', 'id2', 'id3']))).not.toThrow(); // old host up
    // nothing moves: nothing to refuse here, even with a member down (the replace rules cover the rest)
    expect(check([obs(1, true), obs(2, false, { memberData: true, unit: STOPPED }), obs(3, true)], three)).not.toThrow();
  });

  it('two moves, or a move and a replacement, at once: refused, one member at a time', () => {
    const twoMoved = [obs(1, true), obs(2, false, { host: 15 }), obs(3, false, { host: 14 })];
    const two = refusal(check(twoMoved, cluster([listed(1), listed(2), listed(3), listed(4, {}, 16), listed(5, {}, 17)], ['id1', 'id4', 'id5'])));
    expect([two.code, two.member, two.details?.['rule']]).toEqual(['UNSAFE_CHANGE', 'etcd02', 'one-at-a-time']);
    expect(two.message).toContain('move etcd02 and move etcd03 at once');
    // etcd02 lost its data dir (replace) while etcd03 moves
    const both = refusal(check([obs(1, true), obs(2, false, { memberData: false, unit: STOPPED }), obs(3, false, { host: 14 })], three));
    expect([both.code, both.member, both.details?.['rule']]).toEqual(['UNSAFE_CHANGE', 'etcd03', 'one-at-a-time']);
    expect(both.details?.['changes']).toEqual(['replace etcd02', 'move etcd03']);
  });

  it('another member of the spec not answering (down, or a new one still to join): refused, naming it', () => {
    const down = refusal(check([obs(1, true), obs(2, false, { memberData: true, unit: STOPPED }), obs(3, false, { host: 14 })], cluster([listed(1), listed(2), listed(3)], ['id1'])));
    expect([down.code, down.member]).toEqual(['UNSAFE_CHANGE', 'etcd03']);
    expect(down.details).toMatchObject({ rule: 'others-healthy', unhealthy: ['etcd02'] });
    expect(down.message).toBe('refusing to move etcd03 (10.0.0.13 → 10.0.0.14) while etcd02 does not answer: fix it first');
    const join = refusal(check([...moved, obs(4, false)], cluster([listed(1), listed(2), listed(3)], ['id1', 'id2'])));
    expect(join.details).toMatchObject({ rule: 'others-healthy', unhealthy: ['etcd04'] });
  });

  it('the others without a quorum of the voting members with the old one out: refused; an old learner costs no vote', () => {
    // five voters, two outside the spec and silent: the two others answering are no quorum of five
    const five = cluster([listed(1), listed(2), listed(3), listed(4, {}, 16), listed(5, {}, 17)], ['id1', 'id2', 'id3']);
    const err = refusal(check(moved, five));
    expect([err.code, err.member]).toEqual(['UNSAFE_CHANGE', 'etcd03']);
    expect(err.details).toMatchObject({ rule: 'quorum', votingMembers: 5, needed: 3, healthyOthers: 2 });
    // the old member answering does not count for it: it is the one going out
    expect(err.message).toContain('2 of 5 voting members answering, a quorum needs 3');
    const learner = cluster([listed(1), listed(2), listed(3, { isLearner: true })], ['id1', 'id2']);
    expect(check(moved, learner)).not.toThrow();
  });

  it('the cluster lists the name twice: refused (which one moved is not known)', () => {
    const twice = cluster([listed(1), listed(2), listed(3), listed(7, { name: 'etcd03' }, 17)], ['id1', 'id2', 'id7']);
    const err = refusal(check(moved, twice));
    expect(err.details).toMatchObject({ rule: 'ambiguous-name', memberIds: ['id3', 'id7'] });
  });

  it("the old address is another spec member's (a swap): refused, cleaning it would stop that member", () => {
    // etcd03 goes to .14, etcd04 to .13 (where the old etcd03 answers, so etcd04 looks "up")
    const swap = [obs(1, true), obs(2, true), obs(3, false, { host: 14 }), obs(4, true, { host: 13 })];
    const err = refusal(check(swap, three));
    expect([err.code, err.member]).toEqual(['UNSAFE_CHANGE', 'etcd03']);
    expect(err.details).toMatchObject({ rule: 'old-address-in-spec', members: ['etcd04'] });
  });
});
