/**
 * Recently read and prefetched chunks of segment files, shared by the partitions of one log
 * under a byte budget (oldest evicted first). A sequential reader (a consumer, a replay) finds
 * the chunk it needs already read, and the next one already on its way, so file reads overlap
 * decoding and a read that stops in the middle of a chunk does not read it again. Cached bytes
 * never go stale: segments are append-only and a chunk holds only bytes that were valid when read.
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

export class ChunkCache {
  private readonly chunks: Chunk[] = [];
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** The cached chunk of `segment` holding `position` that reaches furthest. */
  find(segment: Segment, position: number): Chunk | undefined {
    let best: Chunk | undefined;
    for (const c of this.chunks) {
      if (c.segment !== segment || position < c.position || position >= c.position + c.length) continue;
      if (!best || c.position + c.length > best.position + best.length) best = c;
    }
    return best;
  }

  add(chunk: Chunk): Chunk {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.budgetBytes && this.chunks.length > 1) {
      this.bytes -= this.chunks.shift()!.length;
    }
    return chunk;
  }

  /** Forgets the chunks of a deleted or closed segment. */
  drop(segment: Segment): void {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      if (this.chunks[i]!.segment === segment) {
        this.bytes -= this.chunks[i]!.length;
        this.chunks.splice(i, 1);
      }
    }
  }
}
