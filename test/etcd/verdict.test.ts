// The health verdict (healthy / degraded / unavailable) on constructed pictures: the pure function itself,
// and summarizeHealth that sets it from one check's raw per-endpoint answers.
import { describe, expect, it } from 'vitest';
import { EtcdKitError } from '../../src/errors.js';
import { healthVerdict, summarizeHealth } from '../../src/etcd/health.js';
import type { EndpointProbe } from '../../src/etcd/probe.js';
import type { EndpointHealth, EtcdMember } from '../../src/etcd/types.js';

const url = (i: number) => `https://10.0.0.1${i}:2379`;

function member(i: number, isLearner = false): EtcdMember {
  return { id: `m${i}`, name: `etcd0${i}`, peerUrls: [`https://10.0.0.1${i}:2380`], clientUrls: [url(i)], isLearner };
}

function status(i: number, isLearner = false) {
  return { memberId: `m${i}`, version: '3.6.14', dbSizeBytes: 1, dbSizeInUseBytes: 1, leaderId: 'm1', raftIndex: 1, raftAppliedIndex: 1, raftTerm: 2, isLearner, errors: [] };
}

const up = (i: number, isLearner = false): EndpointProbe => ({ endpoint: url(i), read: { ok: true }, tookMs: 2, status: status(i, isLearner) });
const down = (i: number): EndpointProbe => ({
  endpoint: url(i),
  read: { ok: false, error: new EtcdKitError('ETCD_UNREACHABLE', `${url(i)}: connection refused`), learnerRefused: false },
  tookMs: 1,
});
/** A learner answers its status but refuses linearizable reads: that is a learner that is up. */
const learnerUp = (i: number): EndpointProbe => ({
  endpoint: url(i),
  read: { ok: false, error: new EtcdKitError('ETCD_REQUEST_FAILED', 'rpc not supported for learner'), learnerRefused: true },
  tookMs: 1,
  status: status(i, true),
});

const e = (i: number, healthy: boolean): EndpointHealth => ({ endpoint: url(i), healthy, tookMs: 1 });

describe('healthVerdict', () => {
  it('healthy: quorum and every endpoint and every voter answered', () => {
    expect(healthVerdict({ healthy: true, quorum: { votingMembers: 3, needed: 2, healthyVoters: 3 }, endpoints: [e(1, true), e(2, true), e(3, true)] })).toBe('healthy');
  });
  it('degraded: quorum, one endpoint down', () => {
    expect(healthVerdict({ healthy: true, quorum: { votingMembers: 3, needed: 2, healthyVoters: 2 }, endpoints: [e(1, true), e(2, false), e(3, true)] })).toBe('degraded');
  });
  it('degraded: every endpoint checked answered, but a voting member none of them reaches did not', () => {
    expect(healthVerdict({ healthy: true, quorum: { votingMembers: 3, needed: 2, healthyVoters: 2 }, endpoints: [e(1, true), e(2, true)] })).toBe('degraded');
  });
  it('unavailable: no quorum, whatever the endpoints say', () => {
    expect(healthVerdict({ healthy: false, quorum: { votingMembers: 3, needed: 2, healthyVoters: 1 }, endpoints: [e(1, true), e(2, false), e(3, false)] })).toBe('unavailable');
    expect(healthVerdict({ healthy: false, quorum: { votingMembers: 1, needed: 1, healthyVoters: 0 }, endpoints: [] })).toBe('unavailable');
  });
  it('a single-member cluster that answers is healthy', () => {
    expect(healthVerdict({ healthy: true, quorum: { votingMembers: 1, needed: 1, healthyVoters: 1 }, endpoints: [e(1, true)] })).toBe('healthy');
  });
});

describe('summarizeHealth sets the verdict from one check', () => {
  const three = [member(1), member(2), member(3)];

  it('all three answer: healthy', () => {
    const h = summarizeHealth({ probes: [up(1), up(2), up(3)], members: three }, 5);
    expect([h.healthy, h.verdict]).toEqual([true, 'healthy']);
  });
  it('one of three down: still healthy (quorum) but the verdict is degraded', () => {
    const h = summarizeHealth({ probes: [up(1), down(2), up(3)], members: three }, 5);
    expect([h.healthy, h.verdict, h.quorum.healthyVoters]).toEqual([true, 'degraded', 2]);
  });
  it('two of three down: unavailable, healthy false', () => {
    const h = summarizeHealth({ probes: [down(1), down(2), up(3)].map((p, i) => (i < 2 ? p : { ...p, read: { ok: false as const, error: new EtcdKitError('ETCD_TIMEOUT', 'no answer within 2000 ms'), learnerRefused: false } })), members: three }, 5);
    expect([h.healthy, h.verdict]).toEqual([false, 'unavailable']);
  });
  it('a learner that is up does not make a cluster degraded; one that is down does', () => {
    const four = [...three, member(4, true)];
    expect(summarizeHealth({ probes: [up(1), up(2), up(3), learnerUp(4)], members: four }, 5).verdict).toBe('healthy');
    expect(summarizeHealth({ probes: [up(1), up(2), up(3), down(4)], members: four }, 5).verdict).toBe('degraded');
  });
  it('only one endpoint of a three-member cluster checked: degraded, since two members were not seen', () => {
    const h = summarizeHealth({ probes: [up(1)], members: three }, 5);
    expect([h.healthy, h.verdict]).toEqual([true, 'degraded']);
  });
});
