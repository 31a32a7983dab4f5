/**
 * What one health check asks, all concurrently and within one deadline: every endpoint for a linearizable
 * read (the health verdict) and its status (which also lists the cluster's active alarms); one endpoint
 * for the member list, a cluster-wide fact.
 * @module
 */
import type { Etcd3, IStatusResponse } from 'etcd3';
import type { EtcdKitError } from '../errors.js';
import { classifyEtcdError, isLearnerRefusal } from './classify.js';
import { raceDeadline } from './deadline.js';
import { hexId, toMember } from './members.js';
import type { EndpointStatus, EtcdAlarm, EtcdMember } from './types.js';

/** Raw answers of one endpoint, before they are put in the cluster picture. */
export interface EndpointProbe {
  endpoint: string;
  /** Outcome of the linearizable read. */
  read: { ok: true } | { ok: false; error: EtcdKitError; learnerRefused: boolean };
  tookMs: number;
  status?: EndpointStatus;
}

/** Everything one check learned. */
export interface ProbeResult {
  probes: EndpointProbe[];
  /** The member list, from the first endpoint that answered it; undefined if none did. */
  members: EtcdMember[] | undefined;
}

/** One endpoint and its client. */
export interface ProbeTarget {
  endpoint: string;
  client: Etcd3;
}

/**
 * Asks every endpoint concurrently; resolves within `timeoutMs`. `likelyHealthy` (the endpoint that was
 * healthy last time, else the first one) is asked for the member list right away.
 */
export async function probeEndpoints(
  targets: ProbeTarget[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
  likelyHealthy?: string,
): Promise<ProbeResult> {
  const startedAt = performance.now();
  const deadline = Date.now() + timeoutMs;
  const remaining = (): number => Math.max(1, timeoutMs - (performance.now() - startedAt));
  const guard = <T>(p: Promise<T>): Promise<T> => raceDeadline(p, remaining(), signal);
  // Served from the member's local copy (not linearizable), so a member cut off from the quorum still names
  // everyone in the picture; membership changes use the linearizable list instead.
  const members = new FirstAnswer((client) =>
    guard(client.cluster.memberList({ linearizable: false }, { deadline })).then((r) => r.members.map(toMember)),
  );
  const first = targets.find((t) => t.endpoint === likelyHealthy) ?? targets[0];
  if (first) members.ask(first, false);

  const probes = targets.map(async (target): Promise<EndpointProbe> => {
    const { endpoint, client } = target;
    // Handled at once, so a fast failure is not an unhandled rejection while the read is pending.
    const statusP = guard(client.maintenance.status({ deadline })).then(
      (s) => {
        members.ask(target, true);
        return toStatus(s);
      },
      () => undefined,
    );
    const readStart = performance.now();
    const read = await guard(client.get('health').options({ deadline }).exec()).then(
      () => ({ ok: true as const }),
      (err: unknown) => {
        const error = classifyEtcdError(err, { endpoint, operation: 'linearizable read' });
        return { ok: false as const, error, learnerRefused: isLearnerRefusal(err) };
      },
    );
    const tookMs = performance.now() - readStart;
    if (read.ok) members.ask(target, true);
    let status = await statusP;
    if (read.ok && status?.leaderId === '0') {
      // Status was served mid-election while the read waited for the new leader: ask once more.
      status = await guard(client.maintenance.status({ deadline })).then(toStatus, () => status);
    }
    return { endpoint, read, tookMs, ...(status ? { status } : {}) };
  });
  const settled = await Promise.all(probes);
  return { probes: settled, members: await members.result() };
}

/**
 * A cluster-wide fact (the member list) needed once per check: asked from a likely endpoint first and
 * from endpoints that prove to answer, each at most once, until one answers. An attempt on an endpoint
 * that only might be alive does not hold up one on an endpoint known to answer.
 */
class FirstAnswer<T> {
  private readonly tried = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private provenPending = 0;
  private found: T | undefined;

  constructor(private readonly fetch: (client: Etcd3) => Promise<T>) {}

  /** Asks `target` unless the answer is known, it was asked already, or a proven endpoint is being asked. */
  ask(target: ProbeTarget, proven: boolean): void {
    if (this.found !== undefined || this.tried.has(target.endpoint) || this.provenPending > 0) return;
    this.tried.add(target.endpoint);
    if (proven) this.provenPending += 1;
    const attempt: Promise<void> = this.fetch(target.client)
      .then(
        (value) => {
          this.found ??= value;
        },
        () => undefined,
      )
      .finally(() => {
        this.pending.delete(attempt);
        if (proven) this.provenPending -= 1;
      });
    this.pending.add(attempt);
  }

  /** The first answer, once every attempt has settled (all are bounded by the check's deadline). */
  async result(): Promise<T | undefined> {
    while (this.found === undefined && this.pending.size > 0) await Promise.race(this.pending);
    return this.found;
  }
}

function toStatus(s: IStatusResponse): EndpointStatus {
  return {
    memberId: hexId(s.header.member_id),
    version: s.version,
    dbSizeBytes: Number(s.dbSize),
    dbSizeInUseBytes: Number(s.dbSizeInUse),
    leaderId: hexId(s.leader),
    raftIndex: Number(s.raftIndex),
    raftAppliedIndex: Number(s.raftAppliedIndex),
    raftTerm: Number(s.raftTerm),
    isLearner: Boolean(s.isLearner),
    errors: [...(s.errors ?? [])],
  };
}

/**
 * Active alarms as a member lists them in its status (`memberID:<decimal> alarm:NOSPACE`). Every member
 * keeps the replicated alarm list, so this spares the Alarm call, which etcd 3.4 serves through raft.
 */
export function alarmsInStatus(status: EndpointStatus): EtcdAlarm[] {
  const alarms: EtcdAlarm[] = [];
  for (const text of status.errors) {
    const m = /memberID:(\d+)\s+alarm:(NOSPACE|CORRUPT)\b/.exec(text);
    if (m?.[1] && (m[2] === 'NOSPACE' || m[2] === 'CORRUPT')) alarms.push({ memberId: hexId(m[1]), alarm: m[2] });
  }
  return alarms;
}
