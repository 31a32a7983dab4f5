import { formatEnvFile } from './env-file.js';
import { assertAbsolutePath, assertSafeValue, invalidInput } from './invalid.js';
import { type EtcdLayout, resolveLayout } from './layout.js';

/** Options of {@link renderEtcdctlEnv}. */
export interface RenderEtcdctlEnvOptions {
  /** Client URLs etcdctl talks to, e.g. `['https://10.0.0.1:2379']`. https only. */
  endpoints: string[];
  /** Paths on the host. Default: {@link resolveLayout}`()`. */
  layout?: Partial<EtcdLayout>;
  /** Client certificate. Default: the member's server certificate (`layout.serverCertFile`), which carries clientAuth. */
  certFile?: string;
  /** Key of the client certificate. Default: `layout.serverKeyFile`. */
  keyFile?: string;
  /** CA that signed the etcd server certificates. Default: `layout.caFile`. */
  caFile?: string;
}

function checkEndpoint(raw: unknown, field: string): string {
  if (typeof raw !== 'string') throw invalidInput(field, 'must be a URL string');
  assertSafeValue(raw, field);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidInput(field, `not a URL: '${raw}'`);
  }
  if (url.protocol !== 'https:') throw invalidInput(field, `must be an https:// URL (etcd-kit never talks plaintext), got '${raw}'`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || raw.includes(',')) {
    throw invalidInput(field, `must be https://host:port only, got '${raw}'`);
  }
  return `https://${url.host}`;
}

/**
 * Renders an env file for etcdctl v3 (`ETCDCTL_API`, `ETCDCTL_ENDPOINTS`, `ETCDCTL_CACERT`, `ETCDCTL_CERT`,
 * `ETCDCTL_KEY`), so an operator on a member runs `set -a; . /opt/etcd/cfg/etcdctl.env; etcdctl endpoint health`.
 * Deterministic; throws `RENDER_INVALID_INPUT` naming the field.
 *
 * @example
 * ```ts
 * renderEtcdctlEnv({ endpoints: ['https://192.168.35.128:2379'] });
 * ```
 */
export function renderEtcdctlEnv(opts: RenderEtcdctlEnvOptions): string {
  if (opts === null || typeof opts !== 'object') throw invalidInput('options', 'must be an object');
  if (!Array.isArray(opts.endpoints) || opts.endpoints.length === 0) throw invalidInput('endpoints', 'must be a non-empty array of https:// URLs');
  const endpoints = opts.endpoints.map((e, i) => checkEndpoint(e, `endpoints[${i}]`));
  const layout = resolveLayout(opts.layout ?? {});
  const file = (value: string | undefined, fallback: string, field: string): string => {
    if (value === undefined) return fallback;
    assertAbsolutePath(value, field);
    return value;
  };
  return formatEnvFile(
    ['etcdctl settings rendered by etcd-kit. Load with: set -a; . <this file>; set +a'],
    [
      {
        title: 'etcdctl',
        entries: [
          ['ETCDCTL_API', '3'],
          ['ETCDCTL_ENDPOINTS', endpoints.join(',')],
          ['ETCDCTL_CACERT', file(opts.caFile, layout.caFile, 'caFile')],
          ['ETCDCTL_CERT', file(opts.certFile, layout.serverCertFile, 'certFile')],
          ['ETCDCTL_KEY', file(opts.keyFile, layout.serverKeyFile, 'keyFile')],
        ],
      },
    ],
  );
}
