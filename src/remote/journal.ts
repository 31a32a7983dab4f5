/**
 * The last lines of a unit's journal, for errors that explain why etcd did not start. etcd's journal holds
 * none of its keys; lines are still capped in number and length and stripped of control characters.
 * @module
 */
import { EtcdKitError } from '../errors.js';
import { cleanJournalLine } from './journal-line.js';
import { type RemoteHost, withConnection } from './host-session.js';
import { shellQuote } from './shell.js';
import type { RemoteCallOptions } from './types.js';

/** Options of {@link readJournal}. */
export interface ReadJournalOptions extends RemoteCallOptions {
  /** The systemd unit, e.g. `etcd.service` (letters, digits and `@._:-` only). */
  unit: string;
  /** How many of the last lines to read, 1–200. Default: 20. */
  lines?: number;
}

const MAX_LINES = 200;

/**
 * The last `lines` lines the unit wrote to the journal (`journalctl -u <unit> -n <lines> -o cat`, as root or
 * through `sudo -n`), oldest first, cleaned by {@link cleanJournalLine}. Read-only.
 *
 * @example
 * ```ts
 * const tail = await readJournal(connection, { unit: 'etcd.service', lines: 20 });
 * console.error(tail.join('\n'));
 * ```
 */
export async function readJournal(host: RemoteHost, options: ReadJournalOptions): Promise<string[]> {
  const { unit } = options;
  if (typeof unit !== 'string' || !/^[A-Za-z0-9@._:-]{1,200}$/.test(unit)) {
    throw new EtcdKitError('INVALID_ARGUMENT', 'unit must be a systemd unit name', { field: 'unit' });
  }
  const lines = options.lines ?? 20;
  if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LINES) {
    throw new EtcdKitError('INVALID_ARGUMENT', `lines must be an integer from 1 to ${MAX_LINES}`, { field: 'lines' });
  }
  return withConnection(host, options, async (conn) => {
    const result = await conn.run(`journalctl --no-pager --quiet -o cat -n ${lines} -u ${shellQuote(unit)}\n`, {
      label: 'journalctl',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return result.stdout
      .split('\n')
      .map(cleanJournalLine)
      .filter((l) => l.length > 0)
      .slice(-lines);
  });
}

export { cleanJournalLine } from './journal-line.js';
