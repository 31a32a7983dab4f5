/**
 * createClusterPki: the whole certificate set of a cluster in one call, keys generated concurrently.
 * @module
 */
import { type Issuer, loadIssuer } from './issuer.js';
import { issueLeaf, selfSignCa } from './issue.js';
import { generateKey } from './keys.js';
import {
  type IssuerFacts,
  MEMBER_LOCAL_HOSTS,
  type ResolvedCaOptions,
  type ResolvedLeafOptions,
  resolveCaOptions,
  resolveClusterOptions,
  resolveLeafOptions,
} from './options.js';
import type { CertificateAuthority, ClusterPki, CreateClusterPkiOptions, IssuedCertificate } from './types.js';

/**
 * Creates the certificates of a whole cluster: a CA (or uses `opts.ca`), and per member a server and a
 * peer certificate carrying that member's own hosts plus `127.0.0.1` and `localhost` (never the other
 * members' addresses: a stolen key then only impersonates its own host), and one client certificate per
 * `opts.clients` entry (CN = the name, EKU clientAuth).
 *
 * Every input is validated before any key is generated. All keys are then generated at once: node:crypto
 * runs them on the libuv thread pool (`UV_THREADPOOL_SIZE` threads, default 4), so RSA key generation,
 * the dominant cost, uses up to that many cores; the event loop stays free meanwhile.
 *
 * @throws EtcdKitError PKI_INVALID_INPUT naming the field (`members[1].hosts[0]`, `members[2].name`,
 * `clients[0]`, `validityDays`, `keyAlgorithm`); CA errors as {@link signServerCert} (`ca.certPem`, `ca.keyPem`).
 * @example
 * ```ts
 * const pki = await createClusterPki({
 *   members: [
 *     { name: 'etcd01', hosts: ['10.0.0.11', 'etcd01.lan'] },
 *     { name: 'etcd02', hosts: ['10.0.0.12', 'etcd02.lan'] },
 *     { name: 'etcd03', hosts: ['10.0.0.13', 'etcd03.lan'] },
 *   ],
 * });
 * await writePkiDir('./pki', pki);
 * ```
 * @category PKI
 */
export async function createClusterPki(opts: CreateClusterPkiOptions): Promise<ClusterPki> {
  const now = new Date();
  const cluster = resolveClusterOptions(opts);

  let existing: Issuer | undefined;
  let caPlan: ResolvedCaOptions | undefined;
  let facts: IssuerFacts;
  if (cluster.ca) {
    existing = loadIssuer(cluster.ca, 'ca', now);
    facts = existing;
  } else {
    caPlan = resolveCaOptions({ keyAlgorithm: cluster.keyAlgorithm }, now);
    facts = caPlan;
  }

  const shared = { keyAlgorithm: cluster.keyAlgorithm, validityDays: cluster.validityDays };
  const topLevel = { validityDays: 'validityDays', keyAlgorithm: 'keyAlgorithm', organization: 'organization' };
  const leaves: ResolvedLeafOptions[] = [];
  for (const member of cluster.members) {
    const fields = { ...topLevel, commonName: `${member.field}.name`, hosts: `${member.field}.hosts` };
    for (const kind of ['server', 'peer'] as const) {
      const options = { ...shared, commonName: member.name, hosts: member.hosts as string[] };
      leaves.push(resolveLeafOptions({ kind, options, extraHosts: MEMBER_LOCAL_HOSTS }, facts, now, fields));
    }
  }
  for (const client of cluster.clients) {
    const fields = { ...topLevel, commonName: client.field, hosts: client.field };
    leaves.push(resolveLeafOptions({ kind: 'client', options: { ...shared, commonName: client.name } }, facts, now, fields));
  }

  const [caKeys, leafKeys] = await Promise.all([
    caPlan ? generateKey(caPlan.keyAlgorithm) : undefined,
    Promise.all(leaves.map((leaf) => generateKey(leaf.keyAlgorithm))),
  ]);

  let ca: CertificateAuthority;
  let issuer: Issuer;
  if (existing) {
    ca = { certPem: cluster.ca!.certPem, keyPem: cluster.ca!.keyPem };
    issuer = existing;
  } else {
    ({ ca, issuer } = selfSignCa(caPlan!, caKeys!));
  }

  const issued = leaves.map((leaf, i) => issueLeaf(issuer, leaf, leafKeys[i]!));
  const next = (): IssuedCertificate => issued.shift()!;
  const members: ClusterPki['members'] = {};
  for (const member of cluster.members) members[member.name] = { server: next(), peer: next() };
  const clients: ClusterPki['clients'] = {};
  for (const client of cluster.clients) clients[client.name] = next();
  return { ca, members, clients };
}
