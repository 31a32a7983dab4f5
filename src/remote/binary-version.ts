/**
 * The version of an etcd binary nothing names (a `binDir` source), read the only reliable way: by running
 * those exact bytes with `--version` on a host of their architecture.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import type { PreparedBinaries } from './binaries.js';
import { type RemoteHost, withConnection } from './host-session.js';
import { shellQuote } from './shell.js';
import { stageFiles } from './staging.js';
import type { RemoteCallOptions } from './types.js';

/** The `X.Y.Z` of `etcd --version` output (first line `etcd Version: X.Y.Z`), or undefined. */
export function parseEtcdVersionOutput(stdout: string): string | undefined {
  return /^etcd Version: (\d+\.\d+\.\d+)\s*$/.exec(stdout.split('\n')[0] ?? '')?.[1];
}

/**
 * Uploads `binaries`' etcd into the login user's staging directory on `target`, runs it there with
 * `--version` as the login user (no root needed), deletes it again, and returns the version it printed.
 * Changes nothing else on the host. Throws `BUNDLE_INVALID` (field `binaries`) when it does not run there
 * or prints no `etcd Version: X.Y.Z` (a home mounted `noexec` is one reason: use a release tarball, whose
 * name carries the version), and the usual `SSH_*` codes.
 *
 * @example
 * ```ts
 * const binaries = await prepareBinaries({ dir: './bin' });
 * const version = await probeEtcdVersion(connection, binaries); // '3.5.30'
 * ```
 */
export async function probeEtcdVersion(target: RemoteHost, binaries: PreparedBinaries, options: RemoteCallOptions = {}): Promise<string> {
  const etcd = binaries.files.find((f) => f.name === 'etcd');
  if (!etcd) throw new EtcdKitError('BUNDLE_INVALID', 'bundle binaries: no etcd binary', { field: 'binaries' });
  return withConnection(target, options, async (conn) => {
    const signal = options.signal ? { signal: options.signal } : {};
    // Named by its hash like every staged file, so a later install's upload simply overwrites it.
    const staged = await stageFiles(conn, [{ path: 'etcd --version', data: etcd.data, sha256: etcd.sha256 }], options);
    const file = shellQuote(`${staged.dir}/${etcd.sha256}`);
    const result = await conn.run(
      `chmod 0700 -- ${file} && ${file} --version; rc=$?\nrm -f -- ${file}; rmdir -- ${shellQuote(staged.dir)} 2>/dev/null\nexit $rc\n`,
      { privileged: false, allowFailure: true, label: 'etcd --version', ...signal },
    );
    const version = result.exitCode === 0 ? parseEtcdVersionOutput(result.stdout) : undefined;
    if (version === undefined) {
      throw new EtcdKitError(
        'BUNDLE_INVALID',
        `${conn.host}: could not read the version of the etcd binary by running it (${(result.stderr || result.stdout).trim().split('\n').at(-1) ?? `exit ${result.exitCode}`}); ` +
          `is ~/${staged.dir.split('/').at(-1)} on a noexec mount? A release tarball (etcd-vX.Y.Z-linux-<arch>.tar.gz) names its version`,
        { member: conn.host, field: 'binaries', details: { exitCode: result.exitCode, stdout: result.stdout.slice(0, 500), stderr: result.stderr.slice(0, 500) } },
      );
    }
    return version;
  });
}
