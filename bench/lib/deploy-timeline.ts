/**
 * Where a deploy's time goes, from its progress events: each member's step transitions, grouped across
 * members (the nth `inspect` of every member is one row), printed in time order with the spread between
 * the first and the last member and the gap since the previous row.
 *
 * Progress events carry no "step finished" marker, so a repeated `inspect` or `apply` is read as a new
 * round trip: the remote layer reports `inspect` when it reads a host's facts and `apply` both when the
 * apply script starts and when install is done (its `done` is re-labelled `apply` by the deploy layer).
 * @module
 */
import type { DeployProgressEvent } from '../../src/index.js';

/** A progress event with its time since the deploy started, in ms. */
export interface TimedEvent extends DeployProgressEvent {
  /** ms since the deploy call. */
  at: number;
}

/** Returns an onProgress listener and the list it fills, timed from now. */
export function recordEvents(): { events: TimedEvent[]; onProgress: (e: DeployProgressEvent) => void } {
  const start = performance.now();
  const events: TimedEvent[] = [];
  return { events, onProgress: (e) => events.push({ ...e, at: performance.now() - start }) };
}

interface Row {
  label: string;
  first: number;
  last: number;
  members: number;
  note: string | undefined;
}

/** Steps that are one round trip each time they are reported, even twice in a row. */
const ROUND_TRIP_STEPS = new Set(['connect', 'inspect', 'apply']);

function rows(events: TimedEvent[]): Row[] {
  const last = new Map<string, string>();
  const seen = new Map<string, number>();
  const applyCount = new Map<string, number>();
  const groups = new Map<string, Row>();
  for (const e of events) {
    if (e.member === undefined) {
      const key = `${e.step}#${seen.get(e.step) ?? 0}`;
      seen.set(e.step, (seen.get(e.step) ?? 0) + 1);
      groups.set(key, { label: e.step, first: e.at, last: e.at, members: 0, note: e.message });
      continue;
    }
    const previous = last.get(e.member);
    if (previous === e.step && !ROUND_TRIP_STEPS.has(e.step)) continue;
    last.set(e.member, e.step);
    let label: string = e.step;
    if (e.step === 'apply') {
      const n = (applyCount.get(e.member) ?? 0) + 1;
      applyCount.set(e.member, n);
      label = n % 2 === 1 ? 'apply (script starts)' : 'apply (install done)';
    }
    const counter = `${e.member}\0${label}`;
    const nth = seen.get(counter) ?? 0;
    seen.set(counter, nth + 1);
    const key = `${label}#${nth}`;
    const row = groups.get(key);
    if (row) {
      row.first = Math.min(row.first, e.at);
      row.last = Math.max(row.last, e.at);
      row.members++;
    } else {
      groups.set(key, { label, first: e.at, last: e.at, members: 1, note: undefined });
    }
  }
  return [...groups.values()].sort((a, b) => a.first - b.first);
}

/** Formats the timeline of one deploy, ending with its total wall time. */
export function formatTimeline(events: TimedEvent[], totalMs: number): string {
  const lines = [`  ${'at ms'.padStart(7)} ${'+gap'.padStart(6)}  ${'step'.padEnd(24)} spread over members`];
  let previous = 0;
  for (const r of rows(events)) {
    const spread = r.members > 0 ? `${r.first.toFixed(0)}..${r.last.toFixed(0)} (${r.members})` : (r.note ?? '');
    lines.push(`  ${r.first.toFixed(0).padStart(7)} ${`+${(r.first - previous).toFixed(0)}`.padStart(6)}  ${r.label.padEnd(24)} ${spread}`);
    previous = r.first;
  }
  lines.push(`  ${totalMs.toFixed(0).padStart(7)} ${`+${(totalMs - previous).toFixed(0)}`.padStart(6)}  (returned)`);
  return lines.join('\n');
}
