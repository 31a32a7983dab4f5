/**
 * A minimal reader for (gzipped) tar archives, enough for etcd release tarballs: ustar and GNU headers,
 * GNU long names (`L`) and pax `path` records. Only regular files are returned.
 * @module
 */
import { gunzipSync } from 'node:zlib';

/** A regular file found in an archive. */
export interface TarFile {
  /** Path inside the archive, without a leading `./`. */
  path: string;
  /** Permission bits from the header. */
  mode: number;
  /** File contents. */
  data: Buffer;
}

const BLOCK = 512;

/** Reads the regular files of a tar archive; gzip is detected by its magic bytes. Throws on corruption. */
export function readTar(archive: Buffer): TarFile[] {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    verifyChecksum(header, offset);
    const size = readNumber(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length) throw new Error(`tar entry at offset ${offset} is truncated`);
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L') {
      longName = cString(data);
      continue;
    }
    if (type === 'x') {
      paxPath = parsePax(data).path ?? paxPath;
      continue;
    }
    if (type === 'g') continue;
    const prefix = cString(header.subarray(345, 500));
    const name = cString(header.subarray(0, 100));
    const path = paxPath ?? longName ?? (prefix && header.subarray(257, 262).toString('latin1') === 'ustar' ? `${prefix}/${name}` : name);
    longName = undefined;
    paxPath = undefined;
    if (type === '0' || type === '\0' || type === '7') {
      files.push({ path: path.replace(/^(\.\/)+/, ''), mode: readNumber(header, 100, 8) & 0o7777, data: Buffer.from(data) });
    }
  }
  return files;
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8');
}

/** Octal ASCII, or GNU base-256 when the top bit of the first byte is set. */
function readNumber(header: Buffer, start: number, length: number): number {
  const field = header.subarray(start, start + length);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar header has a malformed number field at ${start}`);
  return Number.parseInt(text, 8);
}

function verifyChecksum(header: Buffer, offset: number): void {
  const stored = readNumber(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  if (sum !== stored) throw new Error(`tar header checksum mismatch at offset ${offset}`);
}

/** pax extended header: records `<len> <key>=<value>\n`. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number.parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}
