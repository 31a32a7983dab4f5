import { isIP } from 'node:net';
import { type EnvSection, formatEnvFile } from './env-file.js';
import { assertEnvForEtcdVersion } from './env-guard.js';
import { DEFAULT_ETCD_VERSION, resolveEtcdVersion } from './etcd-versions.js';
import { assertSafeValue, invalidInput } from './invalid.js';
import { type EtcdLayout, resolveLayout } from './layout.js';
import {
  type ClusterMember,
  clientUrl,
  DEFAULT_CLIENT_PORT,
  DEFAULT_PEER_PORT,
  peerUrl,
  urlHost,
  validateClusterMembers,
} from './members.js';
import { settingsForEtcdVersion } from './setting-vars.js';
import { type EtcdSettings, resolveSettingsWithOrigin } from './settings.js';

/**
 * Options of {@link renderEtcdEnv}.
 * @category Rendering
 */
export interface RenderEtcdEnvOptions {
  /** Name of the member this file is for; must be one of `members`. */
  member: string;
  /** Every member of the cluster (for `state: 'existing'`: the members after this one joins). */
  members: ClusterMember[];
  /** Initial cluster token (`ETCD_INITIAL_CLUSTER_TOKEN`): 1–128 characters of `A-Z a-z 0-9 . _ -`, unique per cluster. */
  token: string;
  /** `'new'` to bootstrap the cluster, `'existing'` to join a running one. Default: `'new'`. */
  state?: 'new' | 'existing';
  /** Paths on the host (data dir, TLS files). Default: {@link resolveLayout}`()`. */
  layout?: Partial<EtcdLayout>;
  /** Cluster-wide tunables. Default: {@link etcd-kit/render!resolveSettings | resolveSettings}`()`. */
  settings?: EtcdSettings;
  /**
   * Also serve clients on `https://127.0.0.1:<clientPort>` (local tools and health checks; the server certificate
   * then needs the 127.0.0.1 SAN). Skipped when the member already listens there. Default: true.
   */
  listenLocalhost?: boolean;
  /**
   * IP address the client and peer listeners bind to. etcd only binds IP addresses, so the default is the member's
   * address when that is an IP, and `0.0.0.0` (all IPv4 interfaces) when it is a DNS name.
   */
  listenAddress?: string;
  /**
   * etcd release the file is for, `X.Y.Z`: only variables that exact release reads are written, under the names it
   * uses (see {@link resolveEtcdVersion}). Default: {@link DEFAULT_ETCD_VERSION} (`'3.6.14'`). Pass the version of
   * the binary you install: a 3.4 binary given a 3.6 file only logs the names it does not know and loses those settings.
   */
  etcdVersion?: string;
}

const TOKEN = /^[A-Za-z0-9._-]{1,128}$/;
const WILDCARDS = new Set(['0.0.0.0', '::']);

function socketOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

/**
 * Renders the etcd EnvironmentFile of one member for one etcd release (`etcdVersion`, default
 * {@link DEFAULT_ETCD_VERSION}): `ETCD_*` variables (etcd reads every flag from `ETCD_<FLAG_IN_UPPER_SNAKE_CASE>`)
 * in commented sections. mTLS is always on for clients and peers and no plaintext client or peer listener is ever
 * written. Output is deterministic: the same options give byte-identical text, so a re-render that matches the
 * file on the host means "nothing to do". Throws `RENDER_INVALID_INPUT` naming the field for any bad input.
 *
 * Version-aware: every name written is one that exact release lists in `etcd --help`, never a deprecated one
 * (checked once more right before formatting). So, for example:
 * - 3.4 (before 3.4.25) and 3.5 (before 3.5.8) get no `ETCD_TLS_MIN_VERSION` (their minimum is fixed at TLS 1.2;
 *   `tlsMinVersion: 'TLS1.3'` is refused there).
 * - 3.4 gets `ETCD_ENABLE_V2="false"`; 3.5 deprecates and 3.6 removed the variable (v2 is off by default).
 * - 3.4/3.5 get `ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK`, 3.6+ `ETCD_FEATURE_GATES="InitialCorruptCheck=true"`.
 * - 3.6+ deprecate `ETCD_MAX_SNAPSHOTS` (and 3.6.0–3.6.7 `ETCD_SNAPSHOT_COUNT`): left to etcd's default, which
 *   is etcd-kit's, unless set explicitly, which is refused.
 *
 * @example
 * ```ts
 * const text = renderEtcdEnv({
 *   member: 'etcd01',
 *   members: [
 *     { name: 'etcd01', address: '192.168.35.128' },
 *     { name: 'etcd02', address: '192.168.35.195' },
 *     { name: 'etcd03', address: '192.168.35.138' },
 *   ],
 *   token: 'k8s-etcd-7f3a9c',
 *   etcdVersion: '3.5.33', // the release the hosts run
 * });
 * ```
 * @category Rendering
 */
export function renderEtcdEnv(opts: RenderEtcdEnvOptions): string {
  if (opts === null || typeof opts !== 'object') throw invalidInput('options', 'must be an object');
  validateClusterMembers(opts.members, 'members');
  if (typeof opts.member !== 'string') throw invalidInput('member', 'must be the name of one of members');
  const self = opts.members.find((m) => m.name === opts.member);
  if (!self) {
    throw invalidInput('member', `'${opts.member}' is not in members (${opts.members.map((m) => m.name).join(', ')})`);
  }
  if (typeof opts.token !== 'string' || !TOKEN.test(opts.token)) {
    throw invalidInput('token', 'must be 1-128 characters of A-Z a-z 0-9 . _ -');
  }
  const state = opts.state ?? 'new';
  if (state !== 'new' && state !== 'existing') throw invalidInput('state', `must be 'new' or 'existing', got ${JSON.stringify(state)}`);
  const listenLocalhost = opts.listenLocalhost ?? true;
  if (typeof listenLocalhost !== 'boolean') throw invalidInput('listenLocalhost', 'must be true or false');
  const layout = resolveLayout(opts.layout ?? {});
  const v = resolveEtcdVersion(opts.etcdVersion ?? DEFAULT_ETCD_VERSION, 'etcdVersion');
  const origin = resolveSettingsWithOrigin(opts.settings ?? {});
  const s = origin.settings;
  const versioned = settingsForEtcdVersion(v, origin);
  /** The setting's variable under this release's name, or nothing when the release takes it otherwise. */
  const set = (key: keyof EtcdSettings): (readonly [string, string])[] => {
    const entry = versioned.vars.get(key);
    return entry ? [entry] : [];
  };
  // Off explicitly wherever the release still reads the variable undeprecated (3.4); 3.5 deprecates it, 3.6 removed it.
  const enableV2 = v.envVars.has('ETCD_ENABLE_V2') && !v.deprecatedEnvVars.has('ETCD_ENABLE_V2');

  let bindIp: string;
  if (opts.listenAddress !== undefined) {
    if (typeof opts.listenAddress !== 'string' || isIP(opts.listenAddress) === 0 || opts.listenAddress.includes('%')) {
      throw invalidInput('listenAddress', `must be an IPv4 or IPv6 address (no brackets), got ${JSON.stringify(opts.listenAddress)}`);
    }
    bindIp = opts.listenAddress;
  } else {
    bindIp = isIP(self.address) ? self.address : '0.0.0.0';
  }
  const clientPort = self.clientPort ?? DEFAULT_CLIENT_PORT;
  const peerPort = self.peerPort ?? DEFAULT_PEER_PORT;
  const listenPeer = `https://${urlHost(bindIp)}:${peerPort}`;
  const listenClients = [`https://${urlHost(bindIp)}:${clientPort}`];
  // A wildcard already covers loopback, and binding 127.0.0.1 on the same port next to it would fail.
  if (listenLocalhost && !WILDCARDS.has(bindIp) && bindIp !== '127.0.0.1') {
    listenClients.push(`https://127.0.0.1:${clientPort}`);
  }

  const taken = new Map<string, string>([[socketOf(listenPeer), 'the peer listener']]);
  for (const u of listenClients) taken.set(socketOf(u), 'a client listener');
  s.metricsUrls.forEach((u, i) => {
    const clash = taken.get(socketOf(u));
    if (clash) throw invalidInput(`settings.metricsUrls[${i}]`, `${u} is the same socket as ${clash} of member '${self.name}'`);
  });

  const initialCluster = opts.members.map((m) => `${m.name}=${peerUrl(m)}`).join(',');
  // Belt and braces: everything below is validated already, but a value that could escape its quotes must never be written.
  assertSafeValue(initialCluster, 'members');

  const sections: EnvSection[] = [
    {
      title: 'Member',
      entries: [
        ['ETCD_NAME', self.name],
        ['ETCD_DATA_DIR', layout.dataDir],
        ['ETCD_LISTEN_PEER_URLS', listenPeer],
        ['ETCD_LISTEN_CLIENT_URLS', listenClients.join(',')],
      ],
    },
    {
      title: 'Clustering',
      entries: [
        ['ETCD_INITIAL_ADVERTISE_PEER_URLS', peerUrl(self)],
        ['ETCD_ADVERTISE_CLIENT_URLS', clientUrl(self)],
        ['ETCD_INITIAL_CLUSTER', initialCluster],
        ['ETCD_INITIAL_CLUSTER_TOKEN', opts.token],
        ['ETCD_INITIAL_CLUSTER_STATE', state],
        ['ETCD_STRICT_RECONFIG_CHECK', 'true'],
        ...set('preVote'),
        ...(enableV2 ? [['ETCD_ENABLE_V2', 'false'] as const] : []),
      ],
    },
    {
      title: 'Security',
      entries: [
        ['ETCD_CERT_FILE', layout.serverCertFile],
        ['ETCD_KEY_FILE', layout.serverKeyFile],
        ['ETCD_TRUSTED_CA_FILE', layout.caFile],
        ['ETCD_CLIENT_CERT_AUTH', 'true'],
        ['ETCD_PEER_CERT_FILE', layout.peerCertFile],
        ['ETCD_PEER_KEY_FILE', layout.peerKeyFile],
        ['ETCD_PEER_TRUSTED_CA_FILE', layout.caFile],
        ['ETCD_PEER_CLIENT_CERT_AUTH', 'true'],
        ...set('tlsMinVersion'),
        ...set('cipherSuites'),
      ],
    },
    {
      title: 'Tuning',
      entries: [
        ...set('heartbeatMs'),
        ...set('electionMs'),
        ...set('snapshotCount'),
        ...set('quotaBackendBytes'),
        ...set('autoCompactionMode'),
        ...set('autoCompactionRetention'),
        ...set('maxRequestBytes'),
        ...set('maxSnapshots'),
        ...set('maxWals'),
        ...set('initialCorruptCheck'),
        ...(versioned.gates.length > 0 ? [['ETCD_FEATURE_GATES', versioned.gates.join(',')] as const] : []),
      ],
    },
    {
      title: 'Monitoring',
      entries: [
        ...set('metrics'),
        ...set('metricsUrls'),
      ],
    },
    {
      title: 'Logging',
      entries: [
        // zap to stderr: journald captures stderr of the unit; 3.4 defaults to capnslog, which 3.5 removed.
        ['ETCD_LOGGER', 'zap'],
        ['ETCD_LOG_OUTPUTS', 'stderr'],
        ...set('logLevel'),
      ],
    },
  ];
  assertEnvForEtcdVersion(v, sections);
  return formatEnvFile([`etcd ${self.name}: rendered by etcd-kit for etcd ${v.text}. Edit the inputs and re-render; hand edits are overwritten.`], sections);
}
