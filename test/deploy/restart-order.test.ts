import { describe, expect, it } from 'vitest';
import { caughtUp, leadershipTarget, needsPreChangeSnapshot, planRestartOrder } from '../../src/deploy/restart-order.js';
import type { VersionChangeKind } from '../../src/deploy/version-rules.js';

describe('planRestartOrder', () => {
  it.each([
    { restart: ['a', 'b', 'c'], leader: 'a', order: ['b', 'c', 'a'] },
    { restart: ['a', 'b', 'c'], leader: 'b', order: ['a', 'c', 'b'] },
    { restart: ['a', 'b', 'c'], leader: 'c', order: ['a', 'b', 'c'] },
    { restart: ['a', 'b', 'c'], leader: undefined, order: ['a', 'b', 'c'] },
    { restart: ['a', 'c'], leader: 'b', order: ['a', 'c'] },
    { restart: ['b'], leader: 'b', order: ['b'] },
    { restart: [], leader: 'a', order: [] },
    { restart: ['a', 'b', 'c', 'd', 'e'], leader: 'a', order: ['b', 'c', 'd', 'e', 'a'] },
  ])('restart $restart with leader $leader → $order', ({ restart, leader, order }) => {
    expect(planRestartOrder({ restart, leader })).toEqual(order);
  });
});

describe('leadershipTarget', () => {
  const voters = ['a', 'b', 'c'];
  it('moves nothing when the member about to restart does not lead, or no leader is known', () => {
    expect(leadershipTarget({ restarting: 'a', leader: 'b', restarted: [], healthyVoters: voters })).toBeUndefined();
    expect(leadershipTarget({ restarting: 'a', leader: undefined, restarted: ['b'], healthyVoters: voters })).toBeUndefined();
  });
  it('hands the leadership to the first already restarted healthy voter', () => {
    expect(leadershipTarget({ restarting: 'a', leader: 'a', restarted: ['c', 'b'], healthyVoters: voters })).toBe('c');
    expect(leadershipTarget({ restarting: 'a', leader: 'a', restarted: ['c', 'b'], healthyVoters: ['a', 'b'] })).toBe('b');
  });
  it('skips restarted members that are no healthy voters (a learner, one down)', () => {
    expect(leadershipTarget({ restarting: 'a', leader: 'a', restarted: ['d'], healthyVoters: voters })).toBe('b');
  });
  it('falls back to any other healthy voter when nothing was restarted yet', () => {
    expect(leadershipTarget({ restarting: 'b', leader: 'b', restarted: [], healthyVoters: voters })).toBe('a');
  });
  it('has nowhere to go in a one-member cluster', () => {
    expect(leadershipTarget({ restarting: 'a', leader: 'a', restarted: [], healthyVoters: ['a'] })).toBeUndefined();
  });
});

describe('needsPreChangeSnapshot', () => {
  const plan = (...changes: VersionChangeKind[]) => changes.map((change) => ({ version: { target: '3.5.30', change } }));
  it.each<[VersionChangeKind[], boolean]>([
    [['none', 'none', 'none'], false],
    [['install', 'install', 'install'], false],
    [['none', 'none', 'install'], false],
    [['upgrade', 'upgrade', 'upgrade'], true],
    [['none', 'upgrade', 'none'], true],
    [['downgrade', 'none', 'none'], true],
    [['patch-up', 'patch-up', 'install'], true],
    [['patch-down', 'none', 'none'], true],
    [[], false],
  ])('%j → %s', (changes, expected) => {
    expect(needsPreChangeSnapshot(plan(...changes))).toBe(expected);
  });
});

describe('caughtUp', () => {
  it('needs the applied index at or past the leader index read before the restart', () => {
    expect(caughtUp(undefined, 10)).toBe(false);
    expect(caughtUp(9, 10)).toBe(false);
    expect(caughtUp(10, 10)).toBe(true);
    expect(caughtUp(11, 10)).toBe(true);
  });
});
