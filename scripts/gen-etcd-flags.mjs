#!/usr/bin/env node
// Generates src/render/etcd-flags.generated.ts: what etcd's own help text says each minor understands.
//
//   node scripts/gen-etcd-flags.mjs <etcd-git-dir> [out-file]
//
// <etcd-git-dir> is a clone of etcd-io/etcd with its tags (a bare one is fine); [out-file] defaults to
// src/render/etcd-flags.generated.ts (test/render checks the committed file against a fresh run this way).
//
// For every minor in MINORS it reads etcdmain/help.go (3.4) or server/etcdmain/help.go (3.5+) at EVERY release tag
// vX.Y.Z of that minor (no pre-releases) and records, per flag: the first patch listing it, the last one when a
// later patch dropped it, the first patch whose text marks it deprecated and the replacement the text names. For
// minors with feature gates (server/features/etcd_features.go) it records each gate's default and stage at the
// newest tag, the first patch that has it, and etcd's experimental-flag → gate map.
//
// Only data is generated (flag names, gate names, tags): no etcd code is copied. Output is deterministic
// (sorted, no timestamps), so re-running on the same tags gives a byte-identical file. No dependencies.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const MINORS = ['3.4', '3.5', '3.6', '3.7'];
const HELP_PATHS = ['server/etcdmain/help.go', 'etcdmain/help.go'];
const FEATURES_PATH = 'server/features/etcd_features.go';
const DEFAULT_OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'render', 'etcd-flags.generated.ts');

const [gitDir, OUT = DEFAULT_OUT] = process.argv.slice(2);
if (!gitDir || process.argv.length > 4) {
  console.error('usage: node scripts/gen-etcd-flags.mjs <etcd-git-dir> [out-file]');
  process.exit(2);
}

const git = (...args) => execFileSync('git', ['-C', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const show = (tag, path) => {
  try {
    return execFileSync('git', ['-C', gitDir, 'show', `${tag}:${path}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
};

/** Release tags of one minor, oldest first: vX.Y.Z only (a suffix such as -rc.0 is a pre-release). */
function releaseTags(minor) {
  const re = new RegExp(`^v${minor.replace('.', '\\.')}\\.(0|[1-9][0-9]*)$`);
  return git('tag', '-l', `v${minor}.*`)
    .split('\n')
    .filter((t) => re.test(t))
    .map((t) => ({ tag: t, patch: Number(t.slice(t.lastIndexOf('.') + 1)) }))
    .sort((a, b) => a.patch - b.patch);
}

// "Deprecated in v3.6 …", "Deprecated and to be decommissioned in v3.6", a section "v2 Proxy (Deprecated …):" —
// but not "will be deprecated in v3.7" / "TO BE DEPRECATED": those announce a future deprecation, and etcd
// neither warns about nor drops the flag in that release.
const DEPRECATED = /\bdeprecated\b/i;
const FUTURE_DEPRECATED = /\b(will|to) be deprecated\b/i;
const presentlyDeprecated = (text) => DEPRECATED.test(text.replace(new RegExp(FUTURE_DEPRECATED.source, 'gi'), ''));
const REPLACEMENT = /Use '(--[a-z0-9-]+(?:=[A-Za-z0-9]+=(?:true|false))?)' instead/;

/**
 * Flags of one help.go: a flag line is `  --name …` (two spaces), its description the following lines indented
 * deeper, its section the last unindented `Title:` line. Returns name → { deprecated, use }.
 */
function parseHelp(text) {
  const flags = new Map();
  let section = '';
  let current;
  for (const line of text.split('\n')) {
    const flag = /^ {2}--([a-z0-9][a-z0-9-]*)/.exec(line);
    if (flag) {
      // The default shown next to the name, when help.go writes it as a literal ('10000', 'zap', 1000); a
      // default spliced in from Go code (' + strconv.Itoa(...) + ') is not data this script can read.
      const literal = /^ {2}--[a-z0-9-]+ (?:'([^'`]*)'|([0-9]+))\s*$/.exec(line);
      current = { name: flag[1], text: '', section, default: literal ? (literal[1] ?? literal[2]) : undefined };
      flags.set(current.name, current);
      continue;
    }
    if (/^ {4}/.test(line) && current) {
      current.text += ` ${line.trim()}`;
      continue;
    }
    current = undefined;
    const title = /^([A-Za-z0-9].*):$/.exec(line);
    if (title) section = title[1];
  }
  const out = new Map();
  for (const f of flags.values()) {
    const deprecated = presentlyDeprecated(f.text) || presentlyDeprecated(f.section);
    const use = deprecated ? REPLACEMENT.exec(f.text)?.[1] : undefined;
    out.set(f.name, { deprecated, use, default: f.default });
  }
  return out;
}

/** Gates of one etcd_features.go: `Name: {Default: bool, PreRelease: featuregate.Stage[, LockToDefault: bool]}`. */
function parseGates(text) {
  const gates = new Map();
  const block = /DefaultEtcdServerFeatureGates\s*=\s*map\[[^\]]+\][^{]*\{([\s\S]*?)\n\s*\}/.exec(text);
  if (!block) throw new Error('no DefaultEtcdServerFeatureGates map');
  for (const m of block[1].matchAll(/^\s*([A-Z][A-Za-z0-9]*):\s*\{([^}]*)\}/gm)) {
    const def = /Default:\s*(true|false)/.exec(m[2]);
    const stage = /PreRelease:\s*featuregate\.([A-Za-z]+)/.exec(m[2]);
    if (!def || !stage) throw new Error(`cannot read gate ${m[1]}: ${m[2]}`);
    const lock = /LockToDefault:\s*(true|false)/.exec(m[2]);
    gates.set(m[1], { default: def[1] === 'true', stage: stage[1], ...(lock ? { lockToDefault: lock[1] === 'true' } : {}) });
  }
  const flagMap = new Map();
  const fm = /ExperimentalFlagToFeatureMap\s*=\s*map\[[^\]]+\][^{]*\{([\s\S]*?)\n\s*\}/.exec(text);
  if (fm) for (const m of fm[1].matchAll(/"([a-z0-9-]+)":\s*([A-Z][A-Za-z0-9]*)/g)) flagMap.set(m[1], m[2]);
  return { gates, flagMap };
}

const sorted = (map) => [...map.keys()].sort();
const warnings = [];

function readMinor(minor) {
  const tags = releaseTags(minor);
  if (tags.length === 0) throw new Error(`no release tags v${minor}.Z in ${gitDir}`);
  const newest = tags[tags.length - 1];
  const flags = new Map(); // name → { patches: number[], deprecated: number[], use }
  const gateSince = new Map();
  let helpPath;
  for (const { tag, patch } of tags) {
    let text;
    for (const p of HELP_PATHS) {
      text = show(tag, p);
      if (text !== undefined) {
        helpPath = p;
        break;
      }
    }
    if (text === undefined) throw new Error(`${tag}: no ${HELP_PATHS.join(' or ')}`);
    const parsed = parseHelp(text);
    if (parsed.size < 40) throw new Error(`${tag}: only ${parsed.size} flags parsed from ${helpPath}; the format changed?`);
    for (const [name, f] of parsed) {
      const rec = flags.get(name) ?? { patches: [], deprecated: [], use: undefined, default: undefined };
      rec.patches.push(patch);
      if (rec.patches.length > 1 && rec.default !== f.default) {
        warnings.push(`${minor}: --${name} shows default ${JSON.stringify(f.default)} from v${minor}.${patch} (was ${JSON.stringify(rec.default)})`);
      }
      rec.default = f.default; // the newest tag's default wins
      if (f.deprecated) rec.deprecated.push(patch);
      if (f.use) rec.use = f.use; // the newest wording wins
      flags.set(name, rec);
    }
    const features = show(tag, FEATURES_PATH);
    if (features !== undefined) for (const g of parseGates(features).gates.keys()) if (!gateSince.has(g)) gateSince.set(g, patch);
  }

  const all = tags.map((t) => t.patch);
  const out = {};
  for (const name of sorted(flags)) {
    const { patches, deprecated, use, default: def } = flags.get(name);
    const since = patches[0];
    const last = patches[patches.length - 1];
    const contiguous = all.slice(all.indexOf(since), all.indexOf(last) + 1).every((p) => patches.includes(p));
    if (!contiguous) warnings.push(`${minor}: --${name} is missing from some patches between ${since} and ${last}`);
    if (last !== newest.patch) warnings.push(`${minor}: --${name} disappears after v${minor}.${last}`);
    const rec = { since };
    if (last !== newest.patch) rec.until = last;
    if (def !== undefined && def !== '') rec.default = def;
    if (deprecated.length > 0) {
      // A deprecation can be taken back (3.6.8 un-deprecated --snapshot-count): record the last deprecated patch.
      const lastDeprecated = deprecated[deprecated.length - 1];
      const span = patches.filter((p) => p >= deprecated[0] && p <= lastDeprecated);
      if (span.some((p) => !deprecated.includes(p))) warnings.push(`${minor}: --${name} is deprecated, then not, then again`);
      rec.deprecatedSince = deprecated[0];
      if (lastDeprecated !== last) {
        rec.deprecatedUntil = lastDeprecated;
        warnings.push(`${minor}: --${name} is no longer deprecated after v${minor}.${lastDeprecated}`);
      }
      if (use) rec.use = use;
    }
    out[name] = rec;
  }

  const result = { tags: tags.length, firstTag: tags[0].tag, newestTag: newest.tag, newestCommit: git('rev-parse', `${newest.tag}^{commit}`).trim(), helpPath, flags: out };
  const features = show(newest.tag, FEATURES_PATH);
  if (features !== undefined) {
    const { gates, flagMap } = parseGates(features);
    result.featureGates = Object.fromEntries(sorted(gates).map((g) => [g, { ...gates.get(g), since: gateSince.get(g) }]));
    if (flagMap.size > 0) result.experimentalFlagGates = Object.fromEntries(sorted(flagMap).map((f) => [f, flagMap.get(f)]));
  }
  return result;
}

const minors = Object.fromEntries(MINORS.map((m) => [m, readMinor(m)]));

const q = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const key = (s) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s) ? s : q(s));
const obj = (o) =>
  `{ ${Object.entries(o)
    .map(([k, v]) => `${key(k)}: ${typeof v === 'string' ? q(v) : String(v)}`)
    .join(', ')} }`;

const lines = [];
const tagList = MINORS.map((m) => `${minors[m].firstTag}…${minors[m].newestTag} (${minors[m].tags} tags)`).join(', ');
lines.push(
  '// GENERATED FILE — DO NOT EDIT. Regenerate with:',
  '//   node scripts/gen-etcd-flags.mjs <etcd-git-dir>',
  `// from etcd's help.go at every release tag: ${tagList};`,
  `// feature gates from ${FEATURES_PATH} at ${MINORS.filter((m) => minors[m].featureGates).map((m) => minors[m].newestTag).join(', ')}.`,
  '// Data only (flag and gate names, patch numbers, tags); the hand-written knowledge lives in etcd-versions.ts.',
  "// biome-ignore-all lint/suspicious/noTemplateCurlyInString: defaults are etcd's help text verbatim.",
  '',
  "/** One flag of etcd's help text across the release tags of one minor. Patches are the Z of X.Y.Z. */",
  'export interface GeneratedEtcdFlag {',
  '  /** First patch whose help.go lists the flag. */',
  '  readonly since: number;',
  '  /** Last patch that lists it, when a later patch of the minor dropped it. Absent: listed up to the newest tag. */',
  '  readonly until?: number;',
  "  /** Default help.go shows at the newest tag listing the flag, when it is a literal. Absent: none shown or not a literal. */",
  '  readonly default?: string;',
  '  /** First patch whose help.go marks the flag deprecated. Absent: not deprecated in this minor. */',
  '  readonly deprecatedSince?: number;',
  '  /** Last deprecated patch, when a later patch took the deprecation back. Absent: deprecated up to the last patch listing it. */',
  '  readonly deprecatedUntil?: number;',
  "  /** The replacement help.go names for a deprecated flag: `--flag` or `--feature-gates=Name=true`. */",
  '  readonly use?: string;',
  '}',
  '',
  '/** One feature gate (`--feature-gates=Name=true`) as etcd_features.go defines it at the newest tag. */',
  'export interface GeneratedFeatureGate {',
  '  /** Value when `--feature-gates` does not name the gate. */',
  '  readonly default: boolean;',
  "  /** etcd's maturity stage: `Alpha`, `Beta`, `GA` or `Deprecated`. */",
  '  readonly stage: string;',
  '  /** True when etcd refuses any value but the default. Absent: false. */',
  '  readonly lockToDefault?: boolean;',
  '  /** First patch whose etcd_features.go has the gate. */',
  '  readonly since: number;',
  '}',
  '',
  '/** What the release tags of one etcd minor say about its flags and feature gates. */',
  'export interface GeneratedEtcdMinor {',
  '  /** Number of release tags read. */',
  '  readonly tags: number;',
  '  /** Oldest release tag read, e.g. `v3.6.0`. */',
  '  readonly firstTag: string;',
  '  /** Newest release tag read, e.g. `v3.6.14`. */',
  '  readonly newestTag: string;',
  '  /** Commit of `newestTag`. */',
  '  readonly newestCommit: string;',
  '  /** Where help.go lives in that tree. */',
  '  readonly helpPath: string;',
  '  /** Flag name without `--` → its record. */',
  '  readonly flags: Readonly<Record<string, GeneratedEtcdFlag>>;',
  '  /** Gate name → its record (3.6+). */',
  '  readonly featureGates?: Readonly<Record<string, GeneratedFeatureGate>>;',
  "  /** etcd's own map of experimental flags to the gates that replace them (ExperimentalFlagToFeatureMap, 3.6). */",
  '  readonly experimentalFlagGates?: Readonly<Record<string, string>>;',
  '}',
  '',
  '/** Generated data per minor (`3.4` … `3.7`). */',
  'export const GENERATED_ETCD_MINORS: Readonly<Record<string, GeneratedEtcdMinor>> = {',
);
for (const m of MINORS) {
  const d = minors[m];
  lines.push(`  '${m}': {`);
  for (const k of ['tags', 'firstTag', 'newestTag', 'newestCommit', 'helpPath']) lines.push(`    ${k}: ${typeof d[k] === 'string' ? q(d[k]) : d[k]},`);
  lines.push('    flags: {');
  for (const [name, rec] of Object.entries(d.flags)) lines.push(`      ${key(name)}: ${obj(rec)},`);
  lines.push('    },');
  if (d.featureGates) {
    lines.push('    featureGates: {');
    for (const [name, rec] of Object.entries(d.featureGates)) lines.push(`      ${name}: ${obj(rec)},`);
    lines.push('    },');
  }
  if (d.experimentalFlagGates) {
    lines.push('    experimentalFlagGates: {');
    for (const [flag, gate] of Object.entries(d.experimentalFlagGates)) lines.push(`      ${key(flag)}: ${q(gate)},`);
    lines.push('    },');
  }
  lines.push('  },');
}
lines.push('};', '');

writeFileSync(OUT, lines.join('\n'));
for (const w of warnings) console.error(`note: ${w}`);
console.error(`wrote ${relative(process.cwd(), OUT)}: ${MINORS.map((m) => `${m} ${Object.keys(minors[m].flags).length} flags`).join(', ')}`);
