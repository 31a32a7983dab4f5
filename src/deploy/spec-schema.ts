/**
 * The cluster spec's shape, as a zod schema. Pure data rules only (types, ranges, formats); checks that
 * need the file system or several fields at once live in resolve-spec.ts.
 * @module
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { KEY_ALGORITHMS } from '../pki/index.js';
import type { ClusterSpecInput } from './spec-types.js';


// etcd member names end up in URLs-free places (env file, cert CN, file names): keep them boring.
const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const LOOKS_LIKE_IPV4 = /^\d+(\.\d+){3}$/;
const SHA256_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const SHA256_HEX = /^[a-f0-9]{64}$/i;

/** True for an IPv4/IPv6 literal or a syntactically valid DNS name (but not an invalid dotted quad). */
export function isHostAddress(value: string): boolean {
  if (isIP(value) !== 0) return true;
  if (LOOKS_LIKE_IPV4.test(value)) return false;
  return DNS_NAME.test(value);
}

const hostAddress = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .refine(isHostAddress, { message: 'must be an IPv4/IPv6 address or a DNS name' });

const port = z.number({ error: 'must be a number' }).int('must be an integer').min(1).max(65535);
const nonEmptyPath = z.string({ error: 'must be a string' }).min(1, 'must not be empty');
const fingerprint = z.string().regex(SHA256_FINGERPRINT, "must be 'SHA256:' + 43 base64 characters, as ssh-keygen -lf prints it");

const memberSsh = z
  .object({
    port: port.optional(),
    user: z.string().min(1).optional(),
    privateKeyPath: nonEmptyPath.optional(),
    hostKeyFingerprint: fingerprint.optional(),
  })
  .strict();

const member = z
  .object({
    name: z.string({ error: 'is required' }).regex(MEMBER_NAME, 'must be 1-63 characters of [A-Za-z0-9._-], starting with a letter or digit'),
    host: hostAddress,
    address: hostAddress.optional(),
    extraSans: z.array(hostAddress).optional(),
    ssh: memberSsh.optional(),
  })
  .strict();

const ssh = z
  .object({
    user: z.string().min(1).optional(),
    port: port.optional(),
    privateKeyPath: nonEmptyPath.optional(),
    passphrase: z.string().optional(),
    agent: z.union([z.boolean(), nonEmptyPath]).optional(),
    knownHostsPath: nonEmptyPath.optional(),
    hostKeyFingerprints: z.record(z.string(), fingerprint).optional(),
    acceptUnknownHostKeys: z.boolean().optional(),
    readyTimeoutMs: z.number().int().min(100).max(600_000).optional(),
  })
  .strict();

// One object with optional keys (not a union) so each mistake is reported on its own field.
const etcdSource = z
  .object(
    {
      tarball: nonEmptyPath.optional(),
      url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
      // YAML reads an all-digit checksum as a number: say how to fix it rather than "expected string".
      sha256: z
        .string({ error: 'must be a string of 64 hex characters (quote it in YAML)' })
        .regex(SHA256_HEX, 'must be 64 hex characters')
        .optional(),
      binDir: nonEmptyPath.optional(),
    },
    { error: 'must be an object: { tarball }, { url, sha256 } or { binDir }' },
  )
  .strict()
  .superRefine((src, ctx) => {
    const kinds = (['tarball', 'url', 'binDir'] as const).filter((k) => src[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'must set exactly one of tarball, url (with sha256) or binDir' });
    } else if (kinds[0] === 'url' && src.sha256 === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'is required with url (the download is verified before any host is touched)' });
    } else if (kinds[0] !== 'url' && src.sha256 !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['sha256'], message: 'only goes with url' });
    }
  });

const absolutePath = z.string().regex(/^\/[^\s"'\\$`]*$/, 'must be an absolute path without spaces or quotes');

/** @internal The schema behind {@link ClusterSpecInput}; exported for resolve-spec only. */
export const clusterSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 characters of [A-Za-z0-9._-]').optional(),
    members: z.array(member, { error: 'must be a list of members' }).min(1, 'must list at least one member'),
    ssh: ssh.optional(),
    etcd: etcdSource,
    pki: z
      .object({
        dir: nonEmptyPath.optional(),
        keyAlgorithm: z.enum(KEY_ALGORITHMS).optional(),
        clients: z.array(z.string().regex(MEMBER_NAME, 'must be 1-63 characters of [A-Za-z0-9._-]')).optional(),
        renewBeforeDays: z.number().int('must be a whole number of days').min(0).max(3650).optional(),
      })
      .strict()
      .optional(),
    layout: z.object({ prefix: absolutePath.optional(), dataDir: absolutePath.optional() }).strict().optional(),
    ports: z.object({ client: port.optional(), peer: port.optional() }).strict().optional(),
    // Ranges and cross-field rules of settings live in one place, render's resolveSettings (resolve-spec.ts calls it).
    settings: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
  })
  .strict();

// The documented interface and the schema must describe the same thing: every valid input is assignable.
type SchemaInput = z.input<typeof clusterSpecSchema>;
type AssertAssignable<T extends SchemaInput> = T;
// (settings are checked by render's resolveSettings, so the schema only knows them as an object)
export type _SpecMatchesSchema = AssertAssignable<Omit<ClusterSpecInput, 'settings'> & { settings?: Record<string, unknown> }>;
