/**
 * Reads the fields etcd-kit cares about from a DER certificate with forge's ASN.1 parser. node:crypto's
 * X509Certificate only exposes some of them as display strings; this gives exact bytes (issuer name, key
 * identifiers) for building and checking certificates.
 * @module
 */
import {
  type Asn1,
  Types,
  children,
  contentBytes,
  decode,
  encode,
  isContext,
  isUniversal,
  readOid,
  readString,
  readTime,
} from './asn1.js';
import { ipBytesToText } from './hosts.js';
import { OID } from './oids.js';
import type { CertificateName, KeyUsage } from './types.js';

/** Certificate fields read from DER. Absent extensions are `undefined`. */
export interface ParsedCertificate {
  /** Serial INTEGER content bytes as encoded (may include a leading 0x00 sign byte). */
  serialBytes: Buffer;
  /** OID of the signature algorithm. */
  signatureAlgorithmOid: string;
  /** DER of the issuer Name, byte for byte. */
  issuerDer: Buffer;
  /** DER of the subject Name, byte for byte (a leaf's issuer must equal its CA's subject exactly). */
  subjectDer: Buffer;
  issuer: CertificateName;
  subject: CertificateName;
  notBefore: Date;
  notAfter: Date;
  /** subjectPublicKey BIT STRING content without the unused-bits byte (input of the RFC 5280 key id). */
  subjectPublicKey: Buffer;
  basicConstraints: { isCA: boolean; pathLength: number | undefined } | undefined;
  keyUsage: KeyUsage[] | undefined;
  /** extendedKeyUsage OIDs. */
  extendedKeyUsage: string[] | undefined;
  sans: { dns: string[]; ip: string[] };
  subjectKeyId: Buffer | undefined;
  authorityKeyId: Buffer | undefined;
}

/** keyUsage bit names in bit order (RFC 5280 §4.2.1.3). */
export const KEY_USAGE_BITS: readonly KeyUsage[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

function expect(node: Asn1 | undefined, what: string): Asn1 {
  if (!node) throw new Error(`certificate is missing its ${what}`);
  return node;
}

function readName(name: Asn1): CertificateName {
  const result: CertificateName = { commonName: undefined, organizations: [] };
  for (const rdn of children(name)) {
    for (const attribute of children(rdn)) {
      const [type, value] = children(attribute);
      const oid = readOid(type);
      if (oid === OID.commonName && result.commonName === undefined) result.commonName = readString(value);
      if (oid === OID.organizationName) result.organizations.push(readString(value));
    }
  }
  return result;
}

function readKeyUsage(value: Asn1): KeyUsage[] {
  const bits = contentBytes(value).subarray(1); // first byte: number of unused bits
  return KEY_USAGE_BITS.filter((_, i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
}

function readBasicConstraints(value: Asn1): { isCA: boolean; pathLength: number | undefined } {
  const items = children(value);
  const first = items[0];
  const isCA = isUniversal(first, Types.BOOLEAN) && contentBytes(first)[0] !== 0;
  const lengthNode = items.find((item) => isUniversal(item, Types.INTEGER));
  const pathLength = lengthNode ? contentBytes(lengthNode).reduce((n, byte) => n * 256 + byte, 0) : undefined;
  return { isCA, pathLength };
}

function readSans(value: Asn1): { dns: string[]; ip: string[] } {
  const sans = { dns: [] as string[], ip: [] as string[] };
  for (const name of children(value)) {
    if (isContext(name, 2)) sans.dns.push(contentBytes(name).toString('latin1'));
    if (isContext(name, 7)) sans.ip.push(ipBytesToText(contentBytes(name)));
  }
  return sans;
}

const KNOWN_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
]);

/** Parses a DER certificate. Throws a plain Error on structures it cannot read. */
export function parseCertificateDer(der: Uint8Array): ParsedCertificate {
  const [tbs, signatureAlgorithm] = children(decode(der));
  const fields = children(expect(tbs, 'TBSCertificate'));
  const offset = isContext(fields[0], 0) ? 1 : 0; // [0] EXPLICIT version is optional (absent means v1)
  const [serial, , issuer, validity, subject, spki] = fields.slice(offset);
  const [notBefore, notAfter] = children(expect(validity, 'validity'));
  const [, publicKeyBits] = children(expect(spki, 'subjectPublicKeyInfo'));

  const parsed: ParsedCertificate = {
    serialBytes: contentBytes(expect(serial, 'serial number')),
    signatureAlgorithmOid: readOid(children(expect(signatureAlgorithm, 'signature algorithm'))[0]),
    issuerDer: encode(expect(issuer, 'issuer')),
    subjectDer: encode(expect(subject, 'subject')),
    issuer: readName(issuer!),
    subject: readName(subject!),
    notBefore: readTime(expect(notBefore, 'notBefore')),
    notAfter: readTime(expect(notAfter, 'notAfter')),
    subjectPublicKey: contentBytes(expect(publicKeyBits, 'public key')).subarray(1),
    basicConstraints: undefined,
    keyUsage: undefined,
    extendedKeyUsage: undefined,
    sans: { dns: [], ip: [] },
    subjectKeyId: undefined,
    authorityKeyId: undefined,
  };

  const extensions = children(children(fields.find((field) => isContext(field, 3)))[0]);
  for (const extension of extensions) {
    const parts = children(extension);
    const oid = readOid(parts[0]);
    if (!KNOWN_EXTENSIONS.has(oid)) continue;
    const value = decode(contentBytes(parts[parts.length - 1]));
    switch (oid) {
      case OID.basicConstraints:
        parsed.basicConstraints = readBasicConstraints(value);
        break;
      case OID.keyUsage:
        parsed.keyUsage = readKeyUsage(value);
        break;
      case OID.extKeyUsage:
        parsed.extendedKeyUsage = children(value).map(readOid);
        break;
      case OID.subjectAltName:
        parsed.sans = readSans(value);
        break;
      case OID.subjectKeyIdentifier:
        parsed.subjectKeyId = contentBytes(value);
        break;
      case OID.authorityKeyIdentifier: {
        const keyIdentifier = children(value).find((item) => isContext(item, 0));
        parsed.authorityKeyId = keyIdentifier ? contentBytes(keyIdentifier) : undefined;
        break;
      }
    }
  }
  return parsed;
}
