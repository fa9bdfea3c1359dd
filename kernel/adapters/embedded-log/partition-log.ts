/**
 * One partition: an ordered list of segment files under `<log>/<topic>/<partition>/`. Appends
 * are serialized (one write call per append), reads locate the segment and position through the
 * sparse index and read large chunks (partition-reader.ts), retention drops whole sealed
 * segments from the front.
 */
import { LabError } from '../../errors/lab-error.js';
import type { LogRecord } from '../../ports/event-log.js';
import { fsyncDir } from './atomic-file.js';
import { EMBEDDED_LOG_EVENTS } from './instrumentation.js';
import type { PartitionContext, PartitionLogOptions, RecoveryStats } from './partition-context.js';
import { recoverSegments } from './partition-recovery.js';
import { readSegment, segmentFor } from './partition-reader.js';
import type { ChunkCache } from './read-cache.js';
import { encodeBatch, maxEncodedBytes, type EncodableRecord } from './record-codec.js';
import { segmentsToDelete, type RetentionSpec } from './retention-policy.js';
import { Segment } from './segment.js';

export class PartitionLog {
  private chain: Promise<unknown> = Promise.resolve();
  private scratch: Buffer = Buffer.allocUnsafe(0);
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly ctx: PartitionContext,
    readonly dir: string,
    private readonly opts: PartitionLogOptions,
    private readonly segments: Segment[],
  ) {}

  /** Writes the first (empty) segment of a new partition directory. */
  static async initialize(dir: string, indexIntervalBytes: number): Promise<void> {
    const seg = await Segment.create(dir, 0, indexIntervalBytes);
    await seg.sync();
    await seg.close();
  }

  /**
   * Opens a partition: scans every segment (the last one with CRCs, to find and cut a torn
   * tail), checks that offsets are contiguous across segments, builds the sparse indexes
   * (see partition-recovery.ts).
   */
  static async open(
    dir: string,
    ctx: PartitionContext,
    opts: PartitionLogOptions,
    stats: RecoveryStats,
  ): Promise<PartitionLog> {
    const segments = await recoverSegments(dir, ctx, opts, stats);
    return new PartitionLog(ctx, dir, opts, segments);
  }

  get partition(): number {
    return this.ctx.partition;
  }

  /** First retained offset. */
  get low(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Offset the next appended record gets. */
  get end(): number {
    return this.active.nextOffset;
  }

  get sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  private get cache(): ChunkCache {
    return this.ctx.cache;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Appends records (already validated) with one write call; resolves with the base offset once
   * the write is done (and fsync'd when fsyncEveryAppend). Appends of a partition are serialized.
   */
  append(
    records: readonly EncodableRecord[],
    defaultTimestamp: number,
  ): Promise<{ baseOffset: number; count: number }> {
    const run = async (): Promise<{ baseOffset: number; count: number }> => {
      this.assertOpen();
      const need = maxEncodedBytes(records);
      const buf = this.encodeBuffer(need);
      const baseOffset = this.end;
      const batch = encodeBatch(records, baseOffset, defaultTimestamp, buf, this.opts.indexIntervalBytes);
      let seg = this.active;
      if (seg.size > 0 && seg.size + batch.bytes > this.opts.segmentBytes) seg = await this.roll();
      const position = seg.size;
      try {
        await seg.writeAt(buf, batch.bytes, position);
      } catch (err) {
        // Leave no partial record behind the valid end.
        await seg.truncate(position).catch(() => undefined);
        throw new LabError(
          'LKL_ERR_LOG_UNAVAILABLE',
          `Writing to ${seg.path} failed (${(err as Error).message}); check the disk (space, permissions) and retry.`,
          {
            cause: err,
            retriable: true,
            details: { file: seg.path, position },
          },
        );
      }
      seg.commitAppend(batch, position);
      this.keepTail(seg, buf, batch.bytes, position);
      if (this.opts.fsyncEveryAppend) await seg.sync();
      this.notify();
      return { baseOffset, count: batch.count };
    };
    const result = this.chain.then(run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  /**
   * Write-through of a small append into the read cache: consumers at the tail (every live
   * consumer of an idle lab) then read what was just written from memory instead of reading the
   * same bytes back from the file, one read per append and partition. Bulk appends are left to the
   * readers' chunked, prefetched reads.
   */
  private keepTail(seg: Segment, buf: Buffer, bytes: number, position: number): void {
    if (bytes > this.opts.readChunkBytes / 4) return;
    const copy = Buffer.allocUnsafe(bytes);
    buf.copy(copy, 0, 0, bytes);
    this.cache.add({ segment: seg, position, length: bytes, data: Promise.resolve(copy), frameEnd: bytes });
  }

  private encodeBuffer(need: number): Buffer {
    if (need <= this.scratch.length) return this.scratch;
    if (need > this.opts.maxScratchBytes) return Buffer.allocUnsafe(need);
    this.scratch = Buffer.allocUnsafe(
      Math.min(this.opts.maxScratchBytes, Math.max(need, this.scratch.length * 2)),
    );
    return this.scratch;
  }

  private async roll(): Promise<Segment> {
    const old = this.active;
    const seg = await Segment.create(this.dir, old.nextOffset, this.opts.indexIntervalBytes);
    await old.sync();
    await fsyncDir(this.dir);
    this.segments.push(seg);
    this.ctx.instrumentation.emit(EMBEDDED_LOG_EVENTS.SEGMENT_ROLLED, {
      topic: this.ctx.topic,
      partition: this.ctx.partition,
      baseOffset: seg.baseOffset,
      file: seg.path,
    });
    return seg;
  }

  /**
   * Up to `maxRecords` records from `fromOffset`. Below `low` or above `end` throws
   * LKL_ERR_LOG_OFFSET_OUT_OF_RANGE; at `end` returns [].
   */
  async read(fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    this.assertOpen();
    const low = this.low;
    const end = this.end;
    if (fromOffset < low || fromOffset > end) {
      throw new LabError(
        'LKL_ERR_LOG_OFFSET_OUT_OF_RANGE',
        `Offset ${fromOffset} of ${this.ctx.topic}/${this.ctx.partition} is outside ${low}..${end}; read from ${fromOffset < low ? `the low offset ${low}` : `at most the end offset ${end}`}.`,
        { details: { topic: this.ctx.topic, partition: this.ctx.partition, offset: fromOffset, low, end } },
      );
    }
    const out: LogRecord[] = [];
    let offset = fromOffset;
    while (out.length < maxRecords && offset < this.end) {
      const seg = segmentFor(this.segments, offset);
      if (!seg || offset >= seg.nextOffset) break;
      seg.acquire();
      let next: number;
      try {
        next = await readSegment(seg, offset, maxRecords, out, this.ctx, this.opts);
      } finally {
        seg.release();
      }
      if (next <= offset) break;
      offset = next;
    }
    return out;
  }

  /**
   * Resolves when the end moves past `position`, after `timeoutMs`, on abort, or on wake().
   * The in-process notification that lets caught-up consumers react at once.
   */
  waitForAppend(position: number, signal: AbortSignal, timeoutMs: number): Promise<void> {
    if (this.closed || signal.aborted || this.end > position) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /** Wakes every waiter (after an append, a seek or on close). */
  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private notify(): void {
    if (this.waiters.size > 0) this.wake();
  }

  /** Drops whole sealed segments per the retention spec; returns what was deleted. */
  async enforceRetention(
    now: number,
    spec: RetentionSpec,
  ): Promise<{ files: string[]; bytes: number; lowBefore: number; lowAfter: number } | undefined> {
    if (this.closed) return undefined;
    const count = segmentsToDelete(
      this.segments.map((s) => ({ sizeBytes: s.size, maxTimestamp: s.maxTimestamp })),
      now,
      spec,
    );
    if (count === 0) return undefined;
    const lowBefore = this.low;
    const doomed = this.segments.splice(0, count);
    const lowAfter = this.low;
    for (const seg of doomed) {
      this.cache.drop(seg);
      await seg.retire();
    }
    const result = {
      files: doomed.map((s) => s.path),
      bytes: doomed.reduce((a, s) => a + s.size, 0),
      lowBefore,
      lowAfter,
    };
    this.ctx.instrumentation.emit(EMBEDDED_LOG_EVENTS.SEGMENTS_DELETED, {
      topic: this.ctx.topic,
      partition: this.ctx.partition,
      ...result,
    });
    return result;
  }

  /** fsyncs the active segment if it was written since the last fsync. */
  async syncIfDirty(): Promise<void> {
    const seg = this.active;
    if (seg.dirty) await seg.sync();
  }

  /** Waits for pending appends, then fsyncs. */
  async flush(): Promise<void> {
    await this.chain;
    await this.syncIfDirty();
  }

  /** Waits for pending appends, fsyncs and closes the files. Later calls throw LKL_ERR_LOG_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    this.wake();
    await this.syncIfDirty();
    for (const s of this.segments) this.cache.drop(s);
    await Promise.all(this.segments.map((s) => s.close()));
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new LabError(
        'LKL_ERR_LOG_CLOSED',
        `Partition ${this.ctx.topic}/${this.ctx.partition} is closed; reopen the event log.`,
        {
          details: { topic: this.ctx.topic, partition: this.ctx.partition },
        },
      );
    }
  }
}
