/**
 * A member's etcd restarted and seen running again: `systemctl restart --no-block`, then systemd polled
 * until a new main PID runs (or the unit failed). Health is the caller's next wait.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { readMemberUnit, restartMember, type SshConnection } from '../remote/index.js';
import type { EtcdLayout } from '../render/index.js';
import type { PreparedMember } from './prepare.js';
import { remoteOptions } from './member-connections.js';
import type { DeployOptions } from './types.js';

const UNIT_POLL_MS = 200;

/** Waits until etcd on `m` runs with a main PID other than `before`, at most `timeoutMs` ms. */
async function waitForNewMainPid(conn: SshConnection, m: PreparedMember, layout: EtcdLayout, options: DeployOptions, before: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const unit = await readMemberUnit(conn, { layout, ...remoteOptions(m, options) });
    if (unit.mainPid > 0 && unit.mainPid !== before) return;
    if (unit.activeState === 'failed') throw new EtcdKitError('DEPLOY_FAILED', 'etcd failed to restart (see journalctl -u etcd on the host)');
    if (Date.now() > deadline) throw new EtcdKitError('ETCD_TIMEOUT', `etcd did not restart within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, UNIT_POLL_MS));
  }
}

/** Restarts etcd on `m` and resolves once its new process runs (see {@link waitForNewMainPid}). */
export async function restartAndWait(conn: SshConnection, m: PreparedMember, layout: EtcdLayout, options: DeployOptions, timeoutMs: number): Promise<void> {
  const { before } = await restartMember(conn, { layout, ...remoteOptions(m, options) });
  await waitForNewMainPid(conn, m, layout, options, before.mainPid, timeoutMs);
}
