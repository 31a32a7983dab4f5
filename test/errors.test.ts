import { describe, expect, it } from 'vitest';
import { EtcdKitError, isEtcdKitError, redactSecrets } from '../src/errors.js';

describe('EtcdKitError', () => {
  it('keeps code, field, member, details and cause', () => {
    const cause = new Error('inner');
    const err = new EtcdKitError('INVALID_SPEC', 'members[1].host is not an IP', {
      field: 'members[1].host',
      member: 'etcd02',
      details: { value: 'x' },
      cause,
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('EtcdKitError');
    expect(err.code).toBe('INVALID_SPEC');
    expect(err.field).toBe('members[1].host');
    expect(err.member).toBe('etcd02');
    expect(err.details).toEqual({ value: 'x' });
    expect(err.cause).toBe(cause);
    expect(isEtcdKitError(err, 'INVALID_SPEC')).toBe(true);
    expect(isEtcdKitError(err, 'PKI_IO')).toBe(false);
    expect(isEtcdKitError(cause)).toBe(false);
  });

  it('never carries a private key PEM in its message', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    const err = new EtcdKitError('PKI_MALFORMED_PEM', `bad input: ${pem} trailing`);
    expect(err.message).not.toContain('MIIEvQ');
    expect(err.message).toContain('[REDACTED PRIVATE KEY]');
    expect(redactSecrets('-----BEGIN EC PRIVATE KEY-----\nabc')).toBe('[REDACTED PRIVATE KEY]');
  });
});
