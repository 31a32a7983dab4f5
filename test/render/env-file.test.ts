import { describe, expect, it } from 'vitest';
import { formatEnvFile, parseEnvFile, renderEtcdctlEnv, renderEtcdEnv } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

describe('parseEnvFile', () => {
  it('round-trips every value the renderers write', () => {
    const values: [string, string][] = [
      ['A', ''],
      ['B', 'plain'],
      ['C', "it's # not a comment; really"],
      ['D', 'a=b,c=https://[fd00::1]:2380'],
      ['E', '  spaced  '],
      ['F', 'ünïcödé ✓'],
    ];
    const text = formatEnvFile(['header'], [{ title: 'S', entries: values }]);
    expect(parseEnvFile(text)).toEqual(Object.fromEntries(values));
  });

  it('round-trips a rendered etcd env file to exactly the emitted keys', () => {
    const text = renderEtcdEnv({ member: 'a', members: [{ name: 'a', address: '10.0.0.1' }], token: 't' });
    const env = parseEnvFile(text);
    const keys = text.split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
    expect(Object.keys(env)).toEqual(keys);
    expect(keys.every((k) => k.startsWith('ETCD_'))).toBe(true);
  });

  it('reads the hand-written forms systemd accepts', () => {
    const text = [
      '# comment',
      '; also a comment',
      '',
      'PLAIN=value  ',
      'export EXPORTED="x"',
      "SINGLE='a \"b\" $c \\d'",
      'DOUBLE="a \\"b\\" \\$c \\\\d \\`e\\` \\n"',
      '   INDENTED = "v"',
      'CRLF="w"\r',
      'DUP=1',
      'DUP=2',
    ].join('\n');
    expect(parseEnvFile(text)).toEqual({
      PLAIN: 'value',
      EXPORTED: 'x',
      SINGLE: 'a "b" $c \\d',
      DOUBLE: 'a "b" $c \\d `e` \\n',
      INDENTED: 'v',
      CRLF: 'w',
      DUP: '2',
    });
  });

  it('rejects malformed lines, naming the line', () => {
    expectInvalid(() => parseEnvFile('A=1\njust text\n'), 'line 2');
    expectInvalid(() => parseEnvFile('=x'), 'line 1');
    expectInvalid(() => parseEnvFile('1A=x'), 'line 1');
    expectInvalid(() => parseEnvFile('A="open\nB=2"'), 'line 1');
    expectInvalid(() => parseEnvFile("A='open"), 'line 1');
    expectInvalid(() => parseEnvFile('A="x" y'), 'line 1');
  });
});

describe('formatEnvFile', () => {
  it('refuses values that would escape their quotes', () => {
    for (const bad of ['"', '\\', '$X', '`id`', 'a\nB=1', 'nul\u0000', 'del\u007f', 'tab\t']) {
      expectInvalid(() => formatEnvFile([], [{ title: 'S', entries: [['KEY', bad]] }]), 'KEY');
    }
    expectInvalid(() => formatEnvFile([], [{ title: 'S', entries: [['BAD-KEY', 'x']] }]), 'BAD-KEY');
  });

  it('skips empty sections', () => {
    expect(formatEnvFile([], [{ title: 'Empty', entries: [] }, { title: 'S', entries: [['K', 'v']] }])).toBe('#[S]\nK="v"\n');
  });
});

describe('renderEtcdctlEnv', () => {
  it('defaults to the layout CA and the server cert as client cert', () => {
    const text = renderEtcdctlEnv({ endpoints: ['https://10.0.0.1:2379', 'https://[fd00::2]:2379/'] });
    expect(parseEnvFile(text)).toEqual({
      ETCDCTL_API: '3',
      ETCDCTL_ENDPOINTS: 'https://10.0.0.1:2379,https://[fd00::2]:2379',
      ETCDCTL_CACERT: '/opt/etcd/ssl/ca.crt',
      ETCDCTL_CERT: '/opt/etcd/ssl/server.crt',
      ETCDCTL_KEY: '/opt/etcd/ssl/server.key',
    });
    expect(renderEtcdctlEnv({ endpoints: ['https://10.0.0.1:2379'] })).toBe(renderEtcdctlEnv({ endpoints: ['https://10.0.0.1:2379'] }));
  });

  it('follows the layout and explicit files', () => {
    const env = parseEnvFile(
      renderEtcdctlEnv({
        endpoints: ['https://127.0.0.1:2379'],
        layout: { prefix: '/srv/etcd' },
        certFile: '/root/admin.crt',
        keyFile: '/root/admin.key',
      }),
    );
    expect(env.ETCDCTL_CACERT).toBe('/srv/etcd/ssl/ca.crt');
    expect(env.ETCDCTL_CERT).toBe('/root/admin.crt');
    expect(env.ETCDCTL_KEY).toBe('/root/admin.key');
    expect(parseEnvFile(renderEtcdctlEnv({ endpoints: ['https://e:2379'], caFile: '/x/ca.pem' })).ETCDCTL_CACERT).toBe('/x/ca.pem');
  });

  it('rejects bad endpoints and files', () => {
    expectInvalid(() => renderEtcdctlEnv({ endpoints: [] }), 'endpoints');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['https://a:2379', 'http://10.0.0.1:2379'] }), 'endpoints[1]');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['10.0.0.1:2379'] }), 'endpoints[0]');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['https://a:2379/v3'] }), 'endpoints[0]');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['https://a:2379', 'https://$b:2379'] }), 'endpoints[1]');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['https://a:2379'], certFile: 'admin.crt' }), 'certFile');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['https://a:2379'], keyFile: '/k"ey' }), 'keyFile');
    expectInvalid(() => renderEtcdctlEnv({ endpoints: ['https://a:2379'], layout: { sslDir: 'ssl' } }), 'layout.sslDir');
  });
});
