/**
 * inspectMember: what installMember would change on a host, and the service's state — read-only.
 * @module
 */
import { type BundleFileRole, type MemberBundle, type PreparedBundle, prepareMemberBundle } from './bundle.js';
import type { HostFacts, UnitFacts } from './facts.js';
import { resolveInstallOptions } from './options.js';
import { describeHostChanges, metadataDiffers, planInstall, type RestartCause, restartCauses } from './install-plan.js';
import { type RemoteHost, readFacts, withConnection } from './host-session.js';
import type { RemoteCallOptions } from './types.js';

/** One managed file compared with the bundle. */
export interface InspectedFile {
  /** What the file is. */
  role: BundleFileRole;
  /** Path on the host. */
  path: string;
  /** `same` content, `differs`, or `missing` on the host. */
  status: 'same' | 'differs' | 'missing';
  /** Hex SHA-256 in the bundle. */
  expectedSha256: string;
  /** Hex SHA-256 on the host, `null` when missing. */
  actualSha256: string | null;
  /** Mode and owner are as install sets them. */
  metadataOk: boolean;
  /** The file's text on the host, for the env file (small, no secrets); absent for other files or when missing. */
  hostContent?: string;
}

/** Result of {@link inspectMember}. */
export interface MemberInspection {
  /** Host as given in the target. */
  host: string;
  /** `uname -m`. */
  arch: string;
  /** systemd is the init system. */
  systemd: boolean;
  /** The service account exists. */
  userExists: boolean;
  /** Every managed file. */
  files: InspectedFile[];
  /** The etcd unit's state (`mainPid` 0 when not running). */
  unit: UnitFacts;
  /**
   * Everything read from the host; {@link InstallMemberOptions.facts} takes it to skip a second read.
   * @internal
   */
  facts: HostFacts;
  /** What {@link etcd-kit!installMember | installMember} with default options would do now. */
  pending: {
    /** Paths it would put in place (uploaded, or binaries hard-linked from a flat install's same bytes). */
    changedFiles: string[];
    /** What it would do to the service. */
    service: 'none' | 'start' | 'restart';
    /** The pending file changes a running etcd picks up only on a restart (empty: none needs one). */
    restartCauses: RestartCause[];
    /** Other host changes it would make, in words (account, directory modes, unit enablement, daemon-reload). */
    hostChanges: string[];
    /** Ports it would open in the host firewall. */
    firewallOpens: number[];
    /** False when those ports would be opened in the live nftables ruleset only (gone after a reboot). */
    firewallPersistent: boolean;
    /** Why etcd's ports may be blocked even after install (the firewall could not be read); absent otherwise. */
    firewallWarning?: string;
  };
}

/**
 * Reads a member's state without changing anything, in one privileged round trip: file hashes against the
 * bundle, mode/owner, the unit's state and main PID, and what {@link etcd-kit!installMember | installMember} would do.
 *
 * @example
 * ```ts
 * const state = await inspectMember(target, bundle);
 * if (state.pending.changedFiles.length === 0) console.log('up to date, pid', state.unit.mainPid);
 * ```
 */
export async function inspectMember(
  target: RemoteHost,
  bundle: MemberBundle | PreparedBundle,
  options: RemoteCallOptions = {},
): Promise<MemberInspection> {
  const prepared = await prepareMemberBundle(bundle);
  return withConnection(target, options, async (conn) => {
    const facts = await readFacts(conn, prepared, options);
    const plan = planInstall(prepared, facts, resolveInstallOptions({}));
    return {
      host: conn.host,
      arch: facts.arch,
      systemd: facts.systemd,
      userExists: facts.userExists,
      files: prepared.files.map((f) => {
        const actual = facts.hashes.get(f.path) ?? null;
        return {
          role: f.role,
          path: f.path,
          status: actual === null ? 'missing' : actual === f.sha256 ? 'same' : 'differs',
          expectedSha256: f.sha256,
          actualSha256: actual,
          metadataOk: !metadataDiffers(facts, f.path, f, 'regular file'),
          ...(facts.contents.has(f.path) ? { hostContent: facts.contents.get(f.path)! } : {}),
        } satisfies InspectedFile;
      }),
      unit: facts.unit,
      facts,
      pending: {
        changedFiles: [...plan.upload, ...plan.adopt].map((f) => f.path),
        service: plan.service,
        restartCauses: restartCauses(prepared, facts),
        hostChanges: describeHostChanges(prepared, plan),
        firewallOpens: plan.firewall.opens,
        firewallPersistent: plan.firewall.persistent,
        ...(plan.firewall.warning ? { firewallWarning: plan.firewall.warning } : {}),
      },
    };
  });
}
