/**
 * Endpoints and client TLS for the commands that talk to a running cluster (health, snapshot save, defrag):
 * from a spec (`-f`), or given directly (`--endpoints` with `--pki-dir`).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { EtcdKitError, loadClusterSpecFile, readPkiClient } from '../index.js';
import { pkiPaths } from '../pki-entry.js';
import { clientUrl } from '../render-entry.js';

/** The options {@link accessOptions} adds. */
export interface AccessOptions {
  file?: string;
  endpoints?: string;
  pkiDir?: string;
  client: string;
}

/** ca.crt and the client's pair only: a backup job's PKI dir needs neither ca.key nor the members' keys. */
async function clientTls(pkiDir: string, client: string) {
  const paths = pkiPaths(pkiDir);
  const { cert, key } = paths.client(client);
  try {
    return await readPkiClient(pkiDir, client);
  } catch (err) {
    const path = err instanceof EtcdKitError ? (err.details as { path?: string } | undefined)?.path : undefined;
    if (err instanceof EtcdKitError && err.code === 'PKI_IO' && (path === cert || path === key) && !existsSync(path)) {
      throw new EtcdKitError('INVALID_ARGUMENT', `no client certificate '${client}' in ${pkiDir}`, { field: 'client', cause: err });
    }
    throw err;
  }
}

/** Endpoints and client TLS for commands that talk to a running cluster: from a spec, or given directly. */
export async function clusterAccess(command: string, opts: AccessOptions) {
  let endpoints: string[];
  let pkiDir: string;
  let name: string | undefined;
  if (opts.file) {
    const spec = await loadClusterSpecFile(opts.file);
    endpoints = spec.members.map((m) => clientUrl(m.cluster));
    pkiDir = opts.pkiDir ?? spec.pki.dir;
    name = spec.name;
  } else if (opts.endpoints && opts.pkiDir) {
    endpoints = opts.endpoints.split(',').map((e) => e.trim());
    pkiDir = opts.pkiDir;
  } else {
    throw new EtcdKitError('INVALID_ARGUMENT', `${command} needs -f <spec>, or --endpoints with --pki-dir`, { field: 'file' });
  }
  return { endpoints, tls: await clientTls(pkiDir, opts.client), name };
}

/** Adds `-f`, `--endpoints`, `--pki-dir` and `--client` to a command. */
export function accessOptions(command: Command): Command {
  return command
    .option('-f, --file <spec>', 'cluster spec: endpoints and the admin client cert come from it')
    .option('--endpoints <urls>', 'comma-separated https:// client URLs (instead of -f)')
    .option('--pki-dir <dir>', 'PKI dir holding ca.crt and the client cert (with --endpoints)')
    .option('--client <name>', 'client certificate to use', 'admin');
}
