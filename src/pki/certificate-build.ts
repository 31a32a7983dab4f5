/**
 * Assembles and signs X.509 v3 certificates from ASN.1 building blocks (node-forge's ASN.1 layer) and
 * node:crypto signatures. One path for every key type: the subject key enters as node:crypto's DER
 * SubjectPublicKeyInfo, the signature algorithm follows the issuer key.
 * @module
 */
import { type KeyObject, createHash, randomBytes } from 'node:crypto';
import {
  type Asn1,
  bitString,
  boolean,
  decode,
  encode,
  explicit,
  implicitBytes,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './asn1.js';
import { KEY_USAGE_BITS } from './certificate-parse.js';
import type { SanEntry } from './hosts.js';
import { type SignatureScheme, signData } from './keys.js';
import { OID } from './oids.js';
import type { ExtendedKeyUsage, KeyUsage } from './types.js';

/** Number of random bytes in a serial: 128 bits, far above the 64 bits CA/B and Go expect. */
const SERIAL_BYTES = 16;

/** Everything that goes into one certificate. */
export interface CertificateSpec {
  serial: Buffer;
  /** DER of the issuer Name (the CA's subject, byte for byte; the subject itself when self-signed). */
  issuerDer: Buffer;
  subject: { commonName: string; organization?: string | undefined };
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the certified key. */
  spkiDer: Buffer;
  isCA: boolean;
  keyUsage: KeyUsage[];
  extendedKeyUsage: ExtendedKeyUsage[];
  sans: SanEntry[];
  /** keyIdentifier of the issuing key (the CA's subjectKeyIdentifier). */
  authorityKeyId: Buffer;
}

/**
 * A positive serial of 16 random bytes: the top bit is cleared so the INTEGER is not negative, and a zero
 * first byte is replaced so the DER encoding keeps all 16 bytes minimal (no leading 0x00).
 */
export function randomSerial(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = (serial[0]! & 0x7f) || 0x01;
  return serial;
}

/** subjectPublicKey BIT STRING content (after the unused-bits byte) of a DER SubjectPublicKeyInfo. */
export function subjectPublicKeyBytes(spkiDer: Buffer): Buffer {
  const bits = decode(spkiDer).value[1] as Asn1;
  return Buffer.from(bits.value as string, 'binary').subarray(1);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, as openssl and Go compute it. */
export const keyIdentifier = (subjectPublicKey: Buffer): Buffer =>
  createHash('sha1').update(subjectPublicKey).digest();

/** Name with O (when given) then CN, each in its own RDN, as UTF8String. */
export function encodeName(subject: CertificateSpec['subject']): Buffer {
  const rdn = (type: string, value: string) => set([sequence([oid(type), utf8String(value)])]);
  const rdns = subject.organization === undefined ? [] : [rdn(OID.organizationName, subject.organization)];
  rdns.push(rdn(OID.commonName, subject.commonName));
  return encode(sequence(rdns));
}

const extension = (id: string, critical: boolean, value: Asn1): Asn1 =>
  sequence([oid(id), ...(critical ? [boolean(true)] : []), octetString(encode(value))]);

/** KeyUsage BIT STRING in DER form: trailing zero bits dropped and counted as unused. */
function keyUsageBits(usages: KeyUsage[]): Asn1 {
  const positions = usages.map((usage) => KEY_USAGE_BITS.indexOf(usage));
  const bytes = Buffer.alloc(Math.max(...positions) >= 8 ? 2 : 1);
  for (const position of positions) bytes[position >> 3]! |= 0x80 >> (position & 7);
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (unused < 7 && (last & (1 << unused)) === 0) unused++;
  return bitString(bytes, unused);
}

function generalName(entry: SanEntry): Asn1 {
  return entry.type === 'dns' ? implicitBytes(2, Buffer.from(entry.name, 'ascii')) : implicitBytes(7, entry.bytes);
}

function extensions(spec: CertificateSpec, subjectKeyId: Buffer): Asn1[] {
  // DER omits DEFAULT values: a leaf's cA FALSE is an empty SEQUENCE.
  const constraints = spec.isCA ? [boolean(true), smallInteger(0)] : [];
  const list = [
    extension(OID.basicConstraints, true, sequence(constraints)),
    extension(OID.keyUsage, true, keyUsageBits(spec.keyUsage)),
  ];
  if (spec.extendedKeyUsage.length > 0) {
    list.push(extension(OID.extKeyUsage, false, sequence(spec.extendedKeyUsage.map((usage) => oid(OID[usage])))));
  }
  if (spec.sans.length > 0) list.push(extension(OID.subjectAltName, false, sequence(spec.sans.map(generalName))));
  list.push(extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyId)));
  list.push(extension(OID.authorityKeyIdentifier, false, sequence([implicitBytes(0, spec.authorityKeyId)])));
  return list;
}

const algorithmIdentifier = (scheme: SignatureScheme): Asn1 =>
  sequence([oid(scheme.oid), ...(scheme.nullParameters ? [nullValue()] : [])]);

/**
 * Builds the TBSCertificate, signs it with `issuerKey` and returns the DER certificate.
 * The subject key identifier is derived from `spec.spkiDer`.
 */
export function buildCertificate(spec: CertificateSpec, issuerKey: KeyObject, scheme: SignatureScheme): Buffer {
  const subjectKeyId = keyIdentifier(subjectPublicKeyBytes(spec.spkiDer));
  const tbs = sequence([
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(spec.serial),
    algorithmIdentifier(scheme),
    decode(spec.issuerDer),
    sequence([time(spec.notBefore), time(spec.notAfter)]),
    decode(encodeName(spec.subject)),
    decode(spec.spkiDer),
    explicit(3, sequence(extensions(spec, subjectKeyId))),
  ]);
  const signature = signData(encode(tbs), issuerKey, scheme);
  return encode(sequence([tbs, algorithmIdentifier(scheme), bitString(signature)]));
}
