import { EtcdKitError } from '../errors.js';

/** Builds the one error every render validation raises, so callers can branch on `code` and show `field`. */
export function invalidInput(field: string, message: string): EtcdKitError {
  return new EtcdKitError('RENDER_INVALID_INPUT', `${field}: ${message}`, { field });
}

// Characters that would break out of a double-quoted EnvironmentFile / shell value, or smuggle a second
// line into it. The renderer rejects them instead of escaping, so every emitted value is inert text.
const UNSAFE_CHARS = /["\\$`\u0000-\u001f\u007f]/;

/** Throws unless `value` can be written between double quotes with no escaping at all. */
export function assertSafeValue(value: string, field: string): void {
  const bad = UNSAFE_CHARS.exec(value);
  if (bad) {
    const shown = bad[0] >= ' ' && bad[0] !== '\u007f' ? `'${bad[0]}'` : `U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
    throw invalidInput(field, `must not contain ${shown} (quotes, backslash, $, backtick and control characters are not allowed)`);
  }
}

/** Throws unless `value` is an absolute POSIX path that is safe to place in an env file or unit file. */
export function assertAbsolutePath(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw invalidInput(field, 'must be a non-empty absolute path');
  assertSafeValue(value, field);
  if (!value.startsWith('/')) throw invalidInput(field, `must be an absolute path, got '${value}'`);
  // Whitespace would split unit-file directives such as ReadWritePaths= and ExecStart=.
  if (/\s/.test(value)) throw invalidInput(field, 'must not contain whitespace');
  if (value.split('/').some((part) => part === '..')) throw invalidInput(field, "must not contain '..' segments");
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertIntInRange(value: unknown, field: string, min: number, max: number, unit = ''): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const u = unit ? ` ${unit}` : '';
    throw invalidInput(field, `must be an integer from ${min} to ${max}${u}, got ${String(value)}`);
  }
}
