/**
 * A member that fails to (re)start is explained by the last lines of its etcd journal, read from its host
 * right then (best effort: a journal that cannot be read never hides the original failure).
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { readJournal, type SshConnection } from '../remote/index.js';
import type { PreparedMember } from './prepare.js';

/** Lines of the journal an error carries. */
export const JOURNAL_TAIL_LINES = 20;
const JOURNAL_READ_MS = 10_000;

/**
 * `err` with the last {@link JOURNAL_TAIL_LINES} lines of the member's etcd journal appended to its message
 * and in `details.journal` (code, cause and details kept). Cancellations pass through untouched.
 */
export async function explainStartFailure(connection: SshConnection, m: PreparedMember, err: unknown, signal?: AbortSignal): Promise<unknown> {
  if (err instanceof EtcdKitError && err.code === 'ABORTED') return err;
  if (signal?.aborted) return err;
  const unit = m.steady.unitName;
  let journal: string[];
  try {
    const timeout = AbortSignal.timeout(JOURNAL_READ_MS);
    journal = await readJournal(connection, { unit, lines: JOURNAL_TAIL_LINES, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch {
    return err;
  }
  if (journal.length === 0) return err;
  const base = err instanceof EtcdKitError ? err : new EtcdKitError('DEPLOY_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
  const text = `${base.message}\nlast ${journal.length} lines of ${unit}'s journal on ${m.spec.name}:\n${journal.map((l) => `  ${l}`).join('\n')}`;
  return new EtcdKitError(base.code, text, {
    cause: err,
    member: base.member ?? m.spec.name,
    ...(base.field ? { field: base.field } : {}),
    details: { ...base.details, journal },
  });
}
