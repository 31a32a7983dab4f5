import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EtcdKitError, isEtcdKitError } from '../../src/errors.js';
import { resolveInstallOptions, resolveSshAgent, resolveTarget } from '../../src/remote/options.js';
import { abortedError, classifySshError } from '../../src/remote/ssh-errors.js';
import type { SshTarget } from '../../src/remote/types.js';

const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (isEtcdKitError(err, 'INVALID_ARGUMENT')) return err.field;
    throw err;
  }
  return undefined;
}

describe('resolveTarget', () => {
  it('fills in the defaults', () => {
    const t = resolveTarget({ host: '10.0.0.1', privateKey: key }, {});
    expect(t).toMatchObject({
      port: 22,
      username: 'root',
      agent: undefined,
      acceptUnknownHostKey: false,
      readyTimeoutMs: 10_000,
      keepaliveIntervalMs: 15_000,
    });
  });

  it('uses SSH_AUTH_SOCK only when no key is given, or when asked to', () => {
    expect(resolveTarget({ host: 'h' }, { SSH_AUTH_SOCK: '/run/agent' }).agent).toBe('/run/agent');
    expect(resolveTarget({ host: 'h', privateKey: key }, { SSH_AUTH_SOCK: '/run/agent' }).agent).toBeUndefined();
    expect(resolveTarget({ host: 'h', privateKey: key, agent: true }, { SSH_AUTH_SOCK: '/run/agent' }).agent).toBe('/run/agent');
    expect(resolveTarget({ host: 'h', agent: '/tmp/a.sock' }, {}).agent).toBe('/tmp/a.sock');
  });

  it('checks host keys against ~/.ssh/known_hosts unless a file is named or a fingerprint pinned', () => {
    expect(resolveTarget({ host: 'h', privateKey: key }, {}).knownHostsPath).toBe(join(homedir(), '.ssh', 'known_hosts'));
    expect(resolveTarget({ host: 'h', privateKey: key, knownHostsPath: '/k' }, {}).knownHostsPath).toBe('/k');
    expect(resolveTarget({ host: 'h', privateKey: key }, { HOME: '/home/ops' }).knownHostsPath).toBe('/home/ops/.ssh/known_hosts');
    expect(resolveTarget({ host: 'h', privateKey: key, hostKeyFingerprint: 'SHA256:x' }, {}).knownHostsPath).toBeUndefined();
  });

  it('resolveSshAgent: the socket an agent setting means, as resolveTarget and the spec apply it', () => {
    const env = { SSH_AUTH_SOCK: '/run/agent' };
    expect(resolveSshAgent(undefined, false, env)).toBe('/run/agent');
    expect(resolveSshAgent(undefined, true, env)).toBeUndefined();
    expect(resolveSshAgent(undefined, false, { SSH_AUTH_SOCK: '' })).toBeUndefined();
    expect(resolveSshAgent(true, true, env)).toBe('/run/agent');
    expect(resolveSshAgent(false, false, env)).toBeUndefined();
    expect(resolveSshAgent('/tmp/a.sock', true, {})).toBe('/tmp/a.sock');
    expect(fieldOf(() => resolveSshAgent(true, false, {}))).toBe('agent');
    expect(fieldOf(() => resolveSshAgent('', false, env))).toBe('agent');
  });

  it("takes the spec's names user and acceptUnknownHostKeys, and the deprecated username and acceptUnknownHostKey", () => {
    expect(resolveTarget({ host: 'h', privateKey: key, user: 'deployer' }, {}).username).toBe('deployer');
    expect(resolveTarget({ host: 'h', privateKey: key, username: 'deployer' }, {}).username).toBe('deployer');
    expect(resolveTarget({ host: 'h', privateKey: key, user: 'ops', username: 'deployer' }, {}).username).toBe('ops');
    expect(resolveTarget({ host: 'h', privateKey: key, acceptUnknownHostKeys: true }, {}).acceptUnknownHostKey).toBe(true);
    expect(resolveTarget({ host: 'h', privateKey: key, acceptUnknownHostKey: true }, {}).acceptUnknownHostKey).toBe(true);
    expect(resolveTarget({ host: 'h', privateKey: key, acceptUnknownHostKeys: false, acceptUnknownHostKey: true }, {}).acceptUnknownHostKey).toBe(false);
    expect(fieldOf(() => resolveTarget({ host: 'h', privateKey: key, user: 'root; rm' }, {}))).toBe('user');
  });

  it('names the bad field', () => {
    const cases: [Partial<SshTarget>, string][] = [
      [{ host: '' }, 'host'],
      [{ host: 'a b' }, 'host'],
      [{ port: 0 }, 'port'],
      [{ port: 70000 }, 'port'],
      [{ port: 22.5 }, 'port'],
      [{ username: 'root; rm' }, 'username'],
      [{ privateKey: undefined, agent: false }, 'privateKey'],
      [{ privateKey: undefined, agent: true }, 'agent'],
      [{ readyTimeoutMs: 0 }, 'readyTimeoutMs'],
      [{ keepaliveIntervalMs: -1 }, 'keepaliveIntervalMs'],
      [{ privateKeyPath: '' }, 'privateKeyPath'],
    ];
    for (const [override, field] of cases) {
      expect(fieldOf(() => resolveTarget({ host: 'h', privateKey: key, ...override } as SshTarget, {}))).toBe(field);
    }
  });

  it('install options: defaults and bad values', () => {
    expect(resolveInstallOptions({})).toEqual({ restart: 'if-changed', openFirewall: true });
    expect(fieldOf(() => resolveInstallOptions({ restart: 'sometimes' }))).toBe('restart');
    expect(fieldOf(() => resolveInstallOptions({ openFirewall: 'yes' }))).toBe('openFirewall');
  });
});

describe('classifySshError', () => {
  const ctx = { host: 'h1', port: 22, phase: 'connect' as const };
  const level = (lvl: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`boom ${lvl}`), { level: lvl, ...extra });

  it('maps ssh2 error levels and socket codes to etcd-kit codes', () => {
    expect(classifySshError(level('client-authentication'), ctx).code).toBe('SSH_AUTH_FAILED');
    expect(classifySshError(level('agent'), ctx).code).toBe('SSH_AUTH_FAILED');
    expect(classifySshError(level('client-timeout'), ctx).code).toBe('SSH_TIMEOUT');
    expect(classifySshError(level('client-dns'), ctx).code).toBe('SSH_UNREACHABLE');
    expect(classifySshError(level('client-socket', { code: 'EHOSTUNREACH' }), ctx).code).toBe('SSH_UNREACHABLE');
    expect(classifySshError(level('client-socket', { code: 'ETIMEDOUT' }), ctx).code).toBe('SSH_TIMEOUT');
    expect(classifySshError(level('handshake'), ctx).code).toBe('SSH_UNREACHABLE');
    expect(classifySshError(new Error('No such file'), { ...ctx, phase: 'sftp' }).code).toBe('SSH_TRANSFER_FAILED');
    expect(classifySshError(new Error('channel open failure'), { ...ctx, phase: 'exec' }).code).toBe('SSH_COMMAND_FAILED');
    const passthrough = new EtcdKitError('ABORTED', 'x');
    expect(classifySshError(passthrough, ctx)).toBe(passthrough);
    expect(abortedError('h1', undefined)).toMatchObject({ code: 'ABORTED', member: 'h1' });
  });

  it('reports a refused host key by the verifier verdict, whatever ssh2 says', () => {
    const verifier = {
      algorithms: ['ssh-ed25519'],
      verify: () => false,
      rejection: { code: 'SSH_HOST_KEY_MISMATCH' as const, reason: 'changed', fingerprint: 'SHA256:x' },
      presentedFingerprint: 'SHA256:x',
    };
    const err = classifySshError(level('handshake'), { ...ctx, verifier });
    expect(err.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(err.details).toEqual({ fingerprint: 'SHA256:x' });
    // Known key types offered, host offers none of them: a changed key too.
    const noAlgo = classifySshError(level('handshake', { message: 'Handshake failed: no matching host key format' }), {
      ...ctx,
      verifier: { ...verifier, rejection: undefined },
    });
    expect(noAlgo.code).toBe('SSH_HOST_KEY_MISMATCH');
  });
});
