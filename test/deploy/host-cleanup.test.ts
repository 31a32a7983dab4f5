// The SSH target of a host being cleaned up (a removed member's, a moved member's old one): the spec's
// settings, that host, its own key pin only, a connect timeout never longer than the spec's.
import { describe, expect, it } from 'vitest';
import { cleanupTarget } from '../../src/deploy/host-cleanup.js';

describe('cleanupTarget', () => {
  const ssh = { host: '10.0.0.14', username: 'deployer', port: 2222, knownHostsPath: '/k', hostKeyFingerprint: 'SHA256:new', readyTimeoutMs: 4000 };

  it('keeps the SSH settings, swaps the host, drops a key pinned for the other host', () => {
    expect(cleanupTarget(ssh, '10.0.0.13', undefined)).toEqual({ host: '10.0.0.13', username: 'deployer', port: 2222, knownHostsPath: '/k', readyTimeoutMs: 4000 });
    expect(cleanupTarget(ssh, '10.0.0.13', 'SHA256:old').hostKeyFingerprint).toBe('SHA256:old');
  });

  it('a shorter connect timeout wins, a longer one never', () => {
    expect(cleanupTarget(ssh, 'h', undefined, 1500).readyTimeoutMs).toBe(1500);
    expect(cleanupTarget(ssh, 'h', undefined, 9000).readyTimeoutMs).toBe(4000);
    expect(cleanupTarget({ host: 'x' }, 'h', undefined, 5000).readyTimeoutMs).toBe(5000);
    expect(cleanupTarget({ host: 'x' }, 'h', undefined)).toEqual({ host: 'h' });
  });
});
