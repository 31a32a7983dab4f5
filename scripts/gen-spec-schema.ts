// Generates schema/cluster-spec.schema.json, the JSON Schema of the cluster spec file, from the zod schema
// the validator uses (src/deploy/spec-schema.ts), so an editor completes and checks cluster.yaml.
//
//   node --import tsx scripts/gen-spec-schema.ts [out-file]      (npm run build runs it first)
//
// Nothing in the schema is written by hand: zod's toJSONSchema converts the shape (types, ranges, patterns,
// enums, required and unknown keys); this script only adds a title and carries regex flags JSON Schema lacks.
// What zod checks in code (refinements: host addresses, the one-source rule of `etcd`) and what the validator
// checks across fields or on disk is not in the schema; test/deploy/spec-json-schema.test.ts lists those cases.
// Output is deterministic: test/deploy checks the committed file against a fresh run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { clusterSpecSchema } from '../src/deploy/spec-schema.js';

/** Where the package ships the schema (package.json `files` and `exports` name it). */
export const SPEC_SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema', 'cluster-spec.schema.json');

type JsonSchema = Record<string, unknown>;

const LETTER = /^[A-Za-z]$/;
const swapCase = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());

/**
 * The source of a case-insensitive regex as a case-sensitive one (`/^[a-f0-9]$/i` → `^[a-fA-F0-9]$`): JSON Schema's
 * `pattern` has no flags. Letters outside a class become `[xX]`, letter ranges in a class get their other case.
 * Throws on what it does not handle (escapes naming code points or properties, named groups, mixed ranges).
 */
export function caseInsensitivePattern(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[xuUpPck]/.test(next)) throw new Error(`caseInsensitivePattern: escape \\${next} is not supported in /${source}/i`);
      out += c + next;
      i++;
    } else if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
      } else if (source[i + 1] === '-' && source[i + 2] !== undefined && source[i + 2] !== ']') {
        const end = source[i + 2]!;
        const range = `${c}-${end}`;
        if (LETTER.test(c) && LETTER.test(end) && (c === c.toLowerCase()) === (end === end.toLowerCase())) out += `${range}${swapCase(c)}-${swapCase(end)}`;
        else if (rangeHasLetters(c, end)) throw new Error(`caseInsensitivePattern: range ${range} mixes letters and other characters in /${source}/i`);
        else out += range;
        i += 2;
      } else out += LETTER.test(c) ? `${c}${swapCase(c)}` : c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '(' && source.startsWith('(?<', i) && !/^\(\?<[=!]/.test(source.slice(i))) {
      throw new Error(`caseInsensitivePattern: named groups are not supported in /${source}/i`);
    } else if (c === '{') {
      // a quantifier ({0,62}): digits and a comma only
      const close = source.indexOf('}', i);
      out += source.slice(i, close + 1);
      i = close;
    } else out += LETTER.test(c) ? `[${c}${swapCase(c)}]` : c;
  }
  return out;
}

function rangeHasLetters(from: string, to: string): boolean {
  const [a, b] = [from.charCodeAt(0), to.charCodeAt(0)];
  return (a <= 90 && b >= 65) || (a <= 122 && b >= 97);
}

interface ZodCheckDef {
  _zod: { def: { pattern?: unknown } };
}

/** Rewrites the patterns of a string schema whose regex had flags: `pattern` itself, or each `allOf` entry. */
function carryRegexFlags(zodSchema: { _zod: { def: { checks?: ZodCheckDef[] } } }, json: JsonSchema): void {
  for (const check of zodSchema._zod.def.checks ?? []) {
    const regex = check._zod.def.pattern;
    if (!(regex instanceof RegExp)) continue;
    const flags = regex.flags.replace(/[gu]/g, '');
    if (flags === '') continue;
    if (flags !== 'i') throw new Error(`gen-spec-schema: regex flags '${regex.flags}' of /${regex.source}/ have no JSON Schema form`);
    const folded = caseInsensitivePattern(regex.source);
    if (json['pattern'] === regex.source) json['pattern'] = folded;
    for (const part of (json['allOf'] as JsonSchema[] | undefined) ?? []) if (part['pattern'] === regex.source) part['pattern'] = folded;
  }
}

/** The JSON Schema (draft-07, which every editor's YAML/JSON language server reads) of the cluster spec file. */
export function clusterSpecJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(clusterSpecSchema, {
    target: 'draft-07',
    io: 'input',
    override: ({ zodSchema, jsonSchema }) => carryRegexFlags(zodSchema as never, jsonSchema as JsonSchema),
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $comment: 'Generated by scripts/gen-spec-schema.ts from src/deploy/spec-schema.ts: do not edit.',
    title: 'etcd-kit cluster spec',
    description:
      'The cluster file of etcd-kit (cluster.yaml). It checks the shape of the file; rules across fields, on files and on settings are checked by etcd-kit itself: run etcd-kit plan -f cluster.yaml.',
    ...rest,
  };
}

/** The file's text: the schema as two-space JSON with a final newline. */
export function clusterSpecJsonSchemaText(): string {
  return `${JSON.stringify(clusterSpecJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] ?? SPEC_SCHEMA_FILE;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, clusterSpecJsonSchemaText());
  console.log(`wrote ${out}`);
}
