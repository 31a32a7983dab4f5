/**
 * Shared plumbing of the member operations: use the caller's connection or open (and later close) one,
 * and read a host's facts for a bundle.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { PreparedBundle } from './bundle.js';
import { connect, SshConnection } from './connection.js';
import { type FactsQuery, factsScript, type HostFacts, parseFacts } from './facts.js';
import type { RemoteCallOptions, SshTarget } from './types.js';

/**
 * Where an operation runs: a target to connect to, or an open connection to reuse (left open).
 * @category Remote hosts
 */
export type RemoteHost = SshTarget | SshConnection;

/** Runs `fn` on a connection: the given one, or a new one closed afterwards. */
export async function withConnection<T>(
  host: RemoteHost,
  options: RemoteCallOptions,
  fn: (conn: SshConnection) => Promise<T>,
): Promise<T> {
  if (host instanceof SshConnection) return fn(host);
  const name = (host as SshTarget | undefined)?.host ?? 'host';
  options.onProgress?.({ host: name, step: 'connect' });
  const conn = await connect(host, options.signal ? { signal: options.signal } : {});
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/**
 * The binaries' directory (links, version directories, a flat install's files), the flat `<binDir>/etcd`
 * whose `--version` tells the version of an install from before versioned paths, and the data dir.
 */
function etcdQuery(bundle: PreparedBundle): { etcdBinary: string; binDir: string; dataDir: string } {
  const binDir = bundle.layout.binDir;
  return { etcdBinary: `${binDir}/etcd`, binDir, dataDir: bundle.layout.dataDir };
}

/** What install asks a host about for `bundle`. Pure. */
export function factsQueryFor(bundle: PreparedBundle): FactsQuery {
  return {
    files: bundle.files.map((f) => f.path),
    // The env file is small and holds no secrets: its text lets callers tell which settings changed. The CA
    // certificate (public) tells which CA the member trusts (the deploy refuses to ship another one).
    readFiles: bundle.files.filter((f) => f.role === 'env' || f.role === 'caCert').map((f) => f.path),
    dirs: bundle.dirs.map((d) => d.path),
    unitName: bundle.unitName,
    serviceUser: bundle.serviceUser,
    serviceGroup: bundle.serviceGroup,
    ...etcdQuery(bundle),
  };
}

/** Runs the read-only facts script for `bundle` (one privileged round trip). */
export async function readFacts(conn: SshConnection, bundle: PreparedBundle, options: RemoteCallOptions): Promise<HostFacts> {
  conn.requirePrivilege();
  options.onProgress?.({ host: conn.host, step: 'inspect' });
  const script = factsScript(factsQueryFor(bundle));
  const result = await conn.run(script, { label: 'inspect host', ...(options.signal ? { signal: options.signal } : {}) });
  try {
    return parseFacts(result.stdout);
  } catch (err) {
    throw new EtcdKitError('SSH_COMMAND_FAILED', `${conn.host}: could not read host facts`, { member: conn.host, cause: err });
  }
}
