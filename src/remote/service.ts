/**
 * Start, restart and stop a member's etcd unit, for rolling changes driven by the caller
 * (`installMember(..., { restart: 'never' })`, then one `restartMember` at a time).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { type EtcdLayout, resolveLayout } from '../render/index.js';
import { parseUnitShow, type UnitFacts } from './facts.js';
import { type RemoteHost, withConnection } from './session.js';
import { shellQuote } from './shell.js';
import type { RemoteCallOptions } from './types.js';

/** Options of {@link startMember}, {@link restartMember}, {@link stopMember} and {@link readMemberUnit}. */
export interface ServiceOptions extends RemoteCallOptions {
  /** Layout the member was installed with; its `unitPath` names the unit. Default: `resolveLayout()`. */
  layout?: Partial<EtcdLayout>;
}

/** Result of a service action. */
export interface ServiceActionResult {
  /** Host as given in the target. */
  host: string;
  /** The unit's state just before the action. */
  before: UnitFacts;
}

function unitNameOf(layout: Partial<EtcdLayout> | undefined): string {
  let unitPath: string;
  try {
    unitPath = resolveLayout(layout ?? {}).unitPath;
  } catch (err) {
    throw new EtcdKitError('INVALID_ARGUMENT', err instanceof Error ? err.message : 'invalid layout', {
      field: err instanceof EtcdKitError && err.field ? err.field : 'layout',
      cause: err,
    });
  }
  return unitPath.slice(unitPath.lastIndexOf('/') + 1);
}

const SHOW_PROPS = '-p LoadState -p ActiveState -p SubState -p MainPID -p UnitFileState -p NeedDaemonReload';

async function serviceAction(
  target: RemoteHost,
  action: 'start' | 'restart' | 'stop' | 'show',
  options: ServiceOptions,
): Promise<ServiceActionResult> {
  const unit = shellQuote(unitNameOf(options.layout));
  return withConnection(target, options, async (conn) => {
    if (action !== 'show') options.onProgress?.({ host: conn.host, step: action });
    // Start and restart never block: etcd 3.4 signals readiness only at quorum. Stop blocks until etcd exited.
    const command =
      action === 'show' ? '' : action === 'stop' ? `systemctl stop ${unit}` : `systemctl ${action} --no-block ${unit}`;
    const result = await conn.run(`systemctl show ${unit} ${SHOW_PROPS}\n${command}\n`, {
      label: `systemctl ${action}`,
      privileged: action !== 'show',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { host: conn.host, before: parseUnitShow(result.stdout) };
  });
}

/** `systemctl start --no-block` the member's unit. */
export function startMember(target: RemoteHost, options: ServiceOptions = {}): Promise<ServiceActionResult> {
  return serviceAction(target, 'start', options);
}

/**
 * `systemctl restart --no-block` the member's unit. Returns the state before, so a caller can wait until
 * `MainPID` changes and the member is healthy before restarting the next one.
 *
 * @example
 * ```ts
 * for (const host of hosts) {
 *   await installMember(host, bundles[host.host], { restart: 'never' });
 *   await restartMember(host);
 *   // ...wait for endpoint health before the next member
 * }
 * ```
 */
export function restartMember(target: RemoteHost, options: ServiceOptions = {}): Promise<ServiceActionResult> {
  return serviceAction(target, 'restart', options);
}

/** `systemctl stop` the member's unit (waits until etcd has exited). */
export function stopMember(target: RemoteHost, options: ServiceOptions = {}): Promise<ServiceActionResult> {
  return serviceAction(target, 'stop', options);
}

/** The unit's current state (`systemctl show`), unprivileged, changing nothing. */
export async function readMemberUnit(target: RemoteHost, options: ServiceOptions = {}): Promise<UnitFacts> {
  return (await serviceAction(target, 'show', options)).before;
}
