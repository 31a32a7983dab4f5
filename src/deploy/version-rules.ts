/**
 * etcd's rules for changing versions, as one pure decision: given what each member runs (or has on disk)
 * and the release a deploy would install, either every member's transition, or a refusal naming the
 * member, both versions and the rule. The deploy calls it after reading the hosts and before changing any.
 *
 * Sources: etcd.io/docs/v3.6/upgrades/ (upgrade_3_5, upgrade_3_6, upgrade_3_7), etcd's CHANGELOG-3.5 /
 * CHANGELOG-3.6 (minimum patches, auth WAL change), and etcd-kit's reference notes (etcd-versions.md).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { compareEtcdVersions, type EtcdVersion, etcdVersionIssues, parseEtcdVersion, SUPPORTED_ETCD_MINORS } from '../render/index.js';

/**
 * How one member's etcd version changes in a deploy.
 * @category Deploy and day 2
 */
export type VersionChangeKind =
  /** A member with no etcd yet (new host, or a stopped one without data): it starts on the target. */
  | 'install'
  /** Already on the target release. */
  | 'none'
  /** A newer patch of the same minor. */
  | 'patch-up'
  /** An older patch of the same minor. */
  | 'patch-down'
  /** The next minor (rolling, one member at a time). */
  | 'upgrade'
  /** The previous minor, by swapping binaries back (only while the cluster still runs that minor). */
  | 'downgrade';

/** The rule a refused version change breaks (`EtcdKitError.details.rule` of `VERSION_CHANGE_REFUSED`). */
export type VersionRule =
  /** A minor etcd-kit does not know ({@link SUPPORTED_ETCD_MINORS}), or a version that is not `X.Y.Z`. */
  | 'unknown-minor'
  /** A release with a known bug etcd advises against running (3.5.0–3.5.2: `etcdVersionIssues`). */
  | 'bad-release'
  /** More than one minor at once, up or down (also: the cluster version lags more than one minor behind). */
  | 'skips-minor'
  /** The next minor before every member runs the minimum patch etcd requires ({@link MIN_PATCH_BEFORE_NEXT_MINOR}). */
  | 'min-patch'
  /** A minor downgrade once no member runs the older minor any more (etcd's downgrade API is the way). */
  | 'minor-downgrade'
  /** A rolling 3.4 → 3.5 upgrade with etcd auth enabled (unsupported by etcd). */
  | 'auth-upgrade'
  /** A 3.4 → 3.5 upgrade where etcd-kit could not read whether auth is enabled. */
  | 'auth-unknown';

/** What one member runs now. */
export interface MemberVersions {
  /** Member name. */
  name: string;
  /** What the running etcd reports (`Status.version`), when it runs and answers. */
  running?: string;
  /** Version of the etcd binary on the host, for a member whose data dir holds data (stopped, or not answering). */
  onDisk?: string;
}

/** Cluster-wide facts some rules need. */
export interface ClusterVersionFacts {
  /** etcd's cluster version `X.Y` (the `etcdcluster` of `/version`), when known. */
  clusterVersion?: string;
  /** Whether etcd auth is enabled, when known. Needed only for a 3.4 → 3.5 upgrade. */
  authEnabled?: boolean;
}

/** One member's version change. */
export interface VersionTransition {
  /** Member name. */
  member: string;
  /** What it runs now (running, else on disk); absent for a member with no etcd yet. */
  from?: string;
  /** The target release. */
  to: string;
  /** The kind of change. */
  kind: VersionChangeKind;
}

/** Input of {@link planVersionChange}. */
export interface VersionChangeInput {
  /** Every member of the cluster after the deploy, in spec order. */
  members: readonly MemberVersions[];
  /** Cluster-wide facts. Default: none known. */
  cluster?: ClusterVersionFacts;
  /** The release the deploy installs, `X.Y.Z`. */
  target: string;
}

/** Result of {@link planVersionChange}. */
export interface VersionChangePlan {
  /** The target release. */
  target: string;
  /** Per member, in input order. */
  transitions: VersionTransition[];
}

/**
 * The oldest patch of a minor from which etcd allows going to the next minor, by minor. Every member must
 * run at least this before any member runs the next minor.
 *
 * - `3.5` → 3.6: 3.5.32. etcd.io/docs/v3.6/upgrades/upgrade_3_6 and CHANGELOG-3.5; raised several times
 *   (3.5.20, 3.5.24, 3.5.26), last to 3.5.32 in 2026-07.
 * - `3.6` → 3.7: 3.6.11. etcd.io/docs/v3.7/upgrades/upgrade_3_7 and CHANGELOG-3.6.
 * - `3.4` → 3.5: no minimum (etcd recommends the latest 3.4 patch).
 */
export const MIN_PATCH_BEFORE_NEXT_MINOR: Readonly<Record<string, string>> = { '3.5': '3.5.32', '3.6': '3.6.11' };

/** Why etcd advises against running `v` (the render table's known issues: 3.5.0–3.5.2), if it does. */
function badReleaseReason(v: EtcdVersion): string | undefined {
  const issue = etcdVersionIssues(v.text)[0];
  return issue ? `etcd ${v.text}: ${issue.summary} (${issue.url}); install ${issue.fixedIn} or newer` : undefined;
}

function refuse(rule: VersionRule, member: string | undefined, from: string | undefined, to: string, why: string): EtcdKitError {
  const head = member === undefined ? `etcd ${to}` : `${member}: ${from === undefined ? `installing ${to}` : `${from} → ${to}`}`;
  return new EtcdKitError('VERSION_CHANGE_REFUSED', `${head} refused: ${why}`, {
    ...(member === undefined ? {} : { member }),
    details: { ...(from === undefined ? {} : { from }), to, rule },
  });
}

/** Parses a version etcd-kit must know the minor of; `undefined` for anything else (the caller refuses). */
function knownVersion(text: string): EtcdVersion | undefined {
  try {
    const v = parseEtcdVersion(text);
    return SUPPORTED_ETCD_MINORS.includes(v.minorText) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** etcd's downgrade API (`etcdctl downgrade validate|enable`) exists from this minor on. */
const DOWNGRADE_API_SINCE = parseEtcdVersion('3.6.0');

const UNKNOWN = `etcd-kit knows etcd ${SUPPORTED_ETCD_MINORS.join(', ')} (releases X.Y.Z)`;

/** Why etcd-kit will not install `target` at all, whatever the cluster runs; undefined when it will. */
function targetProblem(target: string): { rule: VersionRule; why: string } | undefined {
  const v = knownVersion(target);
  if (!v) return { rule: 'unknown-minor', why: `${UNKNOWN}; use a release of a known minor` };
  const bad = badReleaseReason(v);
  return bad ? { rule: 'bad-release', why: bad } : undefined;
}

/**
 * Refuses a release etcd-kit will not install, whatever the cluster runs: a minor it does not know, or
 * 3.5.0–3.5.2. Throws `VERSION_CHANGE_REFUSED` (no member: it is about the release) with
 * `details: { to, rule }`; returns the parsed version.
 */
export function assertInstallableVersion(target: string): EtcdVersion {
  const problem = targetProblem(target);
  if (problem) throw refuse(problem.rule, undefined, undefined, target, problem.why);
  return parseEtcdVersion(target);
}

function kindOf(from: EtcdVersion | undefined, to: EtcdVersion): VersionChangeKind {
  if (!from) return 'install';
  const c = compareEtcdVersions(from, to);
  if (c === 0) return 'none';
  if (from.minor === to.minor && from.major === to.major) return c < 0 ? 'patch-up' : 'patch-down';
  return c < 0 ? 'upgrade' : 'downgrade';
}

/** A minor as a comparable number (3.5 → 305): every etcd release has major 3, but do not assume it. */
function minorIndex(v: EtcdVersion): number {
  return v.major * 100 + v.minor;
}

interface ParsedMember {
  name: string;
  /** `running ?? onDisk`, as given. */
  from: string | undefined;
  fromVersion: EtcdVersion | undefined;
  /** Every version the member has now (running and on disk, when they differ): each must obey the rules. */
  current: EtcdVersion[];
}

function parseMembers(members: readonly MemberVersions[], target: string): ParsedMember[] {
  return members.map((m) => {
    const current: EtcdVersion[] = [];
    for (const text of [m.running, m.onDisk]) {
      if (text === undefined) continue;
      const v = knownVersion(text);
      if (!v) {
        throw refuse('unknown-minor', m.name, text, target, `it runs etcd ${text}, and ${UNKNOWN}; move it to a known minor by hand first`);
      }
      if (!current.some((c) => compareEtcdVersions(c, v) === 0)) current.push(v);
    }
    const from = m.running ?? m.onDisk;
    return { name: m.name, from, fromVersion: current[0], current };
  });
}

/** `3.5`-style text of the minor before/after `v`'s. */
function minorText(major: number, minor: number): string {
  return `${major}.${minor}`;
}

function checkSkips(members: ParsedMember[], to: EtcdVersion, cluster: ClusterVersionFacts): void {
  for (const m of members) {
    for (const v of m.current) {
      const gap = minorIndex(to) - minorIndex(v);
      if (gap > 1) {
        const next = minorText(v.major, v.minor + 1);
        throw refuse('skips-minor', m.name, v.text, to.text, `etcd upgrades one minor at a time and this skips ${next}; deploy the latest ${next} release first, then ${to.minorText}`);
      }
      if (gap < -1) {
        throw refuse('skips-minor', m.name, v.text, to.text, `etcd changes one minor at a time, and a downgrade of more than one minor is impossible`);
      }
    }
  }
  const cv = cluster.clusterVersion === undefined ? undefined : parseClusterVersion(cluster.clusterVersion);
  if (cv && minorIndex(to) - minorIndex(cv) > 1) {
    const m = members.find((p) => p.fromVersion && p.fromVersion.minorText !== to.minorText) ?? members[0];
    throw refuse(
      'skips-minor',
      m?.name,
      m?.from,
      to.text,
      `the cluster version is still ${cv.minorText}, and ${to.minorText} needs ${minorText(to.major, to.minor - 1)}; ` +
        'etcd raises it a few seconds after the last member runs the newer minor: wait, then re-run',
    );
  }
}

/** etcd's cluster version `X.Y` (or `X.Y.Z` as `/version` prints it) as a version with patch 0. */
function parseClusterVersion(text: string): EtcdVersion | undefined {
  const match = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(text);
  if (!match) return undefined;
  return parseEtcdVersion(`${Number(match[1])}.${Number(match[2])}.0`);
}

function checkMinPatch(members: ParsedMember[], to: EtcdVersion): void {
  const previous = minorText(to.major, to.minor - 1);
  const min = MIN_PATCH_BEFORE_NEXT_MINOR[previous];
  if (min !== undefined) {
    // Going to the next minor: every member still on the previous one must run the minimum patch.
    const minVersion = parseEtcdVersion(min);
    for (const m of members) {
      const low = m.current.find((v) => v.minorText === previous && compareEtcdVersions(v, minVersion) < 0);
      if (low) {
        throw refuse(
          'min-patch',
          m.name,
          low.text,
          to.text,
          `etcd allows ${previous} → ${to.minorText} only once every member runs ≥ ${min}; upgrade every member to ≥ ${min} first, then to ${to.minorText}`,
        );
      }
    }
  }
  const nextMin = MIN_PATCH_BEFORE_NEXT_MINOR[to.minorText];
  if (nextMin !== undefined && compareEtcdVersions(to, parseEtcdVersion(nextMin)) < 0) {
    // Rolling back to a patch that may not run next to the newer minor's members.
    const newer = members.find((m) => m.current.some((v) => minorIndex(v) === minorIndex(to) + 1));
    if (newer) {
      throw refuse(
        'min-patch',
        newer.name,
        newer.from,
        to.text,
        `${to.text} cannot run next to members on ${minorText(to.major, to.minor + 1)} (etcd requires ≥ ${nextMin}); roll back to ≥ ${nextMin}`,
      );
    }
  }
}

function checkDowngrade(members: ParsedMember[], to: EtcdVersion, cluster: ClusterVersionFacts): void {
  const newer = members.find((m) => m.current.some((v) => minorIndex(v) > minorIndex(to)));
  if (!newer) return;
  const olderStillRuns = members.some((m) => m.current.some((v) => v.minorText === to.minorText));
  const cv = cluster.clusterVersion === undefined ? undefined : parseClusterVersion(cluster.clusterVersion);
  const clusterMoved = cv !== undefined && minorIndex(cv) > minorIndex(to);
  if (olderStillRuns && !clusterMoved) return;
  const from = newer.current.find((v) => minorIndex(v) > minorIndex(to))!;
  const why = clusterMoved
    ? `the cluster version is ${cv.minorText} already, so ${to.minorText} binaries would refuse its data`
    : `no member runs ${to.minorText} any more, so swapping binaries back no longer works`;
  const way =
    minorIndex(from) >= minorIndex(DOWNGRADE_API_SINCE)
      ? `etcd's downgrade API (etcdctl downgrade validate/enable ${to.minorText}) is the way back once every member runs ${from.minorText}`
      : `only a snapshot restore onto ${to.minorText} goes back`;
  throw refuse('minor-downgrade', newer.name, from.text, to.text, `${why}; ${way} (not done by etcd-kit)`);
}

function checkAuth(members: ParsedMember[], to: EtcdVersion, cluster: ClusterVersionFacts): void {
  if (to.minorText !== '3.5') return;
  const old = members.find((m) => m.current.some((v) => v.minorText === '3.4'));
  if (!old) return;
  const from = old.current.find((v) => v.minorText === '3.4')!.text;
  if (cluster.authEnabled === true) {
    throw refuse(
      'auth-upgrade',
      old.name,
      from,
      to.text,
      'etcd does not support a rolling 3.4 → 3.5 upgrade with auth enabled (the WAL format of auth entries changed); disable auth (etcdctl auth disable) for the upgrade, or restore a snapshot onto a new 3.5 cluster',
    );
  }
  if (cluster.authEnabled === undefined) {
    throw refuse(
      'auth-unknown',
      old.name,
      from,
      to.text,
      'a rolling 3.4 → 3.5 upgrade is unsupported with etcd auth enabled, and whether it is could not be read; make the cluster healthy and re-run',
    );
  }
}

/**
 * Decides every member's version change for a deploy of `target`, or refuses it. Pure.
 *
 * Rules (etcd.io/docs/v3.6/upgrades/):
 * - the target must be a minor etcd-kit knows (`SUPPORTED_ETCD_MINORS`) and not a release with a known
 *   issue (`etcdVersionIssues`: 3.5.0–3.5.2);
 * - one minor at a time, never skipping one, both ways; the cluster version may lag at most one minor;
 * - to the next minor only once every member runs at least {@link MIN_PATCH_BEFORE_NEXT_MINOR} of the
 *   current one (and never back to a patch below it while members run the newer minor);
 * - patch changes within a minor both ways;
 * - a minor downgrade by swapping binaries only while some member still runs (or, stopped, holds) the
 *   older minor and the cluster version has not moved on: rolling back a half-done upgrade;
 * - no rolling 3.4 → 3.5 upgrade with etcd auth enabled (or unknown).
 *
 * Throws `VERSION_CHANGE_REFUSED` naming the member, with `details: { from, to, rule }` ({@link VersionRule}).
 *
 * @example
 * ```ts
 * const { transitions } = planVersionChange({
 *   members: [{ name: 'etcd01', running: '3.5.32' }, { name: 'etcd02', running: '3.6.14' }],
 *   cluster: { clusterVersion: '3.5' },
 *   target: '3.6.14',
 * });
 * // [{ member: 'etcd01', from: '3.5.32', to: '3.6.14', kind: 'upgrade' }, { member: 'etcd02', ..., kind: 'none' }]
 * ```
 */
export function planVersionChange(input: VersionChangeInput): VersionChangePlan {
  const { members: given, target } = input;
  const cluster = input.cluster ?? {};
  const problem = targetProblem(target);
  if (problem) {
    // Named after the first member: the release would have gone there first.
    const first = given[0];
    throw refuse(problem.rule, first?.name, first?.running ?? first?.onDisk, target, problem.why);
  }
  const to = parseEtcdVersion(target);
  const members = parseMembers(given, target);
  checkSkips(members, to, cluster);
  checkMinPatch(members, to);
  checkDowngrade(members, to, cluster);
  checkAuth(members, to, cluster);
  return {
    target: to.text,
    transitions: members.map((m) => ({ member: m.name, ...(m.from === undefined ? {} : { from: m.from }), to: to.text, kind: kindOf(m.fromVersion, to) })),
  };
}

/**
 * Which cluster-wide facts {@link planVersionChange} needs for this change, so a deploy reads only those
 * (a re-run on the same minor reads neither). Pure.
 */
export function versionFactsNeeded(members: readonly MemberVersions[], target: string): { clusterVersion: boolean; authEnabled: boolean } {
  const to = knownVersion(target);
  if (!to) return { clusterVersion: false, authEnabled: false };
  const minors = members.flatMap((m) => [m.running, m.onDisk]).flatMap((t) => {
    const v = t === undefined ? undefined : knownVersion(t);
    return v ? [v.minorText] : [];
  });
  return {
    // Only a change of minor asks about the cluster version: skips and downgrades are judged by it.
    clusterVersion: minors.some((m) => m !== to.minorText),
    authEnabled: to.minorText === '3.5' && minors.includes('3.4'),
  };
}
