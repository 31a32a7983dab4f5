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
  const members = new FirstAnswer(
    (client) => guard(client.cluster.memberList({ linearizable: false }, { deadline })).then((r) => r.members.map(toMember)),
    timeoutMs / 4,
    signal,
  );
  const first = targets.find((t) => t.endpoint === likelyHealthy) ?? targets[0];
  if (first) members.ask(first);

  const probes = targets.map(async (target): Promise<EndpointProbe> => {
    const { endpoint, client } = target;
    // Handled at once, so a fast failure is not an unhandled rejection while the read is pending.
    const statusP = guard(client.maintenance.status({ deadline })).then(
      (s) => {
        members.answered(target);
        return toStatus(s);
      },
      () => undefined,
    );
    const readStart = performance.now();
    const read = await guard(client.get('health').options({ deadline }).exec()).then(
      () => ({ ok: true as const }),
      (err: unknown) => {
        const error = classifyEtcdError(err, { endpoint, operation: 'linearizable read', timeoutMs });
        return { ok: false as const, error, learnerRefused: isLearnerRefusal(err) };
      },
    );
    const tookMs = performance.now() - readStart;
    if (read.ok) members.answered(target);
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
 * A cluster-wide fact (the member list) needed once per check, asked of one endpoint at a time: every extra
 * call is CPU that the client and the members spend on every check. The likely endpoint is asked at once;
 * endpoints that answer a call of the check become fallbacks. A fallback is asked when every attempt so far
 * failed, or (a hedge) when the endpoint asked has answered nothing of this check `hedgeAfterMs` in. A hung
 * endpoint's own read holds the check until its deadline anyway, so the hedge need not be early, only early
 * enough for the fallback to answer within the deadline; a live endpoint that is merely slower than the
 * others is then not asked twice.
 */
class FirstAnswer<T> {
  private found: T | undefined;
  private readonly asked = new Set<string>();
  private readonly answering = new Set<string>();
  private readonly fallbacks: ProbeTarget[] = [];
  private readonly pending = new Map<string, Promise<void>>();
  private readonly startedAt = performance.now();
  private hedge: ReturnType<typeof setTimeout> | undefined;
  /** Set once every endpoint's own calls have settled: nothing more will prove an endpoint alive. */
  private settled = false;

  constructor(
    private readonly fetch: (client: Etcd3) => Promise<T>,
    private readonly hedgeAfterMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Asks `target` unless the answer is known, the check was aborted, or it was asked already. */
  ask(target: ProbeTarget): void {
    if (this.done() || this.asked.has(target.endpoint)) return;
    this.asked.add(target.endpoint);
    const attempt = this.fetch(target.client)
      .then(
        (value) => {
          this.found ??= value;
        },
        () => undefined,
      )
      .finally(() => {
        this.pending.delete(target.endpoint);
        this.considerFallback();
      });
    this.pending.set(target.endpoint, attempt);
  }

  /** `target` answered a call of this check, so it can serve the fact too. */
  answered(target: ProbeTarget): void {
    if (this.answering.has(target.endpoint)) return;
    this.answering.add(target.endpoint);
    if (!this.asked.has(target.endpoint)) this.fallbacks.push(target);
    this.considerFallback();
  }

  /**
   * The first answer, once it is in or every attempt has failed (all are bounded by the check's deadline).
   * Called once every endpoint's own calls have settled, so a fallback is asked now rather than at the hedge.
   */
  async result(): Promise<T | undefined> {
    this.settled = true;
    this.considerFallback();
    while (!this.done() && this.pending.size > 0) await Promise.race(this.pending.values());
    return this.found;
  }

  private done(): boolean {
    return this.found !== undefined || this.signal?.aborted === true;
  }

  /** Asks a fallback now, arms the hedge, or stands down, by the rules above. */
  private considerFallback(): void {
    if (this.done() || this.fallbacks.length === 0 || this.waitingOnAnswering()) {
      this.disarmHedge();
    } else if (this.pending.size === 0 || this.settled) {
      this.disarmHedge();
      this.askFallback();
    } else {
      const hedgeInMs = Math.max(0, this.startedAt + this.hedgeAfterMs - performance.now());
      this.hedge ??= setTimeout(() => {
        this.hedge = undefined;
        if (!this.waitingOnAnswering()) this.askFallback();
      }, hedgeInMs);
    }
  }

  private askFallback(): void {
    const next = this.fallbacks.shift();
    if (next) this.ask(next);
  }

  /** True while an endpoint that answered this check is being asked: its answer is on its way. */
  private waitingOnAnswering(): boolean {
    for (const endpoint of this.pending.keys()) if (this.answering.has(endpoint)) return true;
    return false;
  }

  private disarmHedge(): void {
    clearTimeout(this.hedge);
    this.hedge = undefined;
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
