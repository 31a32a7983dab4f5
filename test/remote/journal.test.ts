// Journal lines carried in errors: control characters and terminal escapes removed, length capped.
import { describe, expect, it } from 'vitest';
import { cleanJournalLine } from '../../src/remote/journal.js';

describe('cleanJournalLine', () => {
  it('strips terminal escapes and control characters, turns tabs into spaces', () => {
    expect(cleanJournalLine('\x1b[31mfatal\x1b[0m\tpermission\x07 denied\r')).toBe('fatal permission denied');
    expect(cleanJournalLine('{"level":"fatal","msg":"x"}  ')).toBe('{"level":"fatal","msg":"x"}');
  });
  it('caps a long line', () => {
    const out = cleanJournalLine('a'.repeat(5000));
    expect(out.length).toBe(1001);
    expect(out.endsWith('…')).toBe(true);
  });
});
