// One health check asks for the member list once: of the likely endpoint, and of another one only when the
// likely one fails or stays silent (a hedge), never just because another endpoint answered first.
import type { Etcd3 } from 'etcd3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ProbeTarget, probeEndpoints } from '../../src/etcd/probe.js';

/** When each call of a fake endpoint settles, in ms after the check starts; `hang` never settles. */
interface Script {
  status: number | 'hang' | 'refuse';
  read: number | 'hang' | 'refuse';
  members: number | 'hang' | 'refuse';
}

const MEMBERS = [{ ID: '1', name: 'etcd01', peerURLs: ['https://10.0.0.11:2380'], clientURLs: [], isLearner: false }];
const STATUS = {
  header: { member_id: '1' },
  version: '3.4.23',
  dbSize: '20480',
  dbSizeInUse: '16384',
  leader: '1',
  raftIndex: '8',
  raftAppliedIndex: '8',
  raftTerm: '2',
  isLearner: false,
  errors: [],
};

/** A fake single-endpoint etcd3 client that follows `script` and records when the member list was asked. */
function fakeEndpoint(endpoint: string, script: Script, askedAt: number[]): ProbeTarget {
  const settle = <T>(at: Script[keyof Script], value: T): Promise<T> => {
    if (at === 'hang') return new Promise<T>(() => undefined);
    if (at === 'refuse') return new Promise<T>((_, reject) => setTimeout(() => reject(new Error('connect ECONNREFUSED')), 1));
    return new Promise<T>((resolve) => setTimeout(() => resolve(value), at));
  };
  const client = {
    maintenance: { status: () => settle(script.status, STATUS) },
    get: () => ({ options: () => ({ exec: () => settle(script.read, { kvs: [] }) }) }),
    cluster: {
      memberList: () => {
        askedAt.push(performance.now());
        return settle(script.members, { members: MEMBERS });
      },
    },
  };
  return { endpoint, client: client as unknown as Etcd3 };
}

const ok = (at: number): Script => ({ status: at, read: at, members: at });
const hung: Script = { status: 'hang', read: 'hang', members: 'hang' };
const refusing: Script = { status: 'refuse', read: 'refuse', members: 'refuse' };

/** Runs one check over the scripted endpoints (the first one is the likely one). */
async function check(scripts: Script[], timeoutMs = 1000) {
  const asked = scripts.map(() => [] as number[]);
  const targets = scripts.map((s, i) => fakeEndpoint(`https://10.0.0.1${i + 1}:2379`, s, asked[i]!));
  const startedAt = performance.now();
  const running = probeEndpoints(targets, timeoutMs, undefined, targets[0]!.endpoint);
  await vi.runAllTimersAsync();
  const result = await running;
  return { result, asked: asked.map((times) => times.map((t) => t - startedAt)) };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('probeEndpoints asks for the member list once per check', () => {
  it('a live likely endpoint that answers after the others is not doubled up', async () => {
    // The others answer at 5 ms, the likely one its status at 6 ms and the member list at 8 ms.
    const { result, asked } = await check([{ status: 6, read: 7, members: 8 }, ok(5), ok(5)]);
    expect(asked.map((a) => a.length)).toEqual([1, 0, 0]);
    expect(result.members?.map((m) => m.name)).toEqual(['etcd01']);
  });

  it('a hung likely endpoint: asks one that answered, a quarter into the budget, not at the deadline', async () => {
    const { result, asked } = await check([hung, ok(2), ok(3)], 1000);
    expect(asked.map((a) => a.length)).toEqual([1, 1, 0]);
    expect(asked[1]![0]).toBe(250);
    expect(result.members).toHaveLength(1);
  });

  it('a likely endpoint that is slow but alive (answers at 200 of 1000 ms) is asked alone', async () => {
    const { result, asked } = await check([ok(200), ok(2), ok(3)], 1000);
    expect(asked.map((a) => a.length)).toEqual([1, 0, 0]);
    expect(result.members).toHaveLength(1);
  });

  it('a likely endpoint that refuses at once: asks one that answered, without waiting for a hedge', async () => {
    const { result, asked } = await check([refusing, ok(20), ok(30)]);
    expect(asked.map((a) => a.length)).toEqual([1, 1, 0]);
    expect(asked[1]![0]).toBe(20);
    expect(result.members).toHaveLength(1);
  });

  it('no quorum: a member that answers its status but not a read still names the members', async () => {
    const cutOff: Script = { status: 2, read: 'hang', members: 3 };
    const { result, asked } = await check([hung, cutOff, hung], 1000);
    expect(asked.map((a) => a.length)).toEqual([1, 1, 0]);
    expect(asked[1]![0]).toBe(250);
    expect(result.members).toHaveLength(1);
  });

  it('no endpoint answers: the member list is unknown, each endpoint asked at most once', async () => {
    const { result, asked } = await check([refusing, refusing, hung], 200);
    expect(asked.map((a) => a.length)).toEqual([1, 0, 0]);
    expect(result.members).toBeUndefined();
  });
});
