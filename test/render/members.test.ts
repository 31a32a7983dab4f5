import { describe, expect, it } from 'vitest';
import { type ClusterMember, clientUrl, memberUrls, peerUrl, validateClusterMembers } from '../../src/render/index.js';
import { expectInvalid } from './expect-invalid.js';

const three: ClusterMember[] = [
  { name: 'etcd01', address: '192.168.35.128' },
  { name: 'etcd02', address: '192.168.35.195' },
  { name: 'etcd03', address: '192.168.35.138' },
];

describe('member URLs', () => {
  it('uses the default ports', () => {
    expect(clientUrl({ name: 'a', address: '10.0.0.1' })).toBe('https://10.0.0.1:2379');
    expect(peerUrl({ name: 'a', address: '10.0.0.1' })).toBe('https://10.0.0.1:2380');
  });

  it('uses given ports and brackets IPv6 literals only', () => {
    const m = { name: 'a', address: 'fd00::1', clientPort: 12379, peerPort: 12380 };
    expect(memberUrls(m)).toEqual({ clientUrl: 'https://[fd00::1]:12379', peerUrl: 'https://[fd00::1]:12380' });
    expect(clientUrl({ name: 'b', address: 'etcd-1.example.com' })).toBe('https://etcd-1.example.com:2379');
    expect(peerUrl({ name: 'c', address: '::ffff:10.0.0.1' })).toBe('https://[::ffff:10.0.0.1]:2380');
  });
});

describe('validateClusterMembers', () => {
  it('accepts IPv4, IPv6 and DNS members', () => {
    expect(() =>
      validateClusterMembers([
        ...three,
        { name: 'etcd04', address: '2001:db8::4' },
        { name: 'etcd_05.x', address: 'etcd05.example.com.' },
        { name: 'e6', address: '192.168.35.128', clientPort: 3379, peerPort: 3380 },
      ]),
    ).not.toThrow();
  });

  it('rejects an empty or missing list', () => {
    expectInvalid(() => validateClusterMembers([]), 'members');
    expectInvalid(() => validateClusterMembers(undefined as never, 'spec.members'), 'spec.members');
  });

  it('rejects bad names', () => {
    for (const name of ['', '-lead', 'a b', 'a=b', 'a,b', 'é', 'x'.repeat(64), 'a"b']) {
      expectInvalid(() => validateClusterMembers([three[0]!, { name, address: '10.0.0.9' }]), 'members[1].name');
    }
    expect(() => validateClusterMembers([{ name: 'x'.repeat(63), address: '10.0.0.9' }])).not.toThrow();
  });

  it('rejects bad addresses', () => {
    for (const address of ['', '10.0.0.256', '1.2.3', '[fd00::1]', 'fe80::1%eth0', 'bad_host.example', 'a..b', '-a.example', 'x y', '10.0.0.1:2379', `${'a'.repeat(64)}.com`]) {
      expectInvalid(() => validateClusterMembers([three[0]!, { name: 'b', address }]), 'members[1].address');
    }
  });

  it('rejects bad ports and equal client/peer ports', () => {
    expectInvalid(() => validateClusterMembers([{ name: 'a', address: '10.0.0.1', clientPort: 0 }]), 'members[0].clientPort');
    expectInvalid(() => validateClusterMembers([{ name: 'a', address: '10.0.0.1', peerPort: 65536 }]), 'members[0].peerPort');
    expectInvalid(() => validateClusterMembers([{ name: 'a', address: '10.0.0.1', clientPort: 23.5 }]), 'members[0].clientPort');
    expectInvalid(() => validateClusterMembers([{ name: 'a', address: '10.0.0.1', clientPort: 2380 }]), 'members[0].peerPort');
  });

  it('rejects duplicate names and two listeners on one socket', () => {
    expectInvalid(() => validateClusterMembers([three[0]!, { name: 'etcd01', address: '10.9.9.9' }], 'spec.members'), 'spec.members[1].name');
    // Same peer URL.
    expectInvalid(() => validateClusterMembers([three[0]!, { name: 'b', address: '192.168.35.128' }]), 'members[1].peerPort');
    // Same IPv6 address written two ways.
    expectInvalid(
      () => validateClusterMembers([{ name: 'a', address: 'fd00::1' }, { name: 'b', address: 'FD00:0:0::1', clientPort: 3379 }]),
      'members[1].peerPort',
    );
    // One member's client port is another's peer port on the same host.
    expectInvalid(
      () => validateClusterMembers([{ name: 'a', address: '127.0.0.1' }, { name: 'b', address: '127.0.0.1', clientPort: 2380, peerPort: 2381 }]),
      'members[1].clientPort',
    );
    // Same host, distinct ports: fine.
    expect(() =>
      validateClusterMembers([{ name: 'a', address: '127.0.0.1' }, { name: 'b', address: '127.0.0.1', clientPort: 3379, peerPort: 3380 }]),
    ).not.toThrow();
  });
});
