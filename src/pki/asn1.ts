/**
 * Thin typed helpers over node-forge's ASN.1 layer. forge's X.509 object model only knows RSA keys, so
 * certificates are assembled from these DER building blocks instead; one code path for RSA and ECDSA.
 * forge represents byte strings as "binary" (latin1) JS strings: the helpers take and return Buffers.
 * @module
 */
import forge from 'node-forge';

const { asn1 } = forge;

/** One ASN.1 node as forge models it. */
export type Asn1 = forge.asn1.Asn1;

const UNIVERSAL = asn1.Class.UNIVERSAL;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

/** First year that RFC 5280 requires to be encoded as GeneralizedTime instead of UTCTime. */
const GENERALIZED_TIME_FROM_YEAR = 2050;

/** Bytes → forge binary string. */
export const toBinary = (bytes: Uint8Array): string => Buffer.from(bytes).toString('binary');
/** forge binary string → bytes. */
export const fromBinary = (text: string): Buffer => Buffer.from(text, 'binary');

/** SEQUENCE of `items`. */
export const sequence = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SEQUENCE, true, items);
/** SET of `items` (callers pass one element, so DER ordering never matters). */
export const set = (items: Asn1[]): Asn1 => asn1.create(UNIVERSAL, T.SET, true, items);
/** OBJECT IDENTIFIER from dotted notation. */
export const oid = (dotted: string): Asn1 =>
  asn1.create(UNIVERSAL, T.OID, false, asn1.oidToDer(dotted).getBytes());
/** BOOLEAN (DER: TRUE is 0xff). */
export const boolean = (value: boolean): Asn1 =>
  asn1.create(UNIVERSAL, T.BOOLEAN, false, value ? '\xff' : '\x00');
/** NULL. */
export const nullValue = (): Asn1 => asn1.create(UNIVERSAL, T.NULL, false, '');
/** UTF8String (RFC 5280's choice for new names). */
export const utf8String = (text: string): Asn1 =>
  asn1.create(UNIVERSAL, T.UTF8, false, forge.util.encodeUtf8(text));
/** OCTET STRING of raw bytes. */
export const octetString = (bytes: Uint8Array): Asn1 =>
  asn1.create(UNIVERSAL, T.OCTETSTRING, false, toBinary(bytes));
/** BIT STRING whose content is whole bytes (signatures, public keys). */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Asn1 =>
  asn1.create(UNIVERSAL, T.BITSTRING, false, String.fromCharCode(unusedBits) + toBinary(bytes));
/** Non-negative INTEGER from a small JS number. */
export const smallInteger = (value: number): Asn1 =>
  asn1.create(UNIVERSAL, T.INTEGER, false, asn1.integerToDer(value).getBytes());

/** Non-negative INTEGER from big-endian magnitude bytes, minimally encoded (sign byte only when needed). */
export function unsignedInteger(magnitude: Uint8Array): Asn1 {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.subarray(start));
  const bytes = (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
  return asn1.create(UNIVERSAL, T.INTEGER, false, toBinary(bytes.length ? bytes : Buffer.from([0])));
}

/** X.509 Time: UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5), whole seconds. */
export function time(date: Date): Asn1 {
  const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return seconds.getUTCFullYear() < GENERALIZED_TIME_FROM_YEAR
    ? asn1.create(UNIVERSAL, T.UTCTIME, false, asn1.dateToUtcTime(seconds))
    : asn1.create(UNIVERSAL, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(seconds));
}

/** `[tag] EXPLICIT inner`. */
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(CONTEXT, tag, true, [inner]);
/** `[tag] IMPLICIT` primitive with raw content bytes (GeneralName dNSName/iPAddress, keyIdentifier). */
export const implicitBytes = (tag: number, bytes: Uint8Array): Asn1 =>
  asn1.create(CONTEXT, tag, false, toBinary(bytes));

/** DER encoding of a node. */
export const encode = (node: Asn1): Buffer => fromBinary(asn1.toDer(node).getBytes());

/**
 * Strict DER parse. BIT STRINGs are kept as raw bytes (forge would otherwise try to parse their content
 * as nested ASN.1), so re-encoding reproduces the input byte for byte.
 */
export function decode(der: Uint8Array): Asn1 {
  const options = { strict: true, parseAllBytes: true, decodeBitStrings: false };
  return (asn1.fromDer as unknown as (bytes: string, options: object) => Asn1)(toBinary(der), options);
}

/** Children of a constructed node (empty for a primitive one). */
export const children = (node: Asn1 | undefined): Asn1[] =>
  node && Array.isArray(node.value) ? node.value : [];

/** Raw content bytes of a primitive node. */
export const contentBytes = (node: Asn1 | undefined): Buffer =>
  node && typeof node.value === 'string' ? fromBinary(node.value) : Buffer.alloc(0);

/** True for a context-specific `[tag]` node. */
export const isContext = (node: Asn1 | undefined, tag: number): boolean =>
  node !== undefined && node.tagClass === CONTEXT && node.type === tag;
/** True for a universal node of `type`. */
export const isUniversal = (node: Asn1 | undefined, type: forge.asn1.Type): boolean =>
  node !== undefined && node.tagClass === UNIVERSAL && node.type === type;

/** Dotted OID string of an OBJECT IDENTIFIER node. */
export const readOid = (node: Asn1 | undefined): string => asn1.derToOid(contentBytes(node).toString('binary'));

/** Date of a UTCTime or GeneralizedTime node. */
export function readTime(node: Asn1 | undefined): Date {
  const text = contentBytes(node).toString('binary');
  return isUniversal(node, T.GENERALIZEDTIME) ? asn1.generalizedTimeToDate(text) : asn1.utcTimeToDate(text);
}

/** Text of a directory string (UTF8String, PrintableString, IA5String, T61String, BMPString). */
export function readString(node: Asn1 | undefined): string {
  if (!node || typeof node.value !== 'string') return '';
  // forge already turns BMPString into a JS string; UTF8String content is UTF-8 bytes.
  if (node.type === T.BMPSTRING) return node.value;
  return node.type === T.UTF8 ? forge.util.decodeUtf8(node.value) : node.value;
}

/** ASN.1 universal type numbers used by callers. */
export const Types = T;
