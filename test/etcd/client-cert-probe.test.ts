// Which TLS alerts are a member refusing our certificate, and which say nothing about what it trusts.
import { describe, expect, it } from 'vitest';
import { CERTIFICATE_ALERT } from '../../src/etcd/client-cert-probe.js';

describe('CERTIFICATE_ALERT', () => {
  it.each([
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', true], // Go crypto/tls: a client certificate its CA pool does not cover
    ['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', true],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', true], // TLS 1.3 server: no client certificate
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', true],
    ['ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', true],
    ['ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE', true],
    ['ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', true],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', false],
    ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', false],
    ['ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR', false],
    ['ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', false],
    ['ERR_SSL_TLSV1_ALERT_DECODE_ERROR', false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', false],
    ['ECONNRESET', false],
  ])('%s: a refusal of the certificate = %s', (code, refusal) => {
    expect(CERTIFICATE_ALERT.test(code)).toBe(refusal);
  });
});
