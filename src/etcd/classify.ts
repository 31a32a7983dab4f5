/**
 * The one place that turns etcd3 / gRPC failures into {@link EtcdKitError} codes.
 *
 * etcd3 reports almost every connection problem as `GRPCUnavailableError` ("No connection established") with
 * the real reason only in the message text, so classification is text matching, kept here and nowhere else.
 * The patterns were taken from real failures against etcd 3.4 (Go crypto/tls) and Node 20's TLS client.
 * @module
 */
import { EtcdKitError, type EtcdKitErrorCode } from '../errors.js';

/** Thrown by our own hard deadline (the gRPC deadline should fire first; this guards hung handshakes). */
export class DeadlineReachedError extends Error {
  override readonly name = 'DeadlineReachedError';
  constructor(readonly ms: number) {
    super(`no answer within ${Math.round(ms)} ms`);
  }
}

/** Thrown when an AbortSignal fired. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
  constructor() {
    super('aborted by the caller');
  }
}

/** What a failure was about, for the message. */
export interface ClassifyContext {
  /** Endpoint URL the request went to. */
  endpoint?: string;
  /** What we were doing, e.g. `linearizable read`, `member add`. */
  operation?: string;
  /**
   * The request's budget in ms, when it had one. A gRPC deadline then reads like our own deadline
   * (`no answer within 800 ms`): which of the two fires first is a race, and the message should not depend on it.
   */
  timeoutMs?: number;
}

/** gRPC's own deadline (not etcd's `request timed out`, which is the server giving up on a proposal). */
const GRPC_DEADLINE = /DEADLINE_EXCEEDED|Deadline exceeded/i;

interface Rule {
  code: EtcdKitErrorCode;
  test: RegExp;
  explain: string;
}

/** etcd refuses a reconfiguration until the answering member has been connected to every peer for 5 s. */
const NOT_READY_FOR_RECONFIG = /etcdserver: unhealthy cluster|etcdserver: re-configuration failed due to not enough started members/i;
/** etcd refuses to promote a learner that lags behind the leader. */
const LEARNER_NOT_IN_SYNC = /etcdserver: can only promote a learner member which is in sync/i;

// Order matters: the first matching rule wins (e.g. a hostname mismatch also says "certificate").
const RULES: Rule[] = [
  {
    code: 'ETCD_TLS_HOSTNAME',
    test: /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i,
    explain: "the server certificate's subjectAltNames do not cover the endpoint host",
  },
  {
    code: 'ETCD_TLS_UNTRUSTED',
    test: /unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate|certificate signature failure|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_SIGNATURE_FAILURE|certificate has expired|certificate is not yet valid|unsupported certificate purpose/i,
    explain: 'the server certificate is not trusted by the given CA (wrong tls.caPem, or an expired/unsuitable server certificate)',
  },
  {
    code: 'ETCD_TLS_BAD_CERT',
    test: /alert (bad certificate|unknown ca|certificate required|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied)|alert number (42|43|44|45|46|48|49|116)\b/i,
    explain: 'the server refused our client certificate (not signed by the cluster CA, expired, or missing clientAuth)',
  },
  {
    code: 'ETCD_MEMBERSHIP',
    test: NOT_READY_FOR_RECONFIG,
    explain:
      "etcd refused the membership change for now: the answering member has not been connected to every peer for 5 s, or too few members are started (etcd's strict reconfiguration check); retry shortly",
  },
  {
    code: 'ETCD_MEMBERSHIP',
    test: LEARNER_NOT_IN_SYNC,
    explain: 'etcd refused to promote the learner: it has not caught up with the leader yet; retry shortly',
  },
  {
    code: 'ETCD_MEMBERSHIP',
    test: /etcdserver: (member not found|member ID already exist|Peer URLs already exists|can only promote a learner|too many learner|learner member)/i,
    explain: 'etcd refused the membership change',
  },
  {
    code: 'ETCD_NO_QUORUM',
    test: /etcdserver: no leader/i,
    explain: 'the member answers but has no leader: the cluster lacks a quorum',
  },
  {
    code: 'ETCD_REQUEST_FAILED',
    test: /etcdserver: leader changed/i,
    explain: 'a leader election interrupted the request; retry it',
  },
  {
    code: 'ETCD_TIMEOUT',
    test: new RegExp(`${GRPC_DEADLINE.source}|etcdserver: request timed out`, 'i'),
    explain: 'no answer before the deadline',
  },
  {
    code: 'ETCD_UNREACHABLE',
    test: /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|No connection established|UNAVAILABLE|Connection dropped|GOAWAY/i,
    explain: 'cannot connect to the endpoint',
  },
];

/**
 * Turns any failure of an etcd call into an {@link EtcdKitError} with an actionable code. Errors that already
 * are `EtcdKitError`s pass through unchanged.
 */
export function classifyEtcdError(err: unknown, context: ClassifyContext = {}): EtcdKitError {
  if (err instanceof EtcdKitError) return err;
  const where = context.endpoint === undefined ? '' : `${context.endpoint}: `;
  const what = context.operation === undefined ? '' : `${context.operation} failed: `;
  const details = context.endpoint === undefined ? undefined : { endpoint: context.endpoint };
  if (err instanceof AbortedError) {
    return new EtcdKitError('ABORTED', `${where}${what}aborted by the caller`, { cause: err, details });
  }
  const text = describe(err);
  // Our guard runs on what was left of the budget once the request was sent: the caller's budget is what it asked for.
  const budgetMs = err instanceof DeadlineReachedError ? (context.timeoutMs ?? err.ms) : GRPC_DEADLINE.test(text) ? context.timeoutMs : undefined;
  if (budgetMs !== undefined) {
    return new EtcdKitError('ETCD_TIMEOUT', `${where}${what}no answer within ${Math.round(budgetMs)} ms`, { cause: err, details });
  }
  const rule = RULES.find((r) => r.test.test(text));
  const code: EtcdKitErrorCode = rule?.code ?? 'ETCD_REQUEST_FAILED';
  const explain = rule?.explain ?? 'request failed';
  return new EtcdKitError(code, `${where}${what}${explain} (${shortReason(text)})`, { cause: err, details });
}

/**
 * True when etcd refused a membership change for a passing reason, before applying anything: a learner
 * that has not caught up yet, or a member not yet connected to every peer for 5 s (strict reconfig check).
 */
export function isTransientRefusal(err: unknown): boolean {
  const cause = err instanceof EtcdKitError ? err.cause : err;
  const text = describe(cause);
  return LEARNER_NOT_IN_SYNC.test(text) || NOT_READY_FOR_RECONFIG.test(text);
}

/**
 * True when the request never left this process: no connection could be established (refused, TLS
 * failure). Only then may a non-idempotent request be re-sent to another endpoint.
 */
export function isNeverConnected(err: unknown): boolean {
  const cause = err instanceof EtcdKitError ? err.cause : err;
  return /No connection established/i.test(describe(cause));
}

/** True when a learner refused a request it cannot serve (linearizable reads, writes). */
export function isLearnerRefusal(err: unknown): boolean {
  const cause = err instanceof EtcdKitError ? err.cause : err;
  return /rpc not supported for learner/i.test(describe(cause));
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message}`;
  return String(err);
}

/** gRPC wraps the useful part ("Last error: ...") in boilerplate; keep just that, on one line. */
function shortReason(text: string): string {
  const last = /Last error: (?:Error(?: \[[A-Z_]+\])?: )?([\s\S]*?)(?:\. Resolution note:|$)/.exec(text);
  const reason = (last?.[1] ?? text).replace(/\s+/g, ' ').trim();
  // OpenSSL's form "8050...:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/..."
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(reason);
  const short = ssl?.[1] ?? reason.replace(/^GRPC\w*Error: /, '');
  return short.length > 200 ? `${short.slice(0, 200)}…` : short;
}
