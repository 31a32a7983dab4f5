/**
 * createCA and the three leaf signers. Each validates all input, generates the key asynchronously (off
 * the main thread), then builds and signs the certificate.
 * @module
 */
import {
  type CertificateSpec,
  buildCertificate,
  encodeName,
  keyIdentifier,
  randomSerial,
  subjectPublicKeyBytes,
} from './certificate-build.js';
import { type Issuer, loadIssuer } from './issuer.js';
import {
  type KeyPair,
  exportPrivateKeyPem,
  exportSpkiDer,
  generateKey,
  keyAlgorithmOf,
  leafEnciphers,
  signatureSchemeOf,
} from './keys.js';
import {
  DIRECT_LEAF_FIELDS,
  type LeafKind,
  type ResolvedCaOptions,
  type ResolvedLeafOptions,
  resolveCaOptions,
  resolveLeafOptions,
} from './options.js';
import { derToPem } from './pem.js';
import type {
  CertificateAuthority,
  ClientCertOptions,
  CreateCaOptions,
  HostCertOptions,
  IssuedCertificate,
  KeyUsage,
} from './types.js';

const CA_KEY_USAGE: KeyUsage[] = ['digitalSignature', 'keyCertSign', 'cRLSign'];

/** Self-signs a CA certificate for a generated key; returns the PEMs and the ready-to-sign issuer. */
export function selfSignCa(resolved: ResolvedCaOptions, keys: KeyPair): { ca: CertificateAuthority; issuer: Issuer } {
  const scheme = signatureSchemeOf(keys.privateKey)!; // generated keys are always supported
  const spkiDer = exportSpkiDer(keys.publicKey);
  const keyId = keyIdentifier(subjectPublicKeyBytes(spkiDer));
  const subject = { commonName: resolved.commonName };
  const subjectDer = encodeName(subject);
  const spec: CertificateSpec = {
    serial: randomSerial(),
    issuerDer: subjectDer,
    subject,
    notBefore: resolved.notBefore,
    notAfter: resolved.notAfter,
    spkiDer,
    isCA: true,
    keyUsage: CA_KEY_USAGE,
    extendedKeyUsage: [],
    sans: [],
    authorityKeyId: keyId,
  };
  const der = buildCertificate(spec, keys.privateKey, scheme);
  return {
    ca: { certPem: derToPem(der, 'CERTIFICATE'), keyPem: exportPrivateKeyPem(keys.privateKey) },
    issuer: {
      subjectDer,
      keyId,
      privateKey: keys.privateKey,
      scheme,
      keyAlgorithm: keyAlgorithmOf(keys.privateKey),
      notBefore: resolved.notBefore,
      notAfter: resolved.notAfter,
    },
  };
}

/** Builds and signs one leaf certificate for a generated key. */
export function issueLeaf(issuer: Issuer, leaf: ResolvedLeafOptions, keys: KeyPair): IssuedCertificate {
  const spec: CertificateSpec = {
    serial: randomSerial(),
    issuerDer: issuer.subjectDer,
    subject: { commonName: leaf.commonName, organization: leaf.organization },
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    spkiDer: exportSpkiDer(keys.publicKey),
    isCA: false,
    keyUsage: leafEnciphers(leaf.keyAlgorithm) ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
    extendedKeyUsage: leaf.extendedKeyUsage,
    sans: leaf.sans,
    authorityKeyId: issuer.keyId,
  };
  const der = buildCertificate(spec, issuer.privateKey, issuer.scheme);
  return { certPem: derToPem(der, 'CERTIFICATE'), keyPem: exportPrivateKeyPem(keys.privateKey) };
}

/**
 * Creates a self-signed CA: basicConstraints CA:TRUE, pathlen 0 (critical), keyUsage digitalSignature,
 * keyCertSign, cRLSign (critical), subject/authority key identifiers.
 *
 * @throws EtcdKitError PKI_INVALID_INPUT naming `commonName`, `validityDays` or `keyAlgorithm`.
 * @example
 * ```ts
 * const ca = await createCA({ commonName: 'prod-etcd-ca', keyAlgorithm: 'ecdsa-p256' });
 * ```
 * @category PKI
 */
export async function createCA(opts?: CreateCaOptions): Promise<CertificateAuthority> {
  const resolved = resolveCaOptions(opts, new Date());
  return selfSignCa(resolved, await generateKey(resolved.keyAlgorithm)).ca;
}

async function signLeaf(
  kind: LeafKind,
  ca: CertificateAuthority,
  options: HostCertOptions | ClientCertOptions,
): Promise<IssuedCertificate> {
  const now = new Date();
  const issuer = loadIssuer(ca, 'ca', now);
  const leaf = resolveLeafOptions({ kind, options }, issuer, now, DIRECT_LEAF_FIELDS);
  return issueLeaf(issuer, leaf, await generateKey(leaf.keyAlgorithm));
}

/**
 * Issues a server certificate (etcd `--cert-file`, the client listener): EKU serverAuth + clientAuth (etcd
 * 3.2+ also dials its own endpoints with it), SANs exactly from `hosts`, a fresh key.
 *
 * @throws EtcdKitError PKI_INVALID_INPUT (field `hosts[i]`, `commonName`, `validityDays`, `keyAlgorithm`),
 * PKI_MALFORMED_PEM / PKI_NOT_A_CA / PKI_KEY_MISMATCH (field `ca.certPem` / `ca.keyPem`).
 * @example
 * ```ts
 * const server = await signServerCert(ca, { commonName: 'etcd01', hosts: ['10.0.0.11', 'etcd01.lan', '127.0.0.1'] });
 * ```
 * @category PKI
 */
export function signServerCert(ca: CertificateAuthority, opts: HostCertOptions): Promise<IssuedCertificate> {
  return signLeaf('server', ca, opts);
}

/**
 * Issues a peer certificate (etcd `--peer-cert-file`, member-to-member traffic): EKU serverAuth +
 * clientAuth, since each member is both server and client of its peers. Options and errors as
 * {@link signServerCert}.
 * @category PKI
 */
export function signPeerCert(ca: CertificateAuthority, opts: HostCertOptions): Promise<IssuedCertificate> {
  return signLeaf('peer', ca, opts);
}

/**
 * Issues a client certificate (etcdctl, kube-apiserver `--etcd-certfile`): EKU clientAuth only, no SANs.
 * The CN is the user name etcd's RBAC sees; `organization` (optional) becomes the subject O.
 *
 * @throws EtcdKitError PKI_INVALID_INPUT (field `commonName`, `organization`, `validityDays`, `keyAlgorithm`)
 * and the CA errors of {@link signServerCert}.
 * @category PKI
 */
export function signClientCert(ca: CertificateAuthority, opts: ClientCertOptions): Promise<IssuedCertificate> {
  return signLeaf('client', ca, opts);
}
