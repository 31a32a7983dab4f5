import { describe, expect, it } from 'vitest';
import type { EtcdctlWriteFailure } from './etcdctl-writer.js';
import { type RestartWindow, restartWindowRecorder, splitStopCuts } from './stop-cut-writes.js';

const stopCut = 'Error: rpc error: code = Unknown desc = OK: HTTP status code 200; transport: missing content-type field';
const dropped = 'Error: rpc error: code = Unknown desc = raft proposal dropped';
const failure = (at: number, ms: number, stderr = stopCut): EtcdctlWriteFailure => ({ key: `/k/${at}`, at, ms, code: 1, stderr, cause: '' });

describe('splitStopCuts', () => {
  const windows: RestartWindow[] = [
    { kind: 'leader-move', member: 'etcd02', from: 500, to: 900 },
    { kind: 'restart', member: 'etcd02', from: 1000, to: 2000 },
  ];

  it('counts a stop cut whose process ran during a restart, naming the step', () => {
    const { cut, other } = splitStopCuts([failure(990, 30), failure(1990, 40)], windows);
    expect(cut.map((c) => `${c.window.kind}:${c.window.member}`)).toEqual(['restart:etcd02', 'restart:etcd02']);
    expect(other).toEqual([]);
  });

  it('counts a dropped proposal only while leadership moved', () => {
    const { cut, other } = splitStopCuts([failure(600, 20, dropped), failure(1500, 20, dropped)], windows);
    expect(cut.map((c) => c.window.kind)).toEqual(['leader-move']);
    expect(other.map((f) => f.at)).toEqual([1500]);
  });

  it('keeps a stop cut outside every restart window (a leadership move included) among the others', () => {
    const { cut, other } = splitStopCuts([failure(600, 20), failure(2001, 10)], windows);
    expect(cut).toEqual([]);
    expect(other).toHaveLength(2);
  });

  it('keeps any other error during a restart among the others', () => {
    const timeout = failure(1500, 20, 'Error: context deadline exceeded');
    expect(splitStopCuts([timeout], windows)).toEqual({ cut: [], other: [timeout] });
  });
});

describe('restartWindowRecorder', () => {
  it("opens a restart window at a member's restart event and closes it at its wait-healthy event", () => {
    const r = restartWindowRecorder();
    r.onProgress({ step: 'restart', member: 'etcd01' });
    r.onProgress({ step: 'restart', member: 'etcd01' });
    r.onProgress({ step: 'upload', member: 'etcd02' });
    expect(r.windows).toEqual([]);
    r.onProgress({ step: 'wait-healthy', member: 'etcd01' });
    expect(r.windows).toHaveLength(1);
    expect(r.windows[0]).toMatchObject({ kind: 'restart', member: 'etcd01' });
    expect(r.windows[0]!.to).toBeGreaterThanOrEqual(r.windows[0]!.from);
  });

  it('records a leadership move from its event to the restart of the member it moved away from', () => {
    const r = restartWindowRecorder();
    r.onProgress({ step: 'restart', leadership: { from: 'etcd02', to: 'etcd01' } });
    r.onProgress({ step: 'upload', member: 'etcd02' });
    r.onProgress({ step: 'restart', member: 'etcd02' });
    r.onProgress({ step: 'wait-healthy', member: 'etcd02' });
    expect(r.windows.map((w) => `${w.kind}:${w.member}`)).toEqual(['leader-move:etcd02', 'restart:etcd02']);
  });
});
