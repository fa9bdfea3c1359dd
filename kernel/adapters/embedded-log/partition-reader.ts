/**
 * The read path of a partition: find the segment of an offset, then decode its records from
 * large chunks shared through the read cache (prefetching the next chunk from the end of the
 * last whole record), checking CRCs the first time bytes are read from disk.
 */
import type { LogRecord } from '../../ports/event-log.js';
import { corruptSegment, type PartitionContext, type PartitionLogOptions } from './partition-context.js';
import type { Chunk } from './read-cache.js';
import { RECORD_PREFIX_BYTES, decodeRecords, lastFrameEnd } from './record-codec.js';
import type { Segment } from './segment.js';

/** Reads records of `seg` from `from` into `out`; returns the offset after the last one read. */
export async function readSegment(
  seg: Segment,
  from: number,
  maxRecords: number,
  out: LogRecord[],
  ctx: PartitionContext,
  opts: PartitionLogOptions,
): Promise<number> {
  const cache = ctx.cache;
  const visible = seg.size;
  const entry = seg.index.lookup(from);
  if (!entry) return from;
  let [expected, pos] = entry;
  const chunkBytes = opts.readChunkBytes;
  const maxRecordBytes = opts.maxRecordBytes;
  while (out.length < maxRecords && pos < visible) {
    let chunk =
      cache.find(seg, pos) ?? cache.add(loadChunk(seg, pos, Math.min(chunkBytes, visible - pos), ctx));
    let buf = await chunk.data;
    let start = pos - chunk.position;
    let frameEnd = (chunk.frameEnd ??= lastFrameEnd(buf, start, chunk.length, maxRecordBytes));
    if (frameEnd <= start) {
      // The record at `pos` does not fit in what this chunk holds: read from `pos`, enough for it.
      const need =
        chunk.length - start >= RECORD_PREFIX_BYTES ? RECORD_PREFIX_BYTES + buf.readUInt32LE(start + 4) : 0;
      if (pos + need > visible) {
        throw corruptSegment(
          seg.path,
          pos,
          `a record of ${need} bytes runs past the valid end ${visible}`,
          ctx,
        );
      }
      chunk = cache.add(loadChunk(seg, pos, Math.min(Math.max(need, chunkBytes), visible - pos), ctx));
      buf = await chunk.data;
      start = 0;
      frameEnd = chunk.frameEnd = lastFrameEnd(buf, 0, chunk.length, maxRecordBytes);
    }
    // Prefetch from the end of the last whole record, so that the next chunk starts on a record.
    const next = chunk.position + frameEnd;
    if (next < visible && next > pos && !cache.find(seg, next)) {
      cache.add(loadChunk(seg, next, Math.min(chunkBytes, visible - next), ctx));
    }
    const checkFrom = opts.verifyChecksumsOnEveryRead ? 0 : seg.verifiedBytes - chunk.position;
    const r = decodeRecords(buf, start, frameEnd, expected, from, maxRecords, out, checkFrom, maxRecordBytes);
    if (r.problem) {
      throw corruptSegment(
        seg.path,
        chunk.position + r.problemAt,
        describeProblem(r.problem, r.nextOffset),
        ctx,
      );
    }
    if (r.consumed === start) {
      throw corruptSegment(seg.path, pos, 'a record is cut short before the valid end of the segment', ctx);
    }
    const consumedTo = chunk.position + r.consumed;
    if (pos <= seg.verifiedBytes && consumedTo > seg.verifiedBytes) seg.verifiedBytes = consumedTo;
    pos = consumedTo;
    expected = r.nextOffset;
  }
  return expected;
}

/** Starts reading `length` bytes of `seg` at `position`; holds the segment open until done. */
function loadChunk(seg: Segment, position: number, length: number, ctx: PartitionContext): Chunk {
  seg.acquire();
  const buf = Buffer.allocUnsafe(length);
  const data = seg
    .readAt(buf, length, position)
    .then((n) => {
      if (n < length) {
        throw corruptSegment(
          seg.path,
          position + n,
          `the file ends at ${position + n} bytes, before its valid end`,
          ctx,
        );
      }
      return buf;
    })
    .finally(() => seg.release());
  data.catch(() => undefined);
  return { segment: seg, position, length, data, frameEnd: undefined };
}

/** The segment holding `offset` (the last one whose base offset is <= it). */
export function segmentFor(segs: readonly Segment[], offset: number): Segment | undefined {
  if (segs.length === 0 || offset < segs[0]!.baseOffset) return undefined;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segs[mid]!.baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return segs[lo];
}

function describeProblem(problem: string, expectedOffset: number): string {
  switch (problem) {
    case 'bad-length':
      return 'implausible record length';
    case 'checksum-mismatch':
      return 'checksum mismatch';
    default:
      return `record does not carry the expected offset ${expectedOffset}`;
  }
}
