/**
 * Key pairs: generation (node:crypto, asynchronous so independent keys use the libuv thread pool in
 * parallel), algorithm detection, the signature algorithm each key signs with, PKCS#8 export.
 * @module
 */
import { type KeyObject, generateKeyPair, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { OID } from './oids.js';
import type { KeyAlgorithm } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Every supported algorithm, in the order they are documented. */
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'];

/** True when `value` names a supported {@link KeyAlgorithm}. */
export const isKeyAlgorithm = (value: unknown): value is KeyAlgorithm =>
  typeof value === 'string' && (KEY_ALGORITHMS as readonly string[]).includes(value);

/** A generated key pair as node:crypto key objects. */
export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Generates a key pair off the main thread. */
export function generateKey(algorithm: KeyAlgorithm): Promise<KeyPair> {
  switch (algorithm) {
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return generateKeyPairAsync('rsa', { modulusLength: Number(algorithm.slice(4)), publicExponent: 0x10001 });
    case 'ecdsa-p256':
      return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    case 'ecdsa-p384':
      return generateKeyPairAsync('ec', { namedCurve: 'P-384' });
  }
}

/** The {@link KeyAlgorithm} of a key (private or public), or `'unsupported'`. */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | 'unsupported' {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const candidate = `rsa-${details.modulusLength}`;
    return isKeyAlgorithm(candidate) ? candidate : 'unsupported';
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
    if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
  }
  return 'unsupported';
}

/** How a key signs certificates: the digest for crypto.sign and the AlgorithmIdentifier OID. */
export interface SignatureScheme {
  digest: 'sha256' | 'sha384';
  oid: string;
  /** RSA AlgorithmIdentifiers carry an explicit NULL parameter; ECDSA ones carry none (RFC 5758). */
  nullParameters: boolean;
}

/**
 * Signature scheme for a signing key, or undefined when etcd-kit cannot sign with it. Any RSA key of at
 * least 2048 bits signs with sha256WithRSAEncryption (an imported CA may use other sizes); P-256 signs
 * with ecdsa-with-SHA256 and P-384 with ecdsa-with-SHA384, matching digest strength to curve size.
 */
export function signatureSchemeOf(key: KeyObject): SignatureScheme | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) {
    return { digest: 'sha256', oid: OID.sha256WithRSAEncryption, nullParameters: true };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
    return { digest: 'sha256', oid: OID.ecdsaWithSHA256, nullParameters: false };
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'secp384r1') {
    return { digest: 'sha384', oid: OID.ecdsaWithSHA384, nullParameters: false };
  }
  return undefined;
}

/** Signs `data` (a DER TBSCertificate). RSA: PKCS#1 v1.5; ECDSA: DER-encoded (r, s) as X.509 requires. */
export const signData = (data: Buffer, key: KeyObject, scheme: SignatureScheme): Buffer =>
  sign(scheme.digest, data, { key, dsaEncoding: 'der' });

/** Unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`), which etcd (Go) reads for both RSA and EC keys. */
export const exportPrivateKeyPem = (key: KeyObject): string =>
  key.export({ type: 'pkcs8', format: 'pem' }) as string;

/** DER SubjectPublicKeyInfo of a public key. */
export const exportSpkiDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/** keyUsage of a leaf: RSA keys may also encipher (RSA key exchange); ECDSA keys only sign. */
export const leafEnciphers = (algorithm: KeyAlgorithm): boolean => algorithm.startsWith('rsa-');
