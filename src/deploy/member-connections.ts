/**
 * One SSH connection per member for the whole run, opened concurrently, and the error wrapping that names
 * the member and the step a failure happened in.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { connect, type ProgressEvent, type RemoteCallOptions, type SshConnection } from '../remote/index.js';
import type { ResolvedMember } from './resolve-spec.js';
import type { DeployOptions, DeployStep } from './types.js';

/** Anything that names a member of the spec (a resolved member, or a prepared one with its bundles). */
export interface MemberRef {
  spec: ResolvedMember;
}

/** Re-raises `err` with the member and step named, keeping its code (SSH_UNREACHABLE stays that). */
export function memberError(member: MemberRef, step: DeployStep, err: unknown): EtcdKitError {
  const where = `${member.spec.name} (${member.spec.ssh.host})`;
  if (err instanceof EtcdKitError) {
    if (err.code === 'ABORTED') return err;
    return new EtcdKitError(err.code, `${where}, step ${step}: ${err.message}`, {
      member: member.spec.name,
      cause: err,
      ...(err.field ? { field: err.field } : {}),
      details: { ...err.details, step, host: member.spec.ssh.host },
    });
  }
  return new EtcdKitError('DEPLOY_FAILED', `${where}, step ${step}: ${err instanceof Error ? err.message : String(err)}`, {
    member: member.spec.name,
    cause: err,
    details: { step, host: member.spec.ssh.host },
  });
}

/**
 * Runs `fn` for every member concurrently and waits for all of them, so one failure never leaves another
 * member's step half-done. The first failure (in spec order) is thrown, naming its member and step;
 * the others are listed in `details.failures`.
 */
export async function forEachMember<M extends MemberRef, T>(
  members: M[],
  step: DeployStep,
  fn: (member: M, index: number) => Promise<T>,
): Promise<T[]> {
  const settled = await Promise.allSettled(members.map((m, i) => fn(m, i)));
  const failures = settled.flatMap((s, i) => (s.status === 'rejected' ? [memberError(members[i]!, step, s.reason)] : []));
  if (failures.length > 0) {
    const first = failures[0]!;
    if (failures.length === 1 || first.code === 'ABORTED') throw first;
    throw new EtcdKitError(first.code, `${failures.length} members failed at ${step}; first: ${first.message}`, {
      member: first.member ?? '',
      cause: first,
      details: { step, failures: failures.map((f) => ({ member: f.member, code: f.code, message: f.message })) },
    });
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

// Remote steps that mean the same in a deploy; the others (stop, uninstall) are part of applying.
const PASSED_THROUGH: ReadonlySet<string> = new Set<DeployStep>(['connect', 'inspect', 'upload', 'apply', 'start', 'restart']);

/** Remote call options whose progress events are re-labelled with the member name. */
export function remoteOptions(member: MemberRef, options: DeployOptions): RemoteCallOptions {
  const onProgress = options.onProgress;
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(onProgress
      ? {
          onProgress: (e: ProgressEvent) => {
            // A remote call's own 'done' is not the member's: the deploy reports that when the member is.
            if (e.step === 'done') return;
            const step: DeployStep = PASSED_THROUGH.has(e.step) ? (e.step as DeployStep) : 'apply';
            onProgress({
              step,
              member: member.spec.name,
              ...(e.file ? { file: e.file } : {}),
              ...(e.bytes !== undefined ? { bytes: e.bytes } : {}),
              ...(e.totalBytes !== undefined ? { totalBytes: e.totalBytes } : {}),
              ...(e.message ? { message: e.message } : {}),
            });
          },
        }
      : {}),
  };
}

/** Opens one connection per member, all at once; on any failure closes the ones that opened. */
export async function connectMembers(members: MemberRef[], options: DeployOptions): Promise<Map<string, SshConnection>> {
  const opened = new Map<string, SshConnection>();
  try {
    await forEachMember(members, 'connect', async (m) => {
      options.onProgress?.({ step: 'connect', member: m.spec.name });
      opened.set(m.spec.name, await connect(m.spec.ssh, options.signal ? { signal: options.signal } : {}));
    });
  } catch (err) {
    await closeAll(opened);
    throw err;
  }
  return opened;
}

/** Closes every connection, ignoring errors (the work is done or failed already). */
export async function closeAll(connections: Map<string, SshConnection>): Promise<void> {
  await Promise.allSettled([...connections.values()].map((c) => c.close()));
}
