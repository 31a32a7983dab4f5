import { isIP } from 'node:net';
import { formatEnvFile } from './env-file.js';
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
import { type EtcdSettings, resolveSettings } from './settings.js';

/** Options of {@link renderEtcdEnv}. */
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
  /** Cluster-wide tunables. Default: {@link resolveSettings}`()`. */
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
}

const TOKEN = /^[A-Za-z0-9._-]{1,128}$/;
const WILDCARDS = new Set(['0.0.0.0', '::']);

function socketOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

/**
 * Renders the etcd 3.4 EnvironmentFile of one member: `ETCD_*` variables (etcd reads every flag from
 * `ETCD_<FLAG_IN_UPPER_SNAKE_CASE>`) in commented sections. mTLS is always on for clients and peers and no
 * plaintext client or peer listener is ever written. Output is deterministic: the same options give
 * byte-identical text, so a re-render that matches the file on the host means "nothing to do".
 * Throws `RENDER_INVALID_INPUT` naming the field for any bad input.
 *
 * Not emitted because etcd 3.4 has no such flag: `ETCD_TLS_MIN_VERSION` (3.4 always requires TLS ≥ 1.2).
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
 * });
 * ```
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
  const s = resolveSettings(opts.settings ?? {});

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

  const onOff = (b: boolean): string => (b ? 'true' : 'false');
  return formatEnvFile(
    [`etcd ${self.name}: rendered by etcd-kit. Edit the inputs and re-render; hand edits are overwritten.`],
    [
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
          ['ETCD_PRE_VOTE', onOff(s.preVote)],
          ['ETCD_ENABLE_V2', 'false'],
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
          ...(s.cipherSuites.length > 0 ? [['ETCD_CIPHER_SUITES', s.cipherSuites.join(',')] as const] : []),
        ],
      },
      {
        title: 'Tuning',
        entries: [
          ['ETCD_HEARTBEAT_INTERVAL', String(s.heartbeatMs)],
          ['ETCD_ELECTION_TIMEOUT', String(s.electionMs)],
          ['ETCD_SNAPSHOT_COUNT', String(s.snapshotCount)],
          ['ETCD_QUOTA_BACKEND_BYTES', String(s.quotaBackendBytes)],
          ['ETCD_AUTO_COMPACTION_MODE', s.autoCompactionMode],
          ['ETCD_AUTO_COMPACTION_RETENTION', s.autoCompactionRetention],
          ['ETCD_MAX_REQUEST_BYTES', String(s.maxRequestBytes)],
          ['ETCD_MAX_SNAPSHOTS', String(s.maxSnapshots)],
          ['ETCD_MAX_WALS', String(s.maxWals)],
          ['ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK', onOff(s.initialCorruptCheck)],
        ],
      },
      {
        title: 'Monitoring',
        entries: [
          ['ETCD_METRICS', s.metrics],
          ...(s.metricsUrls.length > 0 ? [['ETCD_LISTEN_METRICS_URLS', s.metricsUrls.join(',')] as const] : []),
        ],
      },
      {
        title: 'Logging',
        entries: [
          // zap to stderr: journald captures stderr of the unit, and capnslog is deprecated.
          ['ETCD_LOGGER', 'zap'],
          ['ETCD_LOG_OUTPUTS', 'stderr'],
          ['ETCD_LOG_LEVEL', s.logLevel],
        ],
      },
    ],
  );
}
