/**
 * The archive phase of a Kappa+ replay (Uber's Kappa+, Flink's HybridSource): each partition's
 * history below its cut-over is read from the history archive (the batch layer's master dataset),
 * in the log's own offset space, and handed to the same engine, cursor and checkpoints as records
 * from the log. The cursor's `next` is the one checkpointed position: below the cut-over a restart
 * resumes from the archive, at or above it from the log.
 */
import type { LogRecord } from '../../kernel/ports/event-log.js';
import type { ProcessingEngine } from '../operator/index.js';
import type { ArchiveSource } from './job-runner-types.js';
import type { PartitionCursor } from './partition-cursor.js';

export interface ArchivePhaseRequest {
  engine: ProcessingEngine;
  archive: ArchiveSource;
  /** The runner's cursor of a partition, loaded from the stored position when it has none yet. */
  cursor(partition: number): Promise<PartitionCursor>;
  /** The runner's current cursor of a partition (another one: fenced). */
  current(partition: number): PartitionCursor | undefined;
  /** Records per batch taken from the archive. */
  batchRecords: number;
  /** Called before each batch is handed over (rate limit, backpressure); false = stop. */
  admit(partition: number, count: number): Promise<boolean>;
  /** A batch was handed over and the cursor moved past it. */
  processed(count: number): void;
  signal: AbortSignal;
}

/**
 * Reads every partition whose stored position is below its cut-over, from there up to the
 * cut-over, all partitions at once. Resolves when each cursor stands at its cut-over (records the
 * ingest rejected have no row: their offsets are passed over, as the log path dead-letters them).
 */
export async function runArchivePhase(r: ArchivePhaseRequest): Promise<void> {
  const reads: Array<Promise<void>> = [];
  for (const { partition: p, cutover } of r.archive.cutover) {
    const t = await r.cursor(p);
    if (t.next < cutover) reads.push(readPartition(r, t, cutover));
  }
  await Promise.all(reads);
}

async function readPartition(r: ArchivePhaseRequest, t: PartitionCursor, cutover: number): Promise<void> {
  const p = t.partition;
  const batches = r.archive.read(p, t.next, cutover, { batchRecords: r.batchRecords, signal: r.signal });
  for await (const records of batches) {
    if (r.signal.aborted || r.current(p) !== t) return;
    const fresh = records.filter((x: LogRecord) => x.offset >= t.next);
    if (fresh.length === 0) continue;
    if (!(await r.admit(p, fresh.length))) return;
    if (r.signal.aborted || r.current(p) !== t) return; // fenced or stopping meanwhile
    // Same tick: the engine takes the records and the offset moves past them.
    r.engine.process(p, fresh, 0);
    t.advance(fresh[fresh.length - 1]!.offset, fresh.length);
    r.processed(fresh.length);
  }
  if (r.signal.aborted || r.current(p) !== t) return;
  // Offsets up to the cut-over without a row are records the ingest rejected (dead-lettered there).
  t.advanceDirect(cutover, 0);
}
