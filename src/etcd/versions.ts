/**
 * What a running cluster says about versions beyond each member's status: etcd's cluster version (the
 * minor every member agreed on) and whether etcd auth is enabled — the two cluster-wide facts the upgrade
 * rules need. Read-only.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import type { Etcd3 } from 'etcd3';
import { EtcdKitError } from '../errors.js';
import type { EtcdTlsOptions } from './options.js';

/**
 * What etcd's `/version` endpoint reports.
 * @category etcd client
 */
export interface EtcdVersionInfo {
  /** The endpoint that answered. */
  endpoint: string;
  /** That member's server version, `X.Y.Z`. */
  serverVersion: string;
  /**
   * The cluster version `X.Y.Z` (patch always 0): the lowest minor among the members, raised by the leader
   * a few seconds after the last member runs a newer one. Absent while etcd has not decided it yet
   * (`not_decided`, right after a bootstrap).
   */
  clusterVersion?: string;
}

const VERSION = /^\d+\.\d+\.\d+$/;

/**
 * Asks one member's client URL for `GET /version` over mutual TLS (etcd serves it next to gRPC on the same
 * port, in 3.4 as in 3.7: `{"etcdserver":"3.5.30","etcdcluster":"3.5.0"}`). The gRPC API has no call for
 * the cluster version.
 */
export function fetchVersionEndpoint(endpoint: string, tls: EtcdTlsOptions, timeoutMs: number, signal?: AbortSignal): Promise<EtcdVersionInfo> {
  return new Promise((resolve, reject) => {
    const fail = (message: string, cause?: unknown) =>
      reject(new EtcdKitError('ETCD_REQUEST_FAILED', `${endpoint}: GET /version: ${message}`, { ...(cause === undefined ? {} : { cause }), details: { endpoint } }));
    const req = request(
      `${endpoint}/version`,
      { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: timeoutMs, ...(signal ? { signal } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // The answer is ~50 bytes: anything long is not etcd.
          if (body.length < 4096) body += chunk;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}`);
          let parsed: { etcdserver?: unknown; etcdcluster?: unknown };
          try {
            parsed = JSON.parse(body) as typeof parsed;
          } catch (err) {
            return fail('the answer is not JSON', err);
          }
          if (typeof parsed.etcdserver !== 'string' || !VERSION.test(parsed.etcdserver)) return fail(`unexpected answer ${body.slice(0, 200)}`);
          const cluster = typeof parsed.etcdcluster === 'string' && VERSION.test(parsed.etcdcluster) ? parsed.etcdcluster : undefined;
          resolve({ endpoint, serverVersion: parsed.etcdserver, ...(cluster ? { clusterVersion: cluster } : {}) });
        });
        res.on('error', (err) => fail(err.message, err));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => fail(err.message, err));
    req.end();
  });
}

// A user name no one creates; with auth enabled etcd answers "authentication failed" without hashing a
// password (the user does not exist), with auth disabled "authentication is not enabled".
const PROBE_USER = 'etcd-kit-auth-probe';

/**
 * Whether etcd auth is enabled, read with one Authenticate call for a user that does not exist. The
 * AuthStatus call is no use here: 3.4 does not have it, and 3.5/3.6 refuse it on an auth-enabled cluster
 * to a client without a user name (checked on 3.4.23, 3.5.33, 3.6.14 and 3.7.1). Authenticate answers
 * "authentication is not enabled" (FailedPrecondition) or "authentication failed" on every release.
 * Needs a quorum (etcd serves Authenticate after a linearizable read). Throws the raw error otherwise.
 */
export async function probeAuthEnabled(client: Etcd3, timeoutMs: number): Promise<boolean> {
  const password = randomBytes(18).toString('base64url');
  try {
    await client.auth.authenticate({ name: PROBE_USER, password }, { deadline: Date.now() + timeoutMs });
    // Someone created the probe user with this very password: auth is on all the same.
    return true;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (/authentication is not enabled/.test(text)) return false;
    if (/authentication failed|invalid user ID or password/.test(text)) return true;
    throw err;
  }
}
