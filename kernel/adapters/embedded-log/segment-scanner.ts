/**
 * Scans a segment file on open: walks the record frames, checks lengths and that offsets are
 * consecutive from the base offset (and CRCs when asked), and builds the sparse index. Stops at
 * the first damaged record and reports it; the caller decides between cutting a torn tail
 * (last segment) and refusing a corrupt one.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  RECORD_PREFIX_BYTES,
  checksumMatches,
  frameBodyLength,
  isPlausibleBodyLength,
  readFrameOffset,
  readFrameTimestamp,
} from './record-codec.js';
import type { SegmentState } from './segment.js';
import { SparseOffsetIndex } from './sparse-index.js';

export interface ScanOptions {
  verifyChecksums: boolean;
  chunkBytes: number;
  maxRecordBytes: number;
  indexIntervalBytes: number;
}

export interface SegmentDamage {
  /** Byte position of the first damaged record (everything before it is whole and valid). */
  position: number;
  reason: string;
  fileSize: number;
  /**
   * True when the damage cannot be a torn write: a record with a wrong offset, or a record
   * whose CRC fails but which is followed by an intact record (bit rot in the middle).
   */
  notATornTail: boolean;
}

export interface ScanResult {
  state: SegmentState;
  damage: SegmentDamage | undefined;
}

export async function scanSegment(
  fh: FileHandle,
  baseOffset: number,
  opts: ScanOptions,
): Promise<ScanResult> {
  const fileSize = (await fh.stat()).size;
  const index = new SparseOffsetIndex(opts.indexIntervalBytes);
  let buf = Buffer.allocUnsafe(Math.max(RECORD_PREFIX_BYTES, Math.min(opts.chunkBytes, fileSize)));
  let pos = 0;
  let expected = baseOffset;
  let maxTimestamp = -1;
  let damage: SegmentDamage | undefined;
  const fail = (at: number, reason: string, notATornTail = false): void => {
    damage = { position: at, reason, fileSize, notATornTail };
  };

  scan: while (pos < fileSize) {
    const want = Math.min(buf.length, fileSize - pos);
    const n = await readFully(fh, buf, want, pos);
    const chunkEndsFile = n < want || pos + n >= fileSize;
    let bp = 0;
    for (;;) {
      if (n - bp < RECORD_PREFIX_BYTES) {
        if (chunkEndsFile && n - bp > 0)
          fail(pos + bp, `partial record header (${n - bp} bytes) at the end of the file`);
        break;
      }
      const bodyLength = frameBodyLength(buf, bp);
      if (!isPlausibleBodyLength(bodyLength, opts.maxRecordBytes)) {
        fail(pos + bp, `implausible record length ${bodyLength}`);
        break;
      }
      const frame = RECORD_PREFIX_BYTES + bodyLength;
      if (bp + frame > n) {
        if (pos + bp + frame > fileSize) {
          fail(pos + bp, `partial record: ${frame} bytes announced, ${fileSize - pos - bp} left in the file`);
        } else if (frame > buf.length) {
          buf = Buffer.allocUnsafe(frame);
        }
        break;
      }
      if (opts.verifyChecksums && !checksumMatches(buf, bp, frame)) {
        const followed = await validRecordFollows(
          fh,
          pos + bp + frame,
          expected + 1,
          fileSize,
          opts.maxRecordBytes,
        );
        fail(pos + bp, 'checksum mismatch', followed);
        break;
      }
      const offset = readFrameOffset(buf, bp);
      if (offset !== expected) {
        fail(pos + bp, `record carries offset ${offset} where ${expected} was expected`, true);
        break;
      }
      const ts = readFrameTimestamp(buf, bp);
      if (ts > maxTimestamp) maxTimestamp = ts;
      index.maybeAdd(offset, pos + bp);
      expected++;
      bp += frame;
    }
    pos += bp;
    if (damage) break scan;
  }

  return {
    state: {
      size: pos,
      nextOffset: expected,
      maxTimestamp,
      index,
      verifiedBytes: opts.verifyChecksums ? pos : 0,
    },
    damage,
  };
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Whether an intact record with offset `offset` starts at `position`. */
async function validRecordFollows(
  fh: FileHandle,
  position: number,
  offset: number,
  fileSize: number,
  maxRecordBytes: number,
): Promise<boolean> {
  if (position + RECORD_PREFIX_BYTES > fileSize) return false;
  const head = Buffer.allocUnsafe(RECORD_PREFIX_BYTES);
  await readFully(fh, head, RECORD_PREFIX_BYTES, position);
  const bodyLength = frameBodyLength(head, 0);
  if (!isPlausibleBodyLength(bodyLength, maxRecordBytes)) return false;
  const frame = RECORD_PREFIX_BYTES + bodyLength;
  if (position + frame > fileSize) return false;
  const buf = Buffer.allocUnsafe(frame);
  await readFully(fh, buf, frame, position);
  return checksumMatches(buf, 0, frame) && readFrameOffset(buf, 0) === offset;
}
