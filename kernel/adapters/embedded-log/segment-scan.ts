/**
 * The reader behind the embedded log's HistorySource (EventLog.historySource): a direct read of
 * one partition, e.g. by a Kappa replay worker: the segment files of
 * `<log>/<topic>/<partition>/`, read-only, in large sequential chunks, frames walked and
 * CRC-checked with the log's own codec (kernel/adapters/embedded-log/record-codec.ts), each
 * record's value handed to `onRecord` — no record objects, no key strings, nothing for the main
 * thread to do. Only for history: it stops before `to`, the end offset snapshotted when the
 * replay started (records below it are complete in the files); the job's regular consumer takes
 * over from there. Opening nothing for write, it never conflicts with the log's lock.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import {
  RECORD_OVERHEAD_BYTES,
  RECORD_PREFIX_BYTES,
  checksumMatches,
  frameBodyLength,
  isPlausibleBodyLength,
  readFrameOffset,
} from './record-codec.js';
import { parseSegmentFileName } from './segment.js';

export interface SegmentScanOptions {
  dir: string;
  from: number;
  to: number;
  verifyChecksums: boolean;
  maxRecordBytes: number;
  /** Bytes read at a time. */
  chunkBytes: number;
  onRecord(value: string, offset: number): void;
  /** Called after each chunk with the next offset; awaited (the worker answers messages meanwhile). */
  onChunk(next: number): Promise<void>;
  /** Checked after each chunk: stop early. */
  stopped(): boolean;
}

interface Utf8Buffer {
  utf8Slice(start: number, end: number): string;
}

/** Scans [from, to); returns the next offset (to, or where it stopped). */
export async function scanSegments(o: SegmentScanOptions): Promise<number> {
  const segments = readdirSync(o.dir)
    .map((name) => ({ name, base: parseSegmentFileName(name) }))
    .filter((s): s is { name: string; base: number } => s.base !== undefined)
    .sort((a, b) => a.base - b.base);
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1]!.base <= o.from) first++;
  let next = Math.max(o.from, segments[first]?.base ?? o.from);
  let buf = Buffer.allocUnsafe(o.chunkBytes);
  for (let i = first; i < segments.length && next < o.to && !o.stopped(); i++) {
    const path = join(o.dir, segments[i]!.name);
    const fd = openSync(path, 'r');
    try {
      let filePos = 0;
      let len = 0; // valid bytes in buf
      for (;;) {
        const n = readSync(fd, buf, len, buf.length - len, filePos);
        filePos += n;
        len += n;
        let pos = 0;
        while (len - pos >= RECORD_PREFIX_BYTES) {
          const body = frameBodyLength(buf, pos);
          if (!isPlausibleBodyLength(body, o.maxRecordBytes))
            throw corrupt(path, filePos - len + pos, 'implausible record length');
          const end = pos + RECORD_PREFIX_BYTES + body;
          if (end > len) break;
          const offset = readFrameOffset(buf, pos);
          if (offset >= o.to) return next;
          if (offset >= next) {
            if (offset !== next)
              throw corrupt(
                path,
                filePos - len + pos,
                `record carries offset ${offset} where ${next} was expected`,
              );
            if (o.verifyChecksums && !checksumMatches(buf, pos, end - pos))
              throw corrupt(path, filePos - len + pos, 'checksum mismatch');
            const keyLength = buf.readInt32LE(pos + 24);
            const valueStart = pos + RECORD_OVERHEAD_BYTES + (keyLength > 0 ? keyLength : 0);
            o.onRecord((buf as unknown as Utf8Buffer).utf8Slice(valueStart, end), offset);
            next = offset + 1;
          }
          pos = end;
        }
        if (n === 0) {
          if (pos !== len) throw corrupt(path, filePos - len + pos, 'the file ends inside a record');
          break;
        }
        // Keep the partial frame at the front; grow the buffer for a record larger than it.
        buf.copy(buf, 0, pos, len);
        len -= pos;
        if (len >= RECORD_PREFIX_BYTES && RECORD_PREFIX_BYTES + frameBodyLength(buf, 0) > buf.length) {
          const bigger = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + frameBodyLength(buf, 0));
          buf.copy(bigger, 0, 0, len);
          buf = bigger;
        }
        await o.onChunk(next);
        if (o.stopped() || next >= o.to) return next;
      }
    } finally {
      closeSync(fd);
    }
  }
  return next;
}

function corrupt(file: string, position: number, reason: string): Error {
  return new Error(
    `segment ${file} is corrupt at byte ${position} (${reason}); the replay stops — the log reports LKL_ERR_LOG_CORRUPT when read`,
  );
}
