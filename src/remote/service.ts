/**
 * Start, restart and stop a member's etcd unit, for rolling changes driven by the caller
 * (`installMember(..., { restart: 'never' })`, then one `restartMember` at a time).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { type EtcdLayout, resolveLayout } from '../render/index.js';
import { parseUnitShow, type UnitFacts } from './facts.js';
import { type RemoteHost, withConnection } from './host-session.js';
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

/** Options of {@link startMemberOnceWith}. */
export interface StartOnceOptions extends ServiceOptions {
  /**
   * Variables this one start of etcd runs with on top of its env file (a runtime drop-in's second
   * `EnvironmentFile=`, which overrides the first). Names `[A-Z0-9_]`, values without quotes, `$`, backslash or newlines.
   */
  env: Record<string, string>;
}

/** The runtime drop-in and env file of {@link startMemberOnceWith}: in `/run`, gone at the next boot anyway. */
function onceFiles(unit: string): { dropIn: string; envFile: string } {
  return { dropIn: `/run/systemd/system/${unit}.d/etcd-kit-once.conf`, envFile: `/run/etcd-kit/${unit}.once.env` };
}

/**
 * `systemctl start --no-block` with `env` added to this start only: written to `/run` as a runtime drop-in,
 * which {@link clearStartOnce} removes once the member runs (the next start or restart reads only its env
 * file again). For settings etcd reads only while starting, e.g. the initial corruption check, pointless
 * when every member starts from the same restored snapshot.
 */
export async function startMemberOnceWith(target: RemoteHost, options: StartOnceOptions): Promise<ServiceActionResult> {
  const unitName = unitNameOf(options.layout);
  const lines = Object.entries(options.env).map(([k, v]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(k) || /["'$\\`\n]/.test(v)) throw new EtcdKitError('INVALID_ARGUMENT', `env: ${k} is not a plain variable`, { field: 'env' });
    return `${k}="${v}"`;
  });
  const { dropIn, envFile } = onceFiles(unitName);
  const q = shellQuote;
  return withConnection(target, options, async (conn) => {
    options.onProgress?.({ host: conn.host, step: 'start' });
    const script = [
      'set -eu',
      'umask 077',
      `mkdir -p -- ${q(envFile.slice(0, envFile.lastIndexOf('/')))} ${q(dropIn.slice(0, dropIn.lastIndexOf('/')))}`,
      `printf '%s\\n' ${lines.map(q).join(' ')} > ${q(envFile)}`,
      `printf '[Service]\\nEnvironmentFile=%s\\n' ${q(envFile)} > ${q(dropIn)}`,
      'chmod 0644 -- ' + q(dropIn),
      'systemctl daemon-reload',
      `systemctl show ${q(unitName)} ${SHOW_PROPS}`,
      `systemctl start --no-block ${q(unitName)}`,
      '',
    ].join('\n');
    const result = await conn.run(script, { label: 'systemctl start (once)', privileged: true, ...(options.signal ? { signal: options.signal } : {}) });
    return { host: conn.host, before: parseUnitShow(result.stdout) };
  });
}

/** Removes what {@link startMemberOnceWith} added (idempotent); the running etcd is not touched. */
export async function clearStartOnce(target: RemoteHost, options: ServiceOptions = {}): Promise<void> {
  const { dropIn, envFile } = onceFiles(unitNameOf(options.layout));
  await withConnection(target, options, async (conn) => {
    await conn.run(`set -eu\nif [ -e ${shellQuote(dropIn)} ]; then rm -f -- ${shellQuote(dropIn)} ${shellQuote(envFile)}; systemctl daemon-reload; fi\n`, {
      label: 'clear the once-only start environment',
      privileged: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  });
}
