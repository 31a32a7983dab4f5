import { describe, expect, it } from 'vitest';
import { inspectCertificate, signPeerCert, signServerCert } from '../../src/pki/index.js';
import { expectPkiError, sharedCa } from './helpers.js';

/** Puts `host` at index 2 so the error must name `hosts[2]`, not just `hosts`. */
const withBadThird = (host: unknown) => ['10.0.0.1', 'ok.example.com', host as string];

describe('host validation', () => {
  it.each([
    ['empty string', ''],
    ['whitespace only', ' '],
    ['inner whitespace', 'etcd 01'],
    ['trailing newline', 'etcd01\n'],
    ['IPv4 octet out of range', '300.1.1.1'],
    ['IPv4 with three parts', '10.0.1'],
    ['IPv4 with leading zero', '010.0.0.1'],
    ['IPv4 with trailing dot', '10.0.0.1.'],
    ['IPv6 with two ::', '1::2::3'],
    ['IPv6 with zone index', 'fe80::1%eth0'],
    ['bracketed IPv6', '[::1]'],
    ['IPv6 with a bad group', '2001:db8::g'],
    ['host:port', 'etcd01:2379'],
    ['label starting with a hyphen', '-etcd.example.com'],
    ['label ending with a hyphen', 'etcd-.example.com'],
    ['empty label', 'etcd..example.com'],
    ['underscore', 'etcd_01.example.com'],
    ['trailing dot', 'etcd.example.com.'],
    ['URL', 'https://etcd01'],
    ['wildcard not leftmost', 'etcd.*.example.com'],
    ['partial wildcard', 'etcd*.example.com'],
    ['bare wildcard', '*'],
    ['double wildcard', '*.*.example.com'],
    ['64-character label', `${'a'.repeat(64)}.example.com`],
    ['254-character name', `${'a.'.repeat(126)}ab`],
    ['non-ASCII', 'étcd.example.com'],
    ['a number', 42],
    ['null', null],
  ])('rejects %s as PKI_INVALID_INPUT naming hosts[2]', async (_, host) => {
    const ca = await sharedCa();
    const error = await expectPkiError(
      signServerCert(ca, { commonName: 'etcd01', hosts: withBadThird(host) }),
      'PKI_INVALID_INPUT',
      'hosts[2]',
    );
    expect(error.message).toMatch(/^hosts\[2\]: /);
  });

  it('accepts 63-character labels and 253-character names', async () => {
    const ca = await sharedCa();
    const longLabel = `${'a'.repeat(63)}.example.com`;
    const longName = `${'a.'.repeat(125)}abc`;
    expect(longName).toHaveLength(253);
    const leaf = await signPeerCert(ca, { commonName: 'long', hosts: [longLabel, longName, 'xn--tcd-9oa.example.com'] });
    expect(inspectCertificate(leaf.certPem).sans.dns).toEqual([longLabel, longName, 'xn--tcd-9oa.example.com']);
  });

  it('needs at least one host, as an array', async () => {
    const ca = await sharedCa();
    await expectPkiError(signServerCert(ca, { commonName: 'x', hosts: [] }), 'PKI_INVALID_INPUT', 'hosts');
    await expectPkiError(
      signServerCert(ca, { commonName: 'x', hosts: '10.0.0.1' as unknown as string[] }),
      'PKI_INVALID_INPUT',
      'hosts',
    );
    await expectPkiError(
      signPeerCert(ca, { commonName: 'x' } as unknown as { commonName: string; hosts: string[] }),
      'PKI_INVALID_INPUT',
      'hosts',
    );
  });

  it('writes IP SANs as raw 4- and 16-byte addresses', async () => {
    const ca = await sharedCa();
    const leaf = await signServerCert(ca, { commonName: 'ip', hosts: ['192.168.35.128', 'fd00::1'] });
    const der = new (await import('node:crypto')).X509Certificate(leaf.certPem).raw;
    // GeneralName iPAddress is [7] IMPLICIT OCTET STRING: tag 0x87, length 4 or 16, then the bytes.
    expect(der.includes(Buffer.from([0x87, 4, 192, 168, 35, 128]))).toBe(true);
    const v6 = Buffer.alloc(16);
    v6[0] = 0xfd;
    v6[15] = 1;
    expect(der.includes(Buffer.concat([Buffer.from([0x87, 16]), v6]))).toBe(true);
  });
});
