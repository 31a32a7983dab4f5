/**
 * Shell quoting for the POSIX `sh` scripts etcd-kit runs on hosts. Every value that reaches a remote
 * command line goes through {@link shellQuote}: paths, user names, hashes — nothing is interpolated raw.
 * @module
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes `value` as one word for POSIX `sh`. Plain words (letters, digits and `_@%+=:,./-`) stay as they
 * are so scripts remain readable; anything else is wrapped in single quotes, with embedded single quotes
 * written as `'\''`.
 *
 * @example
 * ```ts
 * shellQuote('/opt/etcd/bin'); // /opt/etcd/bin
 * shellQuote("it's"); // 'it'\''s'
 * ```
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell word cannot contain a NUL byte');
  if (value !== '' && SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each value and joins them with spaces: a ready-made argument list. */
export function shellArgs(values: readonly string[]): string {
  return values.map(shellQuote).join(' ');
}
