/**
 * Every default of the PKI module and the validation of every option, in one place. Public functions call
 * these resolvers first, so bad input fails before any key is generated.
 *
 * Why these defaults: the CA lives 10 years (the recipe's 87600h, kubeadm's CA). Leaf certificates live
 * 5 years: kubeadm's 1 year forces a renewal routine the recipe's users do not have (its certificates
 * lived 10 years), while 10-year leaves leave a lost key valid for a decade; 5 years sits between and
 * stays well inside the CA. A defaulted leaf lifetime is shortened to end with the CA; an explicit one
 * that outlives the CA is an error, since the caller asked for something the chain cannot deliver.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { type SanEntry, parseHosts } from './hosts.js';
import { KEY_ALGORITHMS, isKeyAlgorithm } from './keys.js';
import type {
  CertificateAuthority,
  ClientCertOptions,
  CreateCaOptions,
  CreateClusterPkiOptions,
  ExtendedKeyUsage,
  HostCertOptions,
  KeyAlgorithm,
} from './types.js';

/** Default CA common name. */
export const DEFAULT_CA_COMMON_NAME = 'etcd-ca';
/** Default CA lifetime in days (10 years). */
export const DEFAULT_CA_VALIDITY_DAYS = 3650;
/** Default leaf lifetime in days (5 years), shortened to the CA's end. */
export const DEFAULT_LEAF_VALIDITY_DAYS = 1825;
/**
 * Default key algorithm for a new CA (and for leaves when nothing else decides): ECDSA P-256, as k3s and
 * RKE2 use for their cluster certificates. Stronger than RSA-2048 (~128 vs ~112-bit security), keys in
 * milliseconds instead of seconds, and TLS handshakes cost etcd a fraction of the CPU (a 7-member
 * bootstrap: ~2.0 s of etcd CPU instead of ~3.5 s). etcd, Go, kube-apiserver and openssl all accept it.
 */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ecdsa-p256';
/** Default client certificates of {@link etcd-kit!createClusterPki | createClusterPki}. */
export const DEFAULT_CLIENTS: readonly string[] = ['admin', 'kube-apiserver'];
/** Hosts every member's server and peer certificates also carry, for local health checks and etcdctl. */
export const MEMBER_LOCAL_HOSTS: readonly string[] = ['127.0.0.1', 'localhost'];
/** Upper bound of any lifetime in days (100 years): beyond that it is a typo, not a plan. */
export const MAX_VALIDITY_DAYS = 36500;
/** notBefore is backdated by this much so hosts with a slightly slow clock accept fresh certificates. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The PKI module's defaults, for documentation and callers that want to show them. */
export const PKI_DEFAULTS = Object.freeze({
  /** CN of a new CA. */
  caCommonName: DEFAULT_CA_COMMON_NAME,
  /** Lifetime of a new CA in days. */
  caValidityDays: DEFAULT_CA_VALIDITY_DAYS,
  /** Lifetime of a leaf certificate in days, shortened to the CA's end. */
  leafValidityDays: DEFAULT_LEAF_VALIDITY_DAYS,
  /** Key algorithm of a new CA; leaves default to their CA's algorithm. */
  keyAlgorithm: DEFAULT_KEY_ALGORITHM,
  /** Client certificates {@link etcd-kit!createClusterPki | createClusterPki} issues. */
  clients: DEFAULT_CLIENTS,
  /** Hosts added to every member's server and peer certificates. */
  memberLocalHosts: MEMBER_LOCAL_HOSTS,
  /** Backdating of notBefore in milliseconds, for clock skew. */
  clockSkewMs: CLOCK_SKEW_MS,
});

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_NAME_LENGTH = 64; // X.520 ub-common-name / ub-organization-name
/** Member and client names become directory and file names in the PKI dir. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Kind of leaf certificate. */
export type LeafKind = 'server' | 'peer' | 'client';

/** Extended key usages per leaf kind: etcd 3.2+ also dials out with its server certificate. */
export const LEAF_EXTENDED_KEY_USAGE: Record<LeafKind, ExtendedKeyUsage[]> = {
  server: ['serverAuth', 'clientAuth'],
  peer: ['serverAuth', 'clientAuth'],
  client: ['clientAuth'],
};

const invalid = (field: string, message: string) =>
  new EtcdKitError('PKI_INVALID_INPUT', `${field}: ${message}`, { field });

const join = (prefix: string, field: string) => (prefix ? `${prefix}.${field}` : field);

function ensureObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'expected an object');
  return value as Record<string, unknown>;
}

/** A subject attribute: 1–64 characters, no surrounding whitespace, no control characters. */
export function checkNameAttribute(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(field, `expected a string, got ${typeof value}`);
  if (value.trim() === '') throw invalid(field, 'must not be empty');
  if (value !== value.trim()) throw invalid(field, 'must not start or end with whitespace');
  if ([...value].length > MAX_NAME_LENGTH) throw invalid(field, `must be at most ${MAX_NAME_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(field, 'must not contain control characters');
  return value;
}

/** A member or client name: a safe file name (letters, digits, `.`, `_`, `-`; not starting with `.`). */
export function checkSafeName(value: unknown, field: string): string {
  const name = checkNameAttribute(value, field);
  if (!SAFE_NAME.test(name)) {
    throw invalid(field, `${JSON.stringify(name)} must use only letters, digits, ".", "_", "-" and start with a letter or digit`);
  }
  return name;
}

function checkValidityDays(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_VALIDITY_DAYS) {
    throw invalid(field, `must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}, got ${String(value)}`);
  }
  return value;
}

function checkKeyAlgorithm(value: unknown, field: string): KeyAlgorithm {
  if (!isKeyAlgorithm(value)) {
    throw invalid(field, `unknown key algorithm ${JSON.stringify(value)}; use one of ${KEY_ALGORITHMS.join(', ')}`);
  }
  return value;
}

/** The validity window of a new certificate. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** Resolved options of {@link createCA}. */
export interface ResolvedCaOptions extends Validity {
  commonName: string;
  keyAlgorithm: KeyAlgorithm;
}

/** Validates {@link CreateCaOptions} and applies defaults; `now` anchors the validity window. */
export function resolveCaOptions(opts: CreateCaOptions | undefined, now: Date, prefix = ''): ResolvedCaOptions {
  const o = opts === undefined ? {} : ensureObject(opts, prefix || 'options');
  const days =
    o.validityDays === undefined
      ? DEFAULT_CA_VALIDITY_DAYS
      : checkValidityDays(o.validityDays, join(prefix, 'validityDays'));
  return {
    commonName:
      o.commonName === undefined ? DEFAULT_CA_COMMON_NAME : checkNameAttribute(o.commonName, join(prefix, 'commonName')),
    keyAlgorithm:
      o.keyAlgorithm === undefined ? DEFAULT_KEY_ALGORITHM : checkKeyAlgorithm(o.keyAlgorithm, join(prefix, 'keyAlgorithm')),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

/** What leaf resolution needs to know about the CA. */
export interface IssuerFacts extends Validity {
  /** The CA key's algorithm, the default for leaf keys. */
  keyAlgorithm: KeyAlgorithm | 'unsupported';
}

/** Resolved options of one leaf certificate. */
export interface ResolvedLeafOptions extends Validity {
  kind: LeafKind;
  commonName: string;
  organization: string | undefined;
  sans: SanEntry[];
  keyAlgorithm: KeyAlgorithm;
  extendedKeyUsage: ExtendedKeyUsage[];
}

/** Input of {@link resolveLeafOptions}: the public options plus, for member certs, hosts added implicitly. */
export interface LeafRequest {
  kind: LeafKind;
  options: HostCertOptions | ClientCertOptions;
  extraHosts?: readonly string[];
}

/**
 * Field names errors report for each leaf option: the option names themselves for a direct sign* call,
 * `members[1].name` / `members[1].hosts` / top-level `validityDays` for a createClusterPki call.
 */
export interface LeafFields {
  commonName: string;
  hosts: string;
  validityDays: string;
  keyAlgorithm: string;
  organization: string;
}

/** Validates one leaf's options against the CA's facts and applies defaults. */
export function resolveLeafOptions(
  request: LeafRequest,
  issuer: IssuerFacts,
  now: Date,
  fields: LeafFields,
): ResolvedLeafOptions {
  const o = ensureObject(request.options, 'options');
  const commonName = checkNameAttribute(o.commonName, fields.commonName);
  const organization =
    request.kind === 'client' && o.organization !== undefined
      ? checkNameAttribute(o.organization, fields.organization)
      : undefined;
  const sans = request.kind === 'client' ? [] : parseHosts(o.hosts, fields.hosts, request.extraHosts);
  const keyAlgorithm =
    o.keyAlgorithm !== undefined
      ? checkKeyAlgorithm(o.keyAlgorithm, fields.keyAlgorithm)
      : issuer.keyAlgorithm === 'unsupported'
        ? DEFAULT_KEY_ALGORITHM
        : issuer.keyAlgorithm;

  const notBefore = new Date(Math.max(now.getTime() - CLOCK_SKEW_MS, issuer.notBefore.getTime()));
  let notAfter: Date;
  if (o.validityDays === undefined) {
    notAfter = new Date(Math.min(now.getTime() + DEFAULT_LEAF_VALIDITY_DAYS * DAY_MS, issuer.notAfter.getTime()));
  } else {
    const days = checkValidityDays(o.validityDays, fields.validityDays);
    notAfter = new Date(now.getTime() + days * DAY_MS);
    if (notAfter > issuer.notAfter) {
      const maxDays = Math.floor((issuer.notAfter.getTime() - now.getTime()) / DAY_MS);
      throw invalid(
        fields.validityDays,
        `${days} days would outlive the CA, which expires ${issuer.notAfter.toISOString()} (at most ${maxDays} days)`,
      );
    }
  }
  return {
    kind: request.kind,
    commonName,
    organization,
    sans,
    keyAlgorithm,
    extendedKeyUsage: LEAF_EXTENDED_KEY_USAGE[request.kind],
    notBefore,
    notAfter,
  };
}

/** Field names for a leaf requested directly through signServerCert/signPeerCert/signClientCert. */
export const DIRECT_LEAF_FIELDS: LeafFields = {
  commonName: 'commonName',
  hosts: 'hosts',
  validityDays: 'validityDays',
  keyAlgorithm: 'keyAlgorithm',
  organization: 'organization',
};

/** Resolved options of {@link etcd-kit!createClusterPki | createClusterPki}. */
export interface ResolvedClusterOptions {
  members: { name: string; hosts: unknown; field: string }[];
  clients: { name: string; field: string }[];
  ca: CertificateAuthority | undefined;
  keyAlgorithm: KeyAlgorithm | undefined;
  validityDays: number | undefined;
}

/** Validates the cluster-level options (names, uniqueness); per-certificate checks follow in resolveLeafOptions. */
export function resolveClusterOptions(opts: CreateClusterPkiOptions): ResolvedClusterOptions {
  const o = ensureObject(opts, 'options');
  if (!Array.isArray(o.members) || o.members.length === 0) throw invalid('members', 'at least one member is required');
  const memberNames = new Set<string>();
  const members = o.members.map((member: unknown, i: number) => {
    const field = `members[${i}]`;
    const m = ensureObject(member, field);
    const name = checkSafeName(m.name, `${field}.name`);
    if (memberNames.has(name)) throw invalid(`${field}.name`, `duplicate member name ${JSON.stringify(name)}`);
    memberNames.add(name);
    return { name, hosts: m.hosts, field };
  });

  const clientList = o.clients === undefined ? DEFAULT_CLIENTS : o.clients;
  if (!Array.isArray(clientList)) throw invalid('clients', 'expected an array of client names');
  const clientNames = new Set<string>();
  const clients = clientList.map((client: unknown, i: number) => {
    const field = `clients[${i}]`;
    const name = checkSafeName(client, field);
    if (clientNames.has(name)) throw invalid(field, `duplicate client name ${JSON.stringify(name)}`);
    clientNames.add(name);
    return { name, field };
  });

  return {
    members,
    clients,
    ca: o.ca === undefined ? undefined : (ensureObject(o.ca, 'ca') as unknown as CertificateAuthority),
    keyAlgorithm: o.keyAlgorithm === undefined ? undefined : checkKeyAlgorithm(o.keyAlgorithm, 'keyAlgorithm'),
    validityDays: o.validityDays === undefined ? undefined : checkValidityDays(o.validityDays, 'validityDays'),
  };
}
