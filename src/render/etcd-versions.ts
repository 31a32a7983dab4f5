/**
 * What each etcd minor understands, in one place: the `ETCD_*` variables a release reads (generated from
 * etcd's help.go at every release tag, see `etcd-flags.generated.ts`) and the hand-written knowledge around
 * them — renames, removals, defaults that changed, settings that became feature gates, values etcd refuses
 * and releases to avoid. The renderers ask this module for everything that depends on the etcd version.
 * Pure: no I/O.
 *
 * "Known" means "listed by that release's `etcd --help`": etcd reads every flag from `ETCD_<FLAG>` and only
 * logs a variable it does not know (the setting is then silently lost), so a name is rendered only when the
 * exact release lists it. Flags etcd registers without listing them (3.4's `--log-output`) count as unknown.
 * @module
 */
import { type GeneratedEtcdMinor, GENERATED_ETCD_MINORS } from './etcd-flags.generated.js';
import { compareEtcdVersions, type EtcdVersion, parseEtcdVersion } from './etcd-version.js';
import { invalidInput } from './invalid.js';

/** A variable a minor no longer reads, compared with the minor before it. */
export interface EtcdRemovedVar {
  /** Variable name (`ETCD_ENABLE_V2`); `ETCD_EXPERIMENTAL_*` stands for every variable with that prefix. */
  readonly name: string;
  /** What to set instead, when there is something. */
  readonly use?: string;
  /** True when the minor before read it without listing it in `--help`, so the generated data cannot show it. */
  readonly unlisted?: boolean;
}

/** A variable renamed in a minor. */
export interface EtcdRenamedVar {
  /** Old name (`ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME`). */
  readonly from: string;
  /** New name (`ETCD_CORRUPT_CHECK_TIME`). */
  readonly to: string;
  /** Whether the renaming minor still reads the old name (deprecated) or dropped it at once. */
  readonly oldStillRead: boolean;
}

/** A variable whose setting became a feature gate (`ETCD_FEATURE_GATES=<gate>=true`). */
export interface EtcdGatedVar {
  /** The variable etcd read before (`ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK`). */
  readonly from: string;
  /** The gate that replaces it (`InitialCorruptCheck`). */
  readonly gate: string;
}

/** A default etcd changed in a minor. */
export interface EtcdDefaultChange {
  /** Variable name (`ETCD_SNAPSHOT_COUNT`). */
  readonly name: string;
  /** Default in the minor before. */
  readonly from: string;
  /** Default from this minor on. */
  readonly to: string;
}

/** A value etcd refuses at start (it exits), from a minor on. */
export interface EtcdFatalValue {
  /** Variable name (`ETCD_LOGGER`). */
  readonly name: string;
  /** The refused value (`capnslog`). */
  readonly value: string;
  /** Why etcd refuses it. */
  readonly why: string;
}

/** One feature gate of a release (`--feature-gates`, 3.6+). */
export interface EtcdFeatureGate {
  /** Gate name, e.g. `InitialCorruptCheck`. */
  readonly name: string;
  /** Value when `ETCD_FEATURE_GATES` does not name the gate. */
  readonly default: boolean;
  /** etcd's maturity stage: `Alpha`, `Beta`, `GA` or `Deprecated`. */
  readonly stage: string;
}

/** A release line etcd-kit should not deploy. */
export interface EtcdVersionIssue {
  /** Stable id, e.g. `etcd-3.5-data-inconsistency`. */
  readonly id: string;
  /** First affected release, `X.Y.Z`. */
  readonly first: string;
  /** Last affected release, `X.Y.Z`. */
  readonly last: string;
  /** First release with the fix. */
  readonly fixedIn: string;
  /** What goes wrong. */
  readonly summary: string;
  /** etcd's own write-up. */
  readonly url: string;
}

/** Everything etcd-kit knows about one etcd minor. */
export interface EtcdMinorTable {
  /** `X.Y`, e.g. `3.6`. */
  readonly minor: string;
  /** etcd's documentation for this minor, e.g. `https://etcd.io/docs/v3.6/`. */
  readonly docsUrl: string;
  /** Oldest release read into the generated data, e.g. `3.6.0`. */
  readonly firstKnown: string;
  /** Newest release read into the generated data, e.g. `3.6.14`. */
  readonly newestKnown: string;
  /** Variables the minor before read and this one does not. */
  readonly removed: readonly EtcdRemovedVar[];
  /** Variables renamed in this minor. */
  readonly renamed: readonly EtcdRenamedVar[];
  /** Variables whose setting became a feature gate in this minor. */
  readonly gated: readonly EtcdGatedVar[];
  /** Defaults changed in this minor. */
  readonly defaultChanges: readonly EtcdDefaultChange[];
  /** Values refused from this minor on (also refused by every later minor). */
  readonly fatalValues: readonly EtcdFatalValue[];
}

/** One etcd release as {@link resolveEtcdVersion} returns it: the parsed version and what it understands. */
export interface ResolvedEtcdVersion {
  /** The parsed version. */
  readonly version: EtcdVersion;
  /** The version as text, `X.Y.Z`. */
  readonly text: string;
  /** Its minor's table. */
  readonly table: EtcdMinorTable;
  /**
   * True for a patch newer than the newest release read (e.g. 3.6.15 while the data stops at 3.6.14). Accepted:
   * etcd adds flags in patch releases (3.4.25 added `--tls-min-version`) but does not drop them within a minor,
   * so such a release reads at least the newest known one's variables, and only those are rendered.
   */
  readonly beyondNewestKnown: boolean;
  /** Every `ETCD_*` variable this exact release lists. */
  readonly envVars: ReadonlySet<string>;
  /** Deprecated variables of this release → the replacement its help names (undefined when it names none). */
  readonly deprecatedEnvVars: ReadonlyMap<string, string | undefined>;
  /** Feature gates this release knows, by name (empty before 3.6). */
  readonly featureGates: ReadonlyMap<string, EtcdFeatureGate>;
  /** Known problems of this release (3.5.0–3.5.2: data inconsistency). Empty for a sound release. */
  readonly issues: readonly EtcdVersionIssue[];
}

// ---------------------------------------------------------------------------------------------------------
// Hand-written knowledge. Sources: etcd's CHANGELOG-3.5/3.6/3.7, server/etcdmain/config.go and
// server/embed/config.go at the release tags. test/render/etcd-versions.test.ts cross-checks every entry
// against the generated data (renamed targets exist, removed names are gone, changed defaults match help.go).

interface MinorKnowledge {
  readonly removed: readonly EtcdRemovedVar[];
  readonly renamed: readonly EtcdRenamedVar[];
  readonly gated: readonly EtcdGatedVar[];
  readonly defaultChanges: readonly EtcdDefaultChange[];
  readonly fatalValues: readonly EtcdFatalValue[];
}

const EXPERIMENTAL = 'ETCD_EXPERIMENTAL_';

// 3.6 dropped EXPERIMENTAL_ from these (old names still read, deprecated; 3.7 reads only the new ones).
const RENAMED_IN_3_6 = [
  'BOOTSTRAP_DEFRAG_THRESHOLD_MEGABYTES',
  'COMPACTION_BATCH_LIMIT',
  'COMPACT_HASH_CHECK_TIME',
  'COMPACTION_SLEEP_INTERVAL',
  'CORRUPT_CHECK_TIME',
  'ENABLE_DISTRIBUTED_TRACING',
  'DISTRIBUTED_TRACING_ADDRESS',
  'DISTRIBUTED_TRACING_INSTANCE_ID',
  'DISTRIBUTED_TRACING_SAMPLING_RATE',
  'DISTRIBUTED_TRACING_SERVICE_NAME',
  'DOWNGRADE_CHECK_TIME',
  'MEMORY_MLOCK',
  'PEER_SKIP_CLIENT_SAN_VERIFICATION',
  'SNAPSHOT_CATCHUP_ENTRIES',
  'WARNING_APPLY_DURATION',
  'WARNING_UNARY_REQUEST_DURATION',
  'WATCH_PROGRESS_NOTIFY_INTERVAL',
].map((base): EtcdRenamedVar => ({ from: `${EXPERIMENTAL}${base}`, to: `ETCD_${base}`, oldStillRead: true }));

const GATED_IN_3_6: readonly EtcdGatedVar[] = [
  { from: 'ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK', gate: 'InitialCorruptCheck' },
  { from: 'ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED', gate: 'CompactHashCheck' },
  { from: 'ETCD_EXPERIMENTAL_ENABLE_LEASE_CHECKPOINT', gate: 'LeaseCheckpoint' },
  { from: 'ETCD_EXPERIMENTAL_ENABLE_LEASE_CHECKPOINT_PERSIST', gate: 'LeaseCheckpointPersist' },
  { from: 'ETCD_EXPERIMENTAL_STOP_GRPC_SERVICE_ON_DEFRAG', gate: 'StopGRPCServiceOnDefrag' },
  { from: 'ETCD_EXPERIMENTAL_TXN_MODE_WRITE_WITH_SHARED_BUFFER', gate: 'TxnModeWriteWithSharedBuffer' },
];

const KNOWLEDGE: Readonly<Record<string, MinorKnowledge>> = {
  '3.4': { removed: [], renamed: [], gated: [], defaultChanges: [], fatalValues: [] },
  '3.5': {
    removed: [
      { name: 'ETCD_DEBUG', use: 'ETCD_LOG_LEVEL=debug' },
      { name: 'ETCD_LOG_PACKAGE_LEVELS', use: 'ETCD_LOG_LEVEL' },
      { name: 'ETCD_LOG_OUTPUT', use: 'ETCD_LOG_OUTPUTS', unlisted: true },
      { name: 'ETCD_EXPERIMENTAL_BACKEND_BBOLT_FREELIST_TYPE', use: 'ETCD_BACKEND_BBOLT_FREELIST_TYPE' },
      // A 3.4.31+ bridge for joining a 3.5 cluster; 3.5 itself has no use for it.
      { name: 'ETCD_NEXT_CLUSTER_VERSION_COMPATIBLE' },
    ],
    renamed: [{ from: 'ETCD_EXPERIMENTAL_BACKEND_BBOLT_FREELIST_TYPE', to: 'ETCD_BACKEND_BBOLT_FREELIST_TYPE', oldStillRead: false }],
    gated: [],
    defaultChanges: [
      { name: 'ETCD_LOGGER', from: 'capnslog', to: 'zap' },
      { name: 'ETCD_PRE_VOTE', from: 'false', to: 'true' },
    ],
    fatalValues: [{ name: 'ETCD_LOGGER', value: 'capnslog', why: 'etcd 3.5 removed the capnslog logger and exits at start' }],
  },
  '3.6': {
    removed: [
      { name: 'ETCD_ENABLE_V2', use: 'nothing: the v2 API is gone' },
      { name: 'ETCD_EXPERIMENTAL_ENABLE_V2V3', use: 'nothing: the v2 API is gone' },
      ...['', '_DIAL_TIMEOUT', '_FAILURE_WAIT', '_READ_TIMEOUT', '_REFRESH_INTERVAL', '_WRITE_TIMEOUT'].map(
        (s): EtcdRemovedVar => ({ name: `ETCD_PROXY${s}`, use: 'etcd grpc-proxy: the v2 proxy is gone' }),
      ),
    ],
    renamed: RENAMED_IN_3_6,
    gated: GATED_IN_3_6,
    defaultChanges: [
      { name: 'ETCD_SNAPSHOT_COUNT', from: '100000', to: '10000' },
      { name: 'ETCD_V2_DEPRECATION', from: 'not-yet', to: 'write-only' },
    ],
    fatalValues: [{ name: 'ETCD_DISCOVERY_FALLBACK', value: 'proxy', why: 'etcd 3.6 removed the v2 proxy and refuses to fall back to it' }],
  },
  '3.7': {
    removed: [{ name: 'ETCD_EXPERIMENTAL_*', use: 'the name without EXPERIMENTAL_, or ETCD_FEATURE_GATES (see 3.6)' }],
    renamed: [],
    gated: [],
    defaultChanges: [],
    fatalValues: [],
  },
};

// etcd defaults that help.go does not show as a literal (it splices them in from Go constants), read from
// server/embed/config.go (DefaultMaxSnapshots, DefaultMaxWALs, DefaultEnableV2, DefaultStrictReconfigCheck)
// and server/config/v2_deprecation.go (V2DeprDefault). Key '*' = every minor that has the flag.
const SOURCE_DEFAULTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  ETCD_MAX_SNAPSHOTS: { '*': '5' },
  ETCD_MAX_WALS: { '*': '5' },
  ETCD_ENABLE_V2: { '*': 'false' },
  ETCD_STRICT_RECONFIG_CHECK: { '*': 'true' },
  ETCD_V2_DEPRECATION: { '3.5': 'not-yet', '3.6': 'write-only', '3.7': 'write-only' },
};

// What a release does when it has no flag for a setting at all: before --tls-min-version (3.4.25, 3.5.8) etcd's
// TLS config always set MinVersion to TLS 1.2 (pkg/transport/listener.go).
const IMPLICIT_VALUES: Readonly<Record<string, string>> = {
  ETCD_TLS_MIN_VERSION: 'TLS1.2',
};

const KNOWN_ISSUES: readonly EtcdVersionIssue[] = [
  {
    id: 'etcd-3.5-data-inconsistency',
    first: '3.5.0',
    last: '3.5.2',
    fixedIn: '3.5.3',
    summary:
      'a member that crashes while applying entries can come back with data its peers do not have (data inconsistency); etcd advises against running 3.5.0-3.5.2',
    url: 'https://github.com/etcd-io/etcd/blob/main/Documentation/postmortems/v3.5-data-inconsistency.md',
  },
];

// 3.6 rather than 3.7: every supported cluster (3.5 ≥ 3.5.32) can upgrade to it directly, one minor at a time,
// and 3.7.0 only shipped in 2026-07.
const DEFAULT_MINOR = '3.6';

// ---------------------------------------------------------------------------------------------------------

const byMinor = (a: string, b: string): number => {
  const [am, an] = a.split('.').map(Number) as [number, number];
  const [bm, bn] = b.split('.').map(Number) as [number, number];
  return am - bm || an - bn;
};

/** Minors etcd-kit renders for, oldest first: every minor in the generated data (`['3.4', '3.5', '3.6', '3.7']`). */
export const SUPPORTED_ETCD_MINORS: readonly string[] = Object.freeze(Object.keys(GENERATED_ETCD_MINORS).sort(byMinor));

function generated(minor: string): GeneratedEtcdMinor {
  const data = GENERATED_ETCD_MINORS[minor];
  if (!data) throw new Error(`etcd-kit bug: no generated data for etcd ${minor}`);
  return data;
}

/**
 * The etcd release renderers target when no `etcdVersion` is given: the newest 3.6 release in the generated
 * data (`'3.6.14'`). It moves when the data is regenerated from newer tags.
 */
export const DEFAULT_ETCD_VERSION: string = generated(DEFAULT_MINOR).newestTag.slice(1);

/** `--foo-bar` / `foo-bar` → `ETCD_FOO_BAR`, the variable etcd reads the flag from. */
export function flagToEnvVar(flag: string): string {
  return `ETCD_${flag.replace(/^--/, '').toUpperCase().replace(/-/g, '_')}`;
}

/** `ETCD_FOO_BAR` → `foo-bar`. */
export function envVarToFlag(name: string): string {
  return name.replace(/^ETCD_/, '').toLowerCase().replace(/_/g, '-');
}

const tables = new Map<string, EtcdMinorTable>();

/** The table of one supported minor (`'3.6'`). Throws `RENDER_INVALID_INPUT` naming `field` for any other. */
export function etcdMinorTable(minor: string, field = 'etcdVersion'): EtcdMinorTable {
  const cached = tables.get(minor);
  if (cached) return cached;
  if (!SUPPORTED_ETCD_MINORS.includes(minor)) {
    throw invalidInput(field, `etcd ${minor} is not supported (etcd-kit knows ${SUPPORTED_ETCD_MINORS.join(', ')})`);
  }
  const knowledge = KNOWLEDGE[minor];
  // Regenerating the data for a new minor must come with its hand-written table.
  if (!knowledge) throw new Error(`etcd-kit bug: etcd ${minor} has generated data but no entry in KNOWLEDGE`);
  const data = generated(minor);
  const table: EtcdMinorTable = Object.freeze({
    minor,
    docsUrl: `https://etcd.io/docs/v${minor}/`,
    firstKnown: data.firstTag.slice(1),
    newestKnown: data.newestTag.slice(1),
    ...knowledge,
  });
  tables.set(minor, table);
  return table;
}

const resolved = new Map<string, ResolvedEtcdVersion>();

function inPatchRange(patch: number, since: number, until: number | undefined): boolean {
  return patch >= since && (until === undefined || patch <= until);
}

function replacementVar(use: string | undefined): string | undefined {
  if (use === undefined) return undefined;
  const gate = /^--feature-gates=([A-Za-z0-9]+)=(true|false)$/.exec(use);
  return gate ? `ETCD_FEATURE_GATES=${gate[1]}=${gate[2]}` : flagToEnvVar(use);
}

function build(version: EtcdVersion): ResolvedEtcdVersion {
  const table = etcdMinorTable(version.minorText);
  const data = generated(version.minorText);
  const newest = parseEtcdVersion(table.newestKnown);
  const beyondNewestKnown = compareEtcdVersions(version, newest) > 0;
  // A patch past the data reads what the newest known one reads (see beyondNewestKnown).
  const patch = Math.min(version.patch, newest.patch);
  const envVars = new Set<string>();
  const deprecatedEnvVars = new Map<string, string | undefined>();
  for (const [flag, f] of Object.entries(data.flags)) {
    if (!inPatchRange(patch, f.since, f.until)) continue;
    const name = flagToEnvVar(flag);
    envVars.add(name);
    if (f.deprecatedSince !== undefined && inPatchRange(patch, f.deprecatedSince, f.deprecatedUntil)) {
      deprecatedEnvVars.set(name, replacementVar(f.use));
    }
  }
  const featureGates = new Map<string, EtcdFeatureGate>();
  for (const [name, g] of Object.entries(data.featureGates ?? {})) {
    if (patch >= g.since) featureGates.set(name, Object.freeze({ name, default: g.default, stage: g.stage }));
  }
  return Object.freeze({
    version,
    text: version.text,
    table,
    beyondNewestKnown,
    envVars,
    deprecatedEnvVars,
    featureGates,
    issues: Object.freeze(KNOWN_ISSUES.filter((i) => affects(i, version))),
  });
}

function affects(issue: EtcdVersionIssue, v: EtcdVersion): boolean {
  return compareEtcdVersions(v, parseEtcdVersion(issue.first)) >= 0 && compareEtcdVersions(v, parseEtcdVersion(issue.last)) <= 0;
}

/**
 * Parses an etcd release version and returns it with what that release understands. Throws
 * `RENDER_INVALID_INPUT` naming `field` for anything that is not `X.Y.Z` (no `v`, no pre-release) and for a
 * minor etcd-kit has no table for (3.3, 3.8). A patch newer than the newest release read is accepted, see
 * {@link ResolvedEtcdVersion.beyondNewestKnown}. A release with known {@link ResolvedEtcdVersion.issues} is
 * accepted too: refusing it is the deploy's decision, not the renderer's.
 *
 * @param field - Name of the input in the caller's options, used in errors. Default: `'etcdVersion'`.
 * @example
 * ```ts
 * const v = resolveEtcdVersion('3.4.23');
 * v.envVars.has('ETCD_TLS_MIN_VERSION'); // false: added in 3.4.25
 * v.table.docsUrl;                        // 'https://etcd.io/docs/v3.4/'
 * ```
 */
export function resolveEtcdVersion(value: unknown, field = 'etcdVersion'): ResolvedEtcdVersion {
  const version = parseEtcdVersion(value, field);
  const cached = resolved.get(version.text);
  if (cached) return cached;
  etcdMinorTable(version.minorText, field);
  const r = build(version);
  resolved.set(version.text, r);
  return r;
}

/** A release as `X.Y.Z` text, or one {@link resolveEtcdVersion} already resolved (skips the parse). */
export type EtcdVersionInput = string | ResolvedEtcdVersion;
const asResolved = (v: EtcdVersionInput): ResolvedEtcdVersion => (typeof v === 'string' ? resolveEtcdVersion(v) : v);

/**
 * Whether this exact release reads the variable (its `--help` lists the flag). Throws `RENDER_INVALID_INPUT`
 * for a version {@link resolveEtcdVersion} refuses.
 *
 * @example
 * ```ts
 * etcdEnvVarKnown('3.6.14', 'ETCD_ENABLE_V2'); // false: removed in 3.6
 * ```
 */
export function etcdEnvVarKnown(version: EtcdVersionInput, name: string): boolean {
  return asResolved(version).envVars.has(name);
}

/** Whether this exact release reads the variable but marks it deprecated (etcd logs a warning when it is set). */
export function etcdEnvVarDeprecated(version: EtcdVersionInput, name: string): boolean {
  return asResolved(version).deprecatedEnvVars.has(name);
}

/**
 * etcd's own default for a variable in this release, as text (`'10000'` for `ETCD_SNAPSHOT_COUNT` in 3.6),
 * or undefined when the release does not read the variable or etcd-kit does not know the default.
 */
export function etcdDefault(version: EtcdVersionInput, name: string): string | undefined {
  const v = asResolved(version);
  if (!v.envVars.has(name)) return undefined;
  const shown = generated(v.table.minor).flags[envVarToFlag(name)]?.default;
  if (shown !== undefined) return shown;
  const source = SOURCE_DEFAULTS[name];
  return source?.[v.table.minor] ?? source?.['*'];
}

/**
 * The first release of `minor` that reads `name` (`'3.4.25'` for `ETCD_TLS_MIN_VERSION` in 3.4), or undefined when
 * no release of that minor does. Throws `RENDER_INVALID_INPUT` for an unsupported minor.
 */
export function etcdEnvVarSince(minor: string, name: string): string | undefined {
  const table = etcdMinorTable(minor);
  const f = generated(table.minor).flags[envVarToFlag(name)];
  return f && flagToEnvVar(envVarToFlag(name)) === name ? `${minor}.${f.since}` : undefined;
}

/**
 * What a release that does not read `name` does anyway (`'TLS1.2'` for `ETCD_TLS_MIN_VERSION` before 3.4.25 and
 * 3.5.8: the minimum was fixed), or undefined when it reads the variable or etcd-kit knows no fixed behaviour.
 */
export function etcdImplicitValue(version: EtcdVersionInput, name: string): string | undefined {
  return asResolved(version).envVars.has(name) ? undefined : IMPLICIT_VALUES[name];
}

/**
 * The feature gate that carries the setting of `name` in this release (`InitialCorruptCheck` for
 * `ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK` from 3.6 on), or undefined when the setting is no gate there.
 */
export function etcdFeatureGateFor(version: EtcdVersionInput, name: string): string | undefined {
  const v = asResolved(version);
  for (const minor of SUPPORTED_ETCD_MINORS) {
    if (byMinor(minor, v.table.minor) > 0) break;
    const hit = etcdMinorTable(minor).gated.find((g) => g.from === name);
    if (hit && v.featureGates.has(hit.gate)) return hit.gate;
  }
  return undefined;
}

/** The refusal etcd would answer `name=value` with in this release (it exits at start), if any. */
export function etcdFatalValue(version: EtcdVersionInput, name: string, value: string): EtcdFatalValue | undefined {
  const v = asResolved(version);
  for (const minor of SUPPORTED_ETCD_MINORS) {
    if (byMinor(minor, v.table.minor) > 0) break;
    const hit = etcdMinorTable(minor).fatalValues.find((f) => f.name === name && f.value === value);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Known problems of a release (3.5.0–3.5.2: data inconsistency, fixed in 3.5.3). The renderers accept such a
 * release; a deploy should refuse it. Throws `RENDER_INVALID_INPUT` for a version {@link resolveEtcdVersion} refuses.
 *
 * @example
 * ```ts
 * etcdVersionIssues('3.5.1')[0]?.fixedIn; // '3.5.3'
 * ```
 */
export function etcdVersionIssues(version: EtcdVersionInput): readonly EtcdVersionIssue[] {
  return asResolved(version).issues;
}
