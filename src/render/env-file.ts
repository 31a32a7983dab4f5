import { assertSafeValue, invalidInput } from './invalid.js';

/** A commented block of `KEY="value"` lines. */
export interface EnvSection {
  /** Section title, written as `#[Title]`. */
  title: string;
  /** Entries in output order. */
  entries: readonly (readonly [string, string])[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Writes sections as an EnvironmentFile that systemd and POSIX shells read identically: every value is
 * double-quoted and contains no character that either would interpret (checked, never escaped).
 */
export function formatEnvFile(header: readonly string[], sections: readonly EnvSection[]): string {
  const lines: string[] = header.map((h) => `# ${h}`.trimEnd());
  for (const section of sections) {
    if (section.entries.length === 0) continue;
    if (lines.length > 0) lines.push('');
    lines.push(`#[${section.title}]`);
    for (const [key, value] of section.entries) {
      if (!ENV_NAME.test(key)) throw invalidInput(key, 'not a valid environment variable name');
      assertSafeValue(value, key);
      lines.push(`${key}="${value}"`);
    }
  }
  return `${lines.join('\n')}\n`;
}

// Characters a backslash escapes inside double quotes in systemd's env-file parser (SHELL_NEED_ESCAPE).
const DQ_ESCAPABLE = '"\\`$';

/**
 * Parses an EnvironmentFile the way systemd does for the forms people write by hand: blank lines and `#`/`;`
 * comments are skipped, an optional `export ` prefix is ignored, values may be `"double"` (backslash escapes
 * `" \ $ \``, one line only), `'single'` (literal) or bare (trimmed). The inverse of the renderers' quoting; later keys win.
 * Throws `RENDER_INVALID_INPUT` (field `line <n>`) for lines that are not `KEY=value`.
 *
 * @example
 * ```ts
 * parseEnvFile('#[Member]\nETCD_NAME="etcd01"\n'); // { ETCD_NAME: 'etcd01' }
 * ```
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    const key = eq > 0 ? body.slice(0, eq).trimEnd() : '';
    if (!ENV_NAME.test(key)) throw invalidInput(`line ${lineNo}`, 'expected KEY=value');
    const rest = body.slice(eq + 1).trimStart();
    let value = '';
    if (rest.startsWith('"')) {
      let j = 1;
      let closed = false;
      while (j < rest.length) {
        const c = rest[j]!;
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\' && j + 1 < rest.length) {
          const next = rest[j + 1]!;
          value += DQ_ESCAPABLE.includes(next) ? next : `\\${next}`;
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      // Multi-line values are legal for systemd but never written by etcd-kit: refuse them rather than guess.
      if (!closed) throw invalidInput(`line ${lineNo}`, 'unterminated double-quoted value');
      assertNothingAfter(rest.slice(j + 1), lineNo);
    } else if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) throw invalidInput(`line ${lineNo}`, 'unterminated single-quoted value');
      value = rest.slice(1, end);
      assertNothingAfter(rest.slice(end + 1), lineNo);
    } else {
      value = rest.replace(/\\(.)/g, '$1').trimEnd();
    }
    out[key] = value;
  }
  return out;
}

function assertNothingAfter(tail: string, lineNo: number): void {
  if (tail.trim() !== '') throw invalidInput(`line ${lineNo}`, 'unexpected text after the closing quote');
}
