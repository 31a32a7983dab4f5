import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { shellArgs, shellQuote } from '../../src/remote/shell.js';

const run = promisify(execFile);

describe('shellQuote', () => {
  const nasty = [
    '',
    'plain',
    '/opt/etcd/bin',
    "it's",
    "''",
    'a b\tc',
    'line1\nline2',
    '$(touch /tmp/pwned)',
    '`id`',
    '"double" \\back',
    '*?[a]~',
    '; rm -rf /',
    'ünïcödé',
    '-n',
  ];

  it('survives a real /bin/sh unchanged, word for word', async () => {
    const script = `printf '%s\\0' ${shellArgs(nasty)}`;
    const { stdout } = await run('/bin/sh', ['-c', script]);
    expect(stdout.split('\0').slice(0, -1)).toEqual(nasty);
  });

  it('leaves plain words readable and quotes the rest', () => {
    expect(shellQuote('/opt/etcd/bin/etcd')).toBe('/opt/etcd/bin/etcd');
    expect(shellQuote('etcd.service')).toBe('etcd.service');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('refuses NUL bytes, which no shell word can hold', () => {
    expect(() => shellQuote('a\0b')).toThrow(TypeError);
  });
});
