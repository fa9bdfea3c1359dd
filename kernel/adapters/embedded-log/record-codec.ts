/**
 * On-disk framing of one record (all integers little-endian):
 *
 *   0   u32  crc32 of bytes [4, 8 + bodyLength)  (covers the length field and the body)
 *   4   u32  bodyLength
 *   8   i64  offset
 *   16  i64  timestamp (ms since the epoch)
 *   24  i32  keyLength (-1 = no key)
 *   28  ...  key (UTF-8, keyLength bytes), then value (UTF-8, the rest of the body)
 *
 * Pure functions over Buffers; no I/O here.
 */
import type { LogRecord } from '../../ports/event-log.js';
import { crc32Range } from './crc32.js';

/** crc32 + bodyLength. */
export const RECORD_PREFIX_BYTES = 8;
/** offset + timestamp + keyLength. */
export const RECORD_BODY_HEADER_BYTES = 20;
export const RECORD_OVERHEAD_BYTES = RECORD_PREFIX_BYTES + RECORD_BODY_HEADER_BYTES;

const TWO_32 = 0x1_0000_0000;

export interface EncodableRecord {
  key?: string | null | undefined;
  value: string;
  timestamp?: number | undefined;
}

export interface EncodedBatch {
  /** Bytes written into the target buffer, from 0. */
  bytes: number;
  count: number;
  /** Newest timestamp in the batch. */
  maxTimestamp: number;
  /** Sparse index candidates: [offset, positionInBatch, offset, positionInBatch, ...]. */
  indexCandidates: number[];
}

/** An upper bound of the encoded size: UTF-8 takes at most 3 bytes per UTF-16 code unit. */
export function maxEncodedBytes(records: readonly EncodableRecord[]): number {
  let total = 0;
  for (const r of records) {
    total += RECORD_OVERHEAD_BYTES + 3 * r.value.length + (r.key == null ? 0 : 3 * r.key.length);
  }
  return total;
}

/**
 * Encodes `records` with consecutive offsets from `baseOffset` into `target` (which must hold
 * maxEncodedBytes(records)). One CRC per record.
 */
export function encodeBatch(
  records: readonly EncodableRecord[],
  baseOffset: number,
  defaultTimestamp: number,
  target: Buffer,
  indexIntervalBytes: number,
): EncodedBatch {
  let pos = 0;
  let offset = baseOffset;
  let maxTimestamp = -1;
  let lastIndexed = -indexIntervalBytes;
  const indexCandidates: number[] = [];
  for (const r of records) {
    const start = pos;
    if (start - lastIndexed >= indexIntervalBytes) {
      indexCandidates.push(offset, start);
      lastIndexed = start;
    }
    const ts = r.timestamp ?? defaultTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    const offLo = offset >>> 0;
    w32(target, start + 8, offLo);
    w32(target, start + 12, (offset - offLo) / TWO_32);
    const tsLo = ts >>> 0;
    w32(target, start + 16, tsLo);
    w32(target, start + 20, (ts - tsLo) / TWO_32);
    pos = start + RECORD_OVERHEAD_BYTES;
    if (r.key == null) {
      w32(target, start + 24, -1);
    } else {
      const keyBytes = r.key.length === 0 ? 0 : writeUtf8(target, r.key, pos);
      w32(target, start + 24, keyBytes);
      pos += keyBytes;
    }
    if (r.value.length > 0) pos += writeUtf8(target, r.value, pos);
    w32(target, start + 4, pos - start - RECORD_PREFIX_BYTES);
    w32(target, start, crc32Range(target, start + 4, pos));
    offset++;
  }
  return { bytes: pos, count: records.length, maxTimestamp, indexCandidates };
}

/** Body length of the frame at `pos` (the caller has checked that 8 bytes are there). */
export function frameBodyLength(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + 4);
}

export function isPlausibleBodyLength(bodyLength: number, maxRecordBytes: number): boolean {
  return bodyLength >= RECORD_BODY_HEADER_BYTES && bodyLength + RECORD_PREFIX_BYTES <= maxRecordBytes;
}

/** True when the stored CRC matches the frame of `frameBytes` bytes at `pos`. */
export function checksumMatches(buf: Buffer, pos: number, frameBytes: number): boolean {
  return buf.readUInt32LE(pos) === crc32Range(buf, pos + 4, pos + frameBytes);
}

export function readFrameOffset(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + 8) + buf.readUInt32LE(pos + 12) * TWO_32;
}

export function readFrameTimestamp(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + 16) + buf.readUInt32LE(pos + 20) * TWO_32;
}

/**
 * End (buffer position) of the last whole frame in buf[start, limit) when walking frames from
 * `start`; `start` when not even the first frame is whole. Stops early at an implausible length
 * (the decoder reports it).
 */
export function lastFrameEnd(buf: Buffer, start: number, limit: number, maxRecordBytes: number): number {
  let pos = start;
  while (limit - pos >= RECORD_PREFIX_BYTES) {
    const bodyLength = u32(buf, pos + 4);
    if (bodyLength < RECORD_BODY_HEADER_BYTES || bodyLength + RECORD_PREFIX_BYTES > maxRecordBytes) {
      // Let the decoder meet (and report) the damaged frame.
      return pos === start ? limit : pos;
    }
    const end = pos + RECORD_PREFIX_BYTES + bodyLength;
    if (end > limit) break;
    pos = end;
  }
  return pos;
}

/**
 * Buffer's utf8Slice / utf8Write: what toString('utf8', a, b) and write(s, pos, 'utf8') end in,
 * without their argument handling (measurable at a million records per second). Used when present.
 */
interface Utf8Buffer {
  utf8Slice(start: number, end: number): string;
  utf8Write(value: string, offset: number): number;
}

const HAS_UTF8_FAST_PATH =
  typeof (Buffer.prototype as unknown as Partial<Utf8Buffer>).utf8Slice === 'function' &&
  typeof (Buffer.prototype as unknown as Partial<Utf8Buffer>).utf8Write === 'function';

function writeUtf8(target: Buffer, value: string, offset: number): number {
  return HAS_UTF8_FAST_PATH
    ? (target as unknown as Utf8Buffer).utf8Write(value, offset)
    : target.write(value, offset, 'utf8');
}

/** Little-endian u32 / i32 at `p` (the caller has checked the bounds): no argument validation. */
function u32(buf: Buffer, p: number): number {
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16)) + buf[p + 3]! * 0x1000000;
}

/** Writes the low 32 bits of `v` little-endian at `p` (the caller has checked the bounds). */
function w32(buf: Buffer, p: number, v: number): void {
  buf[p] = v;
  buf[p + 1] = v >>> 8;
  buf[p + 2] = v >>> 16;
  buf[p + 3] = v >>> 24;
}

function i32(buf: Buffer, p: number): number {
  return buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
}

export type DecodeProblem = 'bad-length' | 'checksum-mismatch' | 'offset-gap';

export interface DecodeResult {
  /** Buffer position after the last whole record consumed (decoded or skipped). */
  consumed: number;
  /** Offset the next record must carry. */
  nextOffset: number;
  /** Set when a damaged record was met at position `problemAt`; decoding stopped there. */
  problem: DecodeProblem | undefined;
  problemAt: number;
}

/**
 * Decodes whole records from buf[start, limit) into `out`, skipping those below `fromOffset`,
 * until `out` holds `maxRecords` or the next record is incomplete. Records starting at or after
 * `checkFrom` have their CRC verified. `expectedOffset` is the offset the first record must carry.
 */
export function decodeRecords(
  buf: Buffer,
  start: number,
  limit: number,
  expectedOffset: number,
  fromOffset: number,
  maxRecords: number,
  out: LogRecord[],
  checkFrom: number,
  maxRecordBytes: number,
): DecodeResult {
  let pos = start;
  let expected = expectedOffset;
  while (out.length < maxRecords && limit - pos >= RECORD_PREFIX_BYTES) {
    const bodyLength = u32(buf, pos + 4);
    if (bodyLength < RECORD_BODY_HEADER_BYTES || bodyLength + RECORD_PREFIX_BYTES > maxRecordBytes) {
      return { consumed: pos, nextOffset: expected, problem: 'bad-length', problemAt: pos };
    }
    const end = pos + RECORD_PREFIX_BYTES + bodyLength;
    if (end > limit) break;
    if (pos >= checkFrom && u32(buf, pos) !== crc32Range(buf, pos + 4, end)) {
      return { consumed: pos, nextOffset: expected, problem: 'checksum-mismatch', problemAt: pos };
    }
    const offset = u32(buf, pos + 8) + u32(buf, pos + 12) * TWO_32;
    if (offset !== expected) {
      return { consumed: pos, nextOffset: expected, problem: 'offset-gap', problemAt: pos };
    }
    if (offset >= fromOffset) {
      const keyLength = i32(buf, pos + 24);
      const keyStart = pos + RECORD_OVERHEAD_BYTES;
      const valueStart = keyLength < 0 ? keyStart : keyStart + keyLength;
      out.push({
        offset,
        timestamp: u32(buf, pos + 16) + u32(buf, pos + 20) * TWO_32,
        key:
          keyLength < 0
            ? undefined
            : HAS_UTF8_FAST_PATH
              ? (buf as unknown as Utf8Buffer).utf8Slice(keyStart, valueStart)
              : buf.toString('utf8', keyStart, valueStart),
        value: HAS_UTF8_FAST_PATH
          ? (buf as unknown as Utf8Buffer).utf8Slice(valueStart, end)
          : buf.toString('utf8', valueStart, end),
      });
    }
    expected++;
    pos = end;
  }
  return { consumed: pos, nextOffset: expected, problem: undefined, problemAt: -1 };
}
