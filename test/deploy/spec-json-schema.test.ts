// The JSON Schema editors check cluster.yaml with (schema/cluster-spec.schema.json) against the validator: the
// committed file is what the generator makes from the zod schema now, it refuses the malformed specs of the
// validator's table (at the same field) except those only code can check, listed below with the reason, and it
// accepts the good specs, the example `etcd-kit init` writes included.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { caseInsensitivePattern, clusterSpecJsonSchemaText, SPEC_SCHEMA_FILE } from '../../scripts/gen-spec-schema.js';
import { resolveClusterSpec } from '../../src/deploy/resolve-spec.js';
import { EtcdKitError } from '../../src/errors.js';
import { EXAMPLE_SPEC_YAML } from '../../src/cli/example-spec.js';
import { bad, binDir, dir, good, key, members, type Spec, tarball } from './spec-cases.js';

const schemaText = readFileSync(SPEC_SCHEMA_FILE, 'utf8');
// strict: the schema itself must be a valid draft-07 schema using no keyword ajv does not know.
const ajv = new Ajv({ allErrors: true, strict: true, formats: { uri: (s: string) => URL.canParse(s) } });
const validate = ajv.compile(JSON.parse(schemaText));
const env = { HOME: dir };

/** What a YAML or JSON file can hold: no `undefined`, no functions. */
const asFile = (spec: unknown): unknown => JSON.parse(JSON.stringify(spec));

/** An ajv error's place in the spec, written as the validator's `field` (`members[1].name`). */
function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params['additionalProperty']));
  if (e.keyword === 'required') parts.push(String(e.params['missingProperty']));
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '') || '(spec)';
}

function schemaErrors(spec: unknown): string[] {
  return validate(asFile(spec)) ? [] : (validate.errors ?? []).map((e) => `${fieldOf(e)}: ${e.message ?? e.keyword}`);
}

// Cases of the validator's table the schema cannot refuse, by title. Each must still be accepted by the schema
// (when the schema learns the rule, move the case out of this list) and refused by the validator.
const REFINEMENT = 'a zod refinement (code, no JSON Schema form)';
const ACROSS = 'a rule across fields or list entries, checked in resolve-spec.ts';
const FILES = 'files on this machine or its environment, checked when the spec is resolved';
const SETTINGS = "settings are checked by render's resolveSettings; the schema knows them only as an object";
const VALIDATOR_ONLY: Record<string, string> = {
  'invalid dotted quad': REFINEMENT,
  'host with a space': REFINEMENT,
  'host is a URL': REFINEMENT,
  'bad extra SAN': REFINEMENT,
  'etcd source of two kinds': REFINEMENT,
  'url without sha256': REFINEMENT,
  'sha256 without url': REFINEMENT,
  'url with a file scheme': REFINEMENT,
  'duplicate member names': ACROSS,
  'duplicate hosts': ACROSS,
  'fingerprint for no member': ACROSS,
  'duplicate client cert': ACROSS,
  'same client and peer port': ACROSS,
  'missing private key file': FILES,
  'missing known_hosts file': FILES,
  'no SSH credentials at all': FILES,
  'missing tarball': FILES,
  'tarball is a directory': FILES,
  'binDir without binaries': FILES,
  'pki dir is a file': FILES,
  'election below 5x heartbeat': SETTINGS,
  'unknown setting': SETTINGS,
  'quota as a string': SETTINGS,
  'plaintext metrics on a public address': SETTINGS,
};

function validatorField(spec: unknown): string | undefined {
  try {
    resolveClusterSpec(spec, { env, baseDir: dir });
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(EtcdKitError);
    expect((err as EtcdKitError).code).toBe('INVALID_SPEC');
    return (err as EtcdKitError).field;
  }
}

describe('schema/cluster-spec.schema.json', () => {
  it('is what scripts/gen-spec-schema.ts generates from the zod schema now (run npm run build to refresh it)', () => {
    expect(schemaText).toBe(clusterSpecJsonSchemaText());
  });

  it('names only cases of the table as validator only', () => {
    const titles = new Set(bad.map(([title]) => title));
    expect(Object.keys(VALIDATOR_ONLY).filter((t) => !titles.has(t))).toEqual([]);
  });

  const [schemaCases, validatorOnlyCases] = [bad.filter(([t]) => !(t in VALIDATOR_ONLY)), bad.filter(([t]) => t in VALIDATOR_ONLY)];

  it.each(schemaCases)('refuses %s, at %s, as the validator does', (_title, field, mutate) => {
    const errors = schemaErrors(mutate(good() as Spec));
    expect(errors, 'the schema accepts it').not.toEqual([]);
    expect(errors.some((e) => e.startsWith(`${field}: `)), `no schema error at ${field}: ${errors.join('; ')}`).toBe(true);
  });

  it.each(validatorOnlyCases)('validator only: %s (at %s)', (title, field, mutate) => {
    const spec = mutate(good() as Spec);
    expect(schemaErrors(spec), `the schema refuses it now: take '${title}' out of VALIDATOR_ONLY (${VALIDATOR_ONLY[title]})`).toEqual([]);
    expect(validatorField(spec)).toBe(field);
  });

  const goodSpecs: [title: string, spec: unknown][] = [
    ['the minimal good spec', good()],
    ['ssh-agent instead of a key', { members, etcd: { tarball } }],
    ['pki without a dir (it defaults to ./pki)', { ...good(), pki: { keyAlgorithm: 'rsa-2048' } }],
    ['a url source with an upper-case checksum', { ...good(), etcd: { url: 'http://127.0.0.1:8080/etcd.tar.gz', sha256: 'AB'.repeat(32) } }],
    [
      'every section set',
      {
        name: 'prod-etcd',
        members: [
          { name: 'a', host: 'a.example.com', address: '10.1.0.1', extraSans: ['etcd.example.com'], ssh: { port: 2222, user: 'deployer', hostKeyFingerprint: `SHA256:${'B'.repeat(43)}` } },
          { name: 'b', host: '10.1.0.2' },
          { name: 'c', host: 'fd00::3' },
        ],
        etcd: { binDir },
        ssh: { privateKeyPath: key, agent: false, hostKeyFingerprints: { b: `SHA256:${'A'.repeat(43)}` }, acceptUnknownHostKeys: false, readyTimeoutMs: 20_000 },
        layout: { prefix: '/srv/etcd', dataDir: '/data/etcd' },
        ports: { client: 12379, peer: 12380 },
        pki: { dir: 'certs', keyAlgorithm: 'ecdsa-p384', clients: ['admin', 'backup'], renewBeforeDays: 60 },
        settings: { heartbeatMs: 250, electionMs: 2500, metricsUrls: ['http://127.0.0.1:2381'] },
      },
    ],
  ];

  it.each(goodSpecs)('accepts %s, as the validator does', (_title, spec) => {
    expect(schemaErrors(spec)).toEqual([]);
    expect(() => resolveClusterSpec(spec, { env: { ...env, SSH_AUTH_SOCK: '/tmp/agent.sock' }, baseDir: dir })).not.toThrow();
  });

  it('accepts the example etcd-kit init writes, and so does the validator once its files exist', () => {
    const example = parseYaml(EXAMPLE_SPEC_YAML);
    expect(schemaErrors(example)).toEqual([]);
    const exampleDir = mkdtempSync(join(tmpdir(), 'etcd-kit-example-'));
    try {
      mkdirSync(join(exampleDir, '.ssh'));
      writeFileSync(join(exampleDir, '.ssh', 'id_ed25519'), 'placeholder key file');
      writeFileSync(join(exampleDir, 'etcd-v3.6.14-linux-amd64.tar.gz'), 'placeholder tarball');
      expect(resolveClusterSpec(example, { env: { HOME: exampleDir }, baseDir: exampleDir }).members).toHaveLength(3);
    } finally {
      rmSync(exampleDir, { recursive: true, force: true });
    }
  });

  it('is what the example points editors at, and what the package ships and exports', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[]; exports: Record<string, unknown> };
    expect(EXAMPLE_SPEC_YAML.split('\n')[0]).toBe('# yaml-language-server: $schema=./node_modules/etcd-kit/schema/cluster-spec.schema.json');
    expect(pkg.exports['./schema/cluster-spec.schema.json']).toBe('./schema/cluster-spec.schema.json');
    expect(pkg.files).toContain('schema/cluster-spec.schema.json');
  });
});

describe('caseInsensitivePattern (JSON Schema patterns have no flags)', () => {
  it('adds the other case to letters and letter ranges, leaves the rest alone', () => {
    expect(caseInsensitivePattern('^[a-f0-9]{64}$')).toBe('^[a-fA-F0-9]{64}$');
    expect(caseInsensitivePattern('^SHA256:[A-Z+/]{43}\\.x$')).toBe('^[Ss][Hh][Aa]256:[A-Za-z+/]{43}\\.[xX]$');
    expect(caseInsensitivePattern('^(?=.{1,9}$)[_q-]\\d+$')).toBe('^(?=.{1,9}$)[_qQ-]\\d+$');
  });

  it('refuses what it cannot fold', () => {
    expect(() => caseInsensitivePattern('[0-z]')).toThrow(/mixes/);
    expect(() => caseInsensitivePattern('\\x41')).toThrow(/escape/);
    expect(() => caseInsensitivePattern('(?<name>a)')).toThrow(/named groups/);
  });
});
