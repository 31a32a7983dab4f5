// Two ways etcd 3.4 fails a request during a rolling restart, whatever does the restarting, which a
// single-attempt client sees as failed writes (etcd's client retries neither: both are `Unknown`):
// - A member that stops cuts the unary requests in flight on it: its gRPC server is stopped without draining,
//   it logs "grpc: Server.processUnaryRPC failed to write status: ... transport is closing", and the client
//   gets an HTTP/2 response without a gRPC status (`missing content-type field`). Whether the write was applied
//   is unknown.
// - While leadership moves (before the leader restarts, so that it does not stop as leader), the leader drops
//   the proposals it receives (`raft proposal dropped`, etcd-io/etcd#8975): nothing was applied.
// Neither was seen on 3.5 or later in the same runs. These helpers tell such a failure from one the caller
// would be to blame for (a TLS refusal, a timeout, a member down too long): the right signature, while the
// matching step ran.
import type { DeployProgressEvent } from '../../src/index.js';
import type { EtcdctlWriteFailure } from './etcdctl-writer.js';

/** What etcd 3.4's client prints for a request its member cut by stopping. */
export const STOPPED_MEMBER_CUT = /HTTP status code 200; transport: missing content-type field/;

/** What an etcd 3.4 member logs for each request it cut by stopping. */
export const STOPPED_MEMBER_CUT_LOG = 'failed to write status';

/** What etcd's client prints for a proposal the leader dropped while handing leadership over. */
export const PROPOSAL_DROPPED = /raft proposal dropped/;

/** A step of a rolling restart as its progress events told it (ms since the epoch). */
export interface RestartWindow {
  /** `restart`: from a member's `restart` event to its `wait-healthy` event; `leader-move`: from the event handing leadership over from `member` to that member's `restart` event. */
  kind: 'restart' | 'leader-move';
  member: string;
  from: number;
  to: number;
}

/** Restart and leadership-move windows from a run's progress events, in the order they closed. */
export function restartWindowRecorder(): { onProgress: (e: DeployProgressEvent) => void; windows: RestartWindow[] } {
  const windows: RestartWindow[] = [];
  const restarting = new Map<string, number>();
  const moving = new Map<string, number>();
  return {
    windows,
    onProgress: (e) => {
      const now = Date.now();
      if (e.leadership !== undefined) moving.set(e.leadership.from, now);
      if (e.member === undefined) return;
      if (e.step === 'restart' && !restarting.has(e.member)) {
        restarting.set(e.member, now);
        const movedAt = moving.get(e.member);
        if (movedAt !== undefined) windows.push({ kind: 'leader-move', member: e.member, from: movedAt, to: now });
        moving.delete(e.member);
      }
      if (e.step === 'wait-healthy' && restarting.has(e.member)) {
        windows.push({ kind: 'restart', member: e.member, from: restarting.get(e.member)!, to: now });
        restarting.delete(e.member);
      }
    },
  };
}

/** A failure explained by one of etcd 3.4's two behaviours, and the step it happened in. */
export interface Etcd34Cut {
  failure: EtcdctlWriteFailure;
  window: RestartWindow;
}

/**
 * Splits failures into those etcd 3.4 causes itself — a stop cut while a member restarted, a dropped
 * proposal while leadership moved (the write's process ran during that step) — and all others.
 */
export function splitStopCuts(failures: readonly EtcdctlWriteFailure[], windows: readonly RestartWindow[]): { cut: Etcd34Cut[]; other: EtcdctlWriteFailure[] } {
  const cut: Etcd34Cut[] = [];
  const other: EtcdctlWriteFailure[] = [];
  for (const f of failures) {
    const kind = STOPPED_MEMBER_CUT.test(f.stderr) ? 'restart' : PROPOSAL_DROPPED.test(f.stderr) ? 'leader-move' : undefined;
    const window = windows.find((w) => w.kind === kind && f.at <= w.to && f.at + f.ms >= w.from);
    if (window) cut.push({ failure: f, window });
    else other.push(f);
  }
  return { cut, other };
}
