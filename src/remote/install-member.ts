/**
 * installMember: take one host from bare (or from any earlier state) to a member running the bundle, in at
 * most three SSH round trips after login: read facts, upload what differs, apply.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { EtcdKitError } from '../errors.js';
import { type MemberBundle, type PreparedBundle, prepareMemberBundle } from './bundle.js';
import { resolveInstallOptions } from './options.js';
import type { HostFacts } from './facts.js';
import { applyScript, checkHost, ETCD_VERSION_MISMATCH_EXIT, factsAfterInstall, planInstall, planIsEmpty, STAGED_HASH_MISMATCH_EXIT } from './install-plan.js';
import { type RemoteHost, readFacts, withConnection } from './host-session.js';
import { stageFiles } from './staging.js';
import type { RemoteCallOptions } from './types.js';

/**
 * Options of {@link installMember}.
 * @category Remote hosts
 */
export interface InstallMemberOptions extends RemoteCallOptions {
  /**
   * When to (re)start etcd: `'if-changed'` restarts a running member only if a file etcd reads changed
   * (binary, certificate, key, env file, unit) and starts a stopped one; `'never'` only stages the files
   * (for rolling restarts driven by the caller, see {@link etcd-kit/remote!restartMember | restartMember}); `'always'` restarts or starts.
   * Starts and restarts use `--no-block`. Default: `'if-changed'`.
   */
  restart?: 'if-changed' | 'never' | 'always';
  /** Open etcd's client and peer ports in an active firewalld, ufw or nftables. Default: `true`. */
  openFirewall?: boolean;
  /**
   * What the host looks like now, as an earlier call on the same connection saw or left it
   * ({@link MemberInspection.facts}, {@link InstallReport.factsAfter}): install skips reading the host
   * (one privileged round trip). Only pass facts nothing else has changed since. Default: read the host.
   * @internal
   */
  facts?: HostFacts;
}

/**
 * What {@link installMember} did on one host.
 * @category Remote hosts
 */
export interface InstallReport {
  /** Host as given in the target. */
  host: string;
  /**
   * Paths whose content was put in place: uploaded, or (binaries moving from flat paths into their version
   * directory) hard-linked from the same bytes already there. Empty on a no-change re-run.
   */
  changedFiles: string[];
  /** Paths whose content was right but whose mode or owner was corrected. */
  fixedPermissions: string[];
  /** Bytes uploaded. */
  bytesSent: number;
  /** The service account was created. */
  createdUser: boolean;
  /** etcd was restarted (`systemctl restart --no-block`). */
  restarted: boolean;
  /** etcd was started (`systemctl start --no-block`). */
  started: boolean;
  /** etcd's main PID before install (0 when it was not running). */
  previousMainPid: number;
  /** Host firewall. */
  firewall: {
    /**
     * The active firewall etcd-kit found (firewalld before ufw before nftables), `none`, or `unknown`
     * when `nft` could not list the ruleset (see `warning`).
     */
    kind: 'firewalld' | 'ufw' | 'nftables' | 'none' | 'unknown';
    /** Ports opened by this call. */
    opened: number[];
    /** False for nftables: the rule is in the live ruleset only; re-run install after a reboot. */
    persistent: boolean;
    /** Why etcd's ports may still be blocked (the firewall could not be read); absent otherwise. */
    warning?: string;
  };
  /**
   * The host's facts after this install (predicted, not read back): pass them as
   * {@link InstallMemberOptions.facts} to a following install on the same connection.
   * @internal
   */
  factsAfter: HostFacts;
  /** Wall time of the call in ms, including connecting. */
  durationMs: number;
}

/**
 * Installs (or updates) one etcd member: checks the host (systemd, CPU architecture, free ports or our own
 * running etcd), creates the service account and directories (`binDir` 0755, `cfgDir` 0750, `sslDir` and
 * the data dir 0700 owned by the service user), uploads only files whose SHA-256 differs on the host, puts
 * each in place atomically, installs and enables the unit, opens ports in an active firewall, and starts
 * or restarts etcd with `--no-block` according to `restart`. A re-run with nothing changed uploads nothing
 * and leaves etcd running untouched.
 *
 * Binaries live in versioned paths: `<binDir>/<version>/{etcd,etcdctl,etcdutl}`, `<binDir>/current` → `<version>`
 * and the stable `<binDir>/etcd` (the unit's `ExecStart`), `etcdctl`, `etcdutl` → `current/<name>`, all
 * relative symlinks. Another version is switched to by one atomic rename of `current`, after every file is
 * in place and the new etcd ran with `--version`, right before the restart: a host rebooted at any moment
 * runs one complete version. A version whose directory is still there is switched back to without an upload.
 * Of the version directories, the one `current` named before the switch and the new one stay; other
 * directories in `binDir` whose names are etcd versions are deleted, nothing else. An install from before
 * versioned paths (regular files at `<binDir>/etcd`, ...) is converted: the regular files are replaced by the
 * links (each by a rename); its binaries move into their version directory by hard link when they are the
 * bundle's bytes, and are otherwise kept as the version directory of the version their etcd reports (when it
 * reports one), so the switch can be undone. The bundle's version must be known (`BUNDLE_INVALID` otherwise).
 *
 * The bundle is checked before any connection is made (`BUNDLE_INVALID`). Other failures:
 * `SSH_*` (see {@link etcd-kit/remote!connect | connect}), `SSH_SUDO_REQUIRED`, `HOST_UNSUPPORTED`, `HOST_PORT_IN_USE`,
 * `SSH_TRANSFER_FAILED`, `SSH_COMMAND_FAILED`, `ABORTED`, and `BUNDLE_INVALID` when the uploaded etcd's
 * `--version` is not the bundle's version (a mislabelled release: checked before anything is replaced).
 *
 * @example
 * ```ts
 * const binaries = await prepareBinaries({ tarball: 'etcd-v3.6.14-linux-amd64.tar.gz' });
 * const report = await installMember(
 *   { host: '10.0.0.11', privateKeyPath: 'id_ed25519', knownHostsPath: 'known_hosts' },
 *   { binaries, files: { caCert, serverCert, serverKey, peerCert, peerKey, env, unit } },
 *   { onProgress: (e) => console.log(e.host, e.step, e.file ?? '') },
 * );
 * console.log(report.changedFiles, report.restarted);
 * ```
 * @category Remote hosts
 */
export async function installMember(
  target: RemoteHost,
  bundle: MemberBundle | PreparedBundle,
  options: InstallMemberOptions = {},
): Promise<InstallReport> {
  const started = performance.now();
  const resolved = resolveInstallOptions(options);
  const prepared = await prepareMemberBundle(bundle);
  return withConnection(target, options, async (conn) => {
    const signal = options.signal ? { signal: options.signal } : {};
    const facts = options.facts ?? (await readFacts(conn, prepared, options));
    checkHost(conn.host, prepared, facts);
    const plan = planInstall(prepared, facts, resolved);

    let bytesSent = 0;
    let stagingDir: string | undefined;
    if (plan.upload.length > 0) {
      const unique = new Map(plan.upload.map((f) => [f.sha256, { path: f.path, data: f.data, sha256: f.sha256 }]));
      const staged = await stageFiles(conn, [...unique.values()], options);
      bytesSent = staged.bytesSent;
      stagingDir = staged.dir;
    }
    if (!planIsEmpty(plan)) {
      options.onProgress?.({ host: conn.host, step: 'apply' });
      const result = await conn.run(applyScript(prepared, plan, stagingDir), {
        label: 'apply install',
        allowFailure: true,
        ...signal,
      });
      if (result.exitCode === STAGED_HASH_MISMATCH_EXIT) {
        throw new EtcdKitError('SSH_TRANSFER_FAILED', `${conn.host}: an uploaded file arrived corrupted; nothing was replaced with it`, {
          member: conn.host,
          details: { stderrTail: result.stderr },
        });
      }
      if (result.exitCode === ETCD_VERSION_MISMATCH_EXIT) {
        const reported = /the new etcd reports: (.*)/.exec(result.stderr)?.[1]?.trim() ?? '';
        throw new EtcdKitError(
          'BUNDLE_INVALID',
          `${conn.host}: the etcd binary reports '${reported}', not etcd ${prepared.version} as its release says; nothing was replaced`,
          { member: conn.host, field: 'binaries', details: { expected: prepared.version, reported } },
        );
      }
      if (result.exitCode !== 0) {
        throw new EtcdKitError('SSH_COMMAND_FAILED', `${conn.host}: install failed with exit code ${result.exitCode}`, {
          member: conn.host,
          details: { exitCode: result.exitCode, stderrTail: result.stderr, label: 'apply install' },
        });
      }
    }
    options.onProgress?.({ host: conn.host, step: 'done' });
    return {
      host: conn.host,
      changedFiles: [...plan.upload, ...plan.adopt].map((f) => f.path),
      fixedPermissions: plan.fixMetadata.map((f) => f.path),
      bytesSent,
      createdUser: plan.createUser,
      restarted: plan.service === 'restart',
      started: plan.service === 'start',
      previousMainPid: facts.unit.mainPid,
      firewall: {
        kind: plan.firewall.kind,
        opened: plan.firewall.opens,
        persistent: plan.firewall.persistent,
        ...(plan.firewall.warning ? { warning: plan.firewall.warning } : {}),
      },
      factsAfter: factsAfterInstall(prepared, plan, facts),
      durationMs: Math.round(performance.now() - started),
    };
  });
}
