// Which TLS alerts are a member refusing our certificate, and which say nothing about what it trusts.
import { describe, expect, it } from 'vitest';
import { CERTIFICATE_ALERT } from '../../src/etcd/client-cert-probe.js';

describe('CERTIFICATE_ALERT', () => {
  it.each([
    'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', // Go crypto/tls: a client certificate its CA pool does not cover
    'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
    'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', // TLS 1.3 server: no client certificate
    'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
    'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
    'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
    'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  ])('%s is a refusal of the certificate', (code) => {
    expect(CERTIFICATE_ALERT.test(code)).toBe(true);
  });

  it.each([
    'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR',
    'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
    'ERR_SSL_TLSV1_ALERT_DECODE_ERROR',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'ECONNRESET',
  ])('%s is no verdict', (code) => {
    expect(CERTIFICATE_ALERT.test(code)).toBe(false);
  });
});
