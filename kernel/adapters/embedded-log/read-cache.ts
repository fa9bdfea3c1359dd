/**
 * Recently read and prefetched chunks of segment files, shared by the partitions of one log
 * under a byte budget and a chunk-count budget (oldest evicted first). A sequential reader (a
 * consumer, a replay) finds the chunk it needs already read, and the next one already on its way,
 * so file reads overlap decoding and a read that stops in the middle of a chunk does not read it
 * again. Cached bytes never go stale: segments are append-only and a chunk holds only bytes that
 * were valid when read.
 *
 * Lookups are by segment, then by binary search over that segment's chunks sorted by position: a
 * consumer polling the tail at a low rate adds many small chunks, and a linear scan over them was
 * the largest cost of an idle lab.
 */
import type { Segment } from './segment.js';

export interface Chunk {
  segment: Segment;
  /** File position of data[0]. */
  position: number;
  length: number;
  data: Promise<Buffer>;
  /**
   * Buffer position after the last whole record, once a reader has walked the chunk (frames are
   * contiguous, so every walk from a record boundary ends there).
   */
  frameEnd: number | undefined;
}

/** How many chunks below the found one `find` looks at for one that reaches further. */
const LOOK_BACK = 16;

export class ChunkCache {
  /** Per segment, its cached chunks sorted by position. */
  private readonly bySegment = new Map<Segment, Chunk[]>();
  /**
   * Insertion order for eviction, with each chunk's insertion time (performance.now()); entries
   * before `head` are gone (cleared, so an evicted chunk's buffer is not kept reachable from here),
   * `live` says which of the rest remain.
   */
  private order: Array<Chunk | undefined> = [];
  private addedAt: number[] = [];
  private head = 0;
  private readonly live = new Set<Chunk>();
  private bytes = 0;

  /**
   * @param maxAgeMs a chunk added longer ago than this is evicted at the next add: readers of one
   * stretch of the log (the live consumers at the tail, a replay) use a chunk within moments of its
   * read, so an old one is held for nobody while an idle lab's tail copies fill the budget.
   */
  constructor(
    private readonly budgetBytes: number,
    private readonly maxChunks = 256,
    private readonly maxAgeMs = 10_000,
  ) {}

  /** How many chunks are cached (for tests and diagnostics). */
  get size(): number {
    return this.live.size;
  }

  /** A cached chunk of `segment` holding `position`, preferring the one that reaches furthest. */
  find(segment: Segment, position: number): Chunk | undefined {
    const chunks = this.bySegment.get(segment);
    if (!chunks) return undefined;
    let i = lastAtOrBefore(chunks, position);
    let best: Chunk | undefined;
    for (const stop = Math.max(-1, i - LOOK_BACK); i > stop; i--) {
      const c = chunks[i]!;
      if (
        position < c.position + c.length &&
        (!best || c.position + c.length > best.position + best.length)
      ) {
        best = c;
      }
    }
    return best;
  }

  add(chunk: Chunk): Chunk {
    let chunks = this.bySegment.get(chunk.segment);
    if (!chunks) this.bySegment.set(chunk.segment, (chunks = []));
    chunks.splice(lastAtOrBefore(chunks, chunk.position) + 1, 0, chunk);
    const now = performance.now();
    this.order.push(chunk);
    this.addedAt.push(now);
    this.live.add(chunk);
    this.bytes += chunk.length;
    while (
      this.live.size > 1 &&
      (this.bytes > this.budgetBytes ||
        this.live.size > this.maxChunks ||
        now - this.oldestAddedAt() > this.maxAgeMs)
    ) {
      this.evictOldest();
    }
    return chunk;
  }

  /** Forgets the chunks of a deleted or closed segment. */
  drop(segment: Segment): void {
    const chunks = this.bySegment.get(segment);
    if (!chunks) return;
    this.bySegment.delete(segment);
    for (const c of chunks) {
      this.live.delete(c);
      this.bytes -= c.length;
    }
    this.compact();
  }

  /** When the oldest live chunk was added (entries already gone, a dropped segment's, are skipped). */
  private oldestAddedAt(): number {
    while (this.head < this.order.length && !this.live.has(this.order[this.head]!)) {
      this.order[this.head++] = undefined;
    }
    return this.addedAt[this.head] ?? Number.POSITIVE_INFINITY;
  }

  private evictOldest(): void {
    while (this.head < this.order.length) {
      const c = this.order[this.head];
      this.order[this.head++] = undefined;
      if (!c || !this.live.delete(c)) continue;
      this.bytes -= c.length;
      const chunks = this.bySegment.get(c.segment)!;
      chunks.splice(chunks.indexOf(c, lastBefore(chunks, c.position) + 1), 1);
      if (chunks.length === 0) this.bySegment.delete(c.segment);
      break;
    }
    this.compact();
  }

  /** Drops the consumed front of the eviction order once it is most of the array. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      const order: Chunk[] = [];
      const addedAt: number[] = [];
      for (let i = this.head; i < this.order.length; i++) {
        const c = this.order[i];
        if (c && this.live.has(c)) {
          order.push(c);
          addedAt.push(this.addedAt[i]!);
        }
      }
      this.order = order;
      this.addedAt = addedAt;
      this.head = 0;
    }
  }
}

/** Index of the last chunk whose position is ≤ `position`, or -1. */
function lastAtOrBefore(chunks: Chunk[], position: number): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunks[mid]!.position <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the last chunk whose position is < `position`, or -1. */
function lastBefore(chunks: Chunk[], position: number): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (chunks[mid]!.position < position) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
