/**
 * Types shared by every part of the PKI module. Plain data only: certificates and keys travel as PEM strings
 * so they can be written to disk, sent over SSH or handed to an etcd client without conversion.
 * @module
 */

/**
 * Key algorithm of a generated key pair. RSA keys are signed with sha256WithRSAEncryption; ECDSA keys with
 * ecdsa-with-SHA256 (P-256) or ecdsa-with-SHA384 (P-384). All five are accepted by etcd (Go crypto/tls).
 * @category PKI
 */
export type KeyAlgorithm = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ecdsa-p256' | 'ecdsa-p384';

/**
 * A certificate authority: its self-signed certificate and its private key (PKCS#8 PEM, unencrypted).
 * @category PKI
 */
export interface CertificateAuthority {
  /** CA certificate, PEM (`BEGIN CERTIFICATE`). */
  certPem: string;
  /** CA private key, PKCS#8 PEM (`BEGIN PRIVATE KEY`). Never leaves the controller. */
  keyPem: string;
}

/**
 * A leaf certificate issued by a {@link CertificateAuthority}, with its freshly generated private key.
 * @category PKI
 */
export interface IssuedCertificate {
  /** Leaf certificate, PEM (`BEGIN CERTIFICATE`). */
  certPem: string;
  /** Private key, PKCS#8 PEM (`BEGIN PRIVATE KEY`), unencrypted because etcd cannot read encrypted keys. */
  keyPem: string;
}

/**
 * The two certificates one etcd member needs: one for its client listener, one for its peer listener.
 * @category PKI
 */
export interface MemberPki {
  /** Server certificate for the client listener (port 2379): EKU serverAuth + clientAuth. */
  server: IssuedCertificate;
  /** Peer certificate for member-to-member traffic (port 2380): EKU serverAuth + clientAuth. */
  peer: IssuedCertificate;
}

/**
 * Everything a cluster needs: the CA, per-member server and peer certificates, and client certificates.
 * @category PKI
 */
export interface ClusterPki {
  /** The CA that signed every other certificate here. */
  ca: CertificateAuthority;
  /** Member certificates, keyed by member name. */
  members: Record<string, MemberPki>;
  /** Client certificates (EKU clientAuth only), keyed by client name (which is also the certificate CN). */
  clients: Record<string, IssuedCertificate>;
}

/**
 * Options of {@link createCA}.
 * @category PKI
 */
export interface CreateCaOptions {
  /** Subject common name. Default: `'etcd-ca'`. */
  commonName?: string;
  /** Lifetime in days, counted from now. Default: 3650 (ten years, the recipe's 87600h). */
  validityDays?: number;
  /** Algorithm of the CA key. Default: `'ecdsa-p256'`. */
  keyAlgorithm?: KeyAlgorithm;
}

/**
 * Options of {@link signServerCert} and {@link signPeerCert}.
 * @category PKI
 */
export interface HostCertOptions {
  /** Subject common name, usually the member name. Required, 1–64 characters. */
  commonName: string;
  /**
   * Host names and IP addresses the certificate is valid for, written as subjectAltName entries exactly as
   * given (no implicit `127.0.0.1`/`localhost` here; {@link createClusterPki} adds those). IPv4/IPv6 become
   * IP SANs, everything else must be a DNS name (`*.` allowed as the leftmost label only). Duplicates are
   * dropped. At least one entry.
   */
  hosts: string[];
  /**
   * Lifetime in days, counted from now. Default: 1825 (five years), shortened to end with the CA when the
   * CA expires sooner. An explicit value that outlives the CA is an error.
   */
  validityDays?: number;
  /** Algorithm of the new key. Default: the CA key's algorithm (`'ecdsa-p256'` if the CA uses another one). */
  keyAlgorithm?: KeyAlgorithm;
}

/**
 * Options of {@link signClientCert}.
 * @category PKI
 */
export interface ClientCertOptions {
  /** Subject common name: the user name etcd RBAC sees. Required, 1–64 characters. */
  commonName: string;
  /** Subject organization (O), e.g. a Kubernetes group. Default: none. */
  organization?: string;
  /** Lifetime in days, counted from now. Default: 1825, shortened to the CA's end (see {@link HostCertOptions.validityDays}). */
  validityDays?: number;
  /** Algorithm of the new key. Default: the CA key's algorithm (`'ecdsa-p256'` if the CA uses another one). */
  keyAlgorithm?: KeyAlgorithm;
}

/**
 * One member in {@link CreateClusterPkiOptions.members}.
 * @category PKI
 */
export interface ClusterMemberSpec {
  /** Member name (etcd `--name`); CN of its certificates and its directory name in the PKI dir. */
  name: string;
  /** The member's own host names / IPs (its advertise addresses). `127.0.0.1` and `localhost` are added. */
  hosts: string[];
}

/**
 * Options of {@link createClusterPki}.
 * @category PKI
 */
export interface CreateClusterPkiOptions {
  /** The etcd members. At least one; names unique. */
  members: ClusterMemberSpec[];
  /** Existing CA to sign with. Default: a new CA (CN `etcd-ca`, 3650 days). */
  ca?: CertificateAuthority;
  /** Algorithm of every new key. Default: the given CA's algorithm, or `'ecdsa-p256'` for a new CA. */
  keyAlgorithm?: KeyAlgorithm;
  /** Client certificate names (CN). Default: `['admin', 'kube-apiserver']`. */
  clients?: string[];
  /** Lifetime of the leaf certificates in days. Default: 1825, shortened to the CA's end. */
  validityDays?: number;
}

/**
 * Extended key usages etcd-kit issues and reports.
 * @category PKI
 */
export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';

/**
 * Key usage bits, named as in RFC 5280.
 * @category PKI
 */
export type KeyUsage =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/**
 * Subject or issuer name fields etcd-kit cares about.
 * @category PKI
 */
export interface CertificateName {
  /** Common name (CN), if present. */
  commonName: string | undefined;
  /** Organization (O) values, in order; empty when absent. */
  organizations: string[];
}

/**
 * What {@link etcd-kit/pki!inspectCertificate | inspectCertificate} reports about one certificate.
 * @category PKI
 */
export interface CertificateInfo {
  /** Subject name. */
  subject: CertificateName;
  /** Issuer name (equals `subject` for a self-signed CA). */
  issuer: CertificateName;
  /** subjectAltName entries. */
  sans: {
    /** DNS names, as written in the certificate (wildcards included). */
    dns: string[];
    /** IP addresses in canonical text form (`10.0.0.1`, `::1`). */
    ip: string[];
  };
  /** Serial number, lower-case hex without separators or sign byte. */
  serial: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** Whole days from now until `notAfter`, rounded down; negative once expired. */
  daysLeft: number;
  /** Algorithm of the certified public key, or `'unsupported'` for anything etcd-kit does not issue. */
  keyAlgorithm: KeyAlgorithm | 'unsupported';
  /** Signature algorithm name, e.g. `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, or its OID if unknown. */
  signatureAlgorithm: string;
  /** basicConstraints CA flag. */
  isCA: boolean;
  /** basicConstraints pathLenConstraint, when set. */
  pathLength: number | undefined;
  /** keyUsage bits set; empty when the extension is absent. */
  keyUsage: KeyUsage[];
  /** serverAuth / clientAuth from extendedKeyUsage (other purposes are not listed). */
  extendedKeyUsage: ExtendedKeyUsage[];
  /** subjectKeyIdentifier, lower-case hex; undefined when absent. */
  subjectKeyId: string | undefined;
  /** authorityKeyIdentifier keyIdentifier, lower-case hex; undefined when absent. */
  authorityKeyId: string | undefined;
  /** SHA-256 fingerprint of the DER certificate, upper-case hex with colons (as `openssl x509 -fingerprint`). */
  fingerprint256: string;
}
