/** Shared fixtures and assertions for the PKI tests. */
import { X509Certificate } from 'node:crypto';
import { expect } from 'vitest';
import { EtcdKitError, type EtcdKitErrorCode } from '../../src/errors.js';
import { type CertificateAuthority, type KeyAlgorithm, createCA } from '../../src/pki/index.js';

/** Algorithms every main case runs with; RSA-3072/4096 are exercised once elsewhere (slow keygen). */
export const MAIN_ALGORITHMS: KeyAlgorithm[] = ['rsa-2048', 'ecdsa-p256', 'ecdsa-p384'];

const cas = new Map<string, Promise<CertificateAuthority>>();

/** One CA per algorithm per test file: key generation is the slow part and not what most tests check. */
export function sharedCa(keyAlgorithm: KeyAlgorithm = 'ecdsa-p256'): Promise<CertificateAuthority> {
  let ca = cas.get(keyAlgorithm);
  if (!ca) {
    ca = createCA({ keyAlgorithm });
    cas.set(keyAlgorithm, ca);
  }
  return ca;
}

export const x509 = (pem: string): X509Certificate => new X509Certificate(pem);

/** Awaits `action` and asserts it fails with an EtcdKitError of `code` (and `field`, when given). */
export async function expectPkiError(
  action: Promise<unknown> | (() => unknown),
  code: EtcdKitErrorCode,
  field?: string,
): Promise<EtcdKitError> {
  let error: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (err) {
    error = err;
  }
  expect(error, `expected ${code} to be thrown`).toBeInstanceOf(EtcdKitError);
  const pkiError = error as EtcdKitError;
  expect({ code: pkiError.code, field: pkiError.field }).toEqual({
    code,
    field: field === undefined ? pkiError.field : field,
  });
  return pkiError;
}

/** The base64 body of a PEM, to assert it never appears in messages. */
export const pemBody = (pem: string): string => pem.split('\n').slice(1, 3).join('');
