/**
 * What a partition is opened with: its identity and shared services, the options of its log,
 * and where recovery reports what it scanned and cut. Plus the corruption error both the
 * recovery and the read path raise.
 */
import { LabError } from '../../errors/lab-error.js';
import type { LogInstrumentation, TailTruncation } from './instrumentation.js';
import type { ChunkCache } from './read-cache.js';

export interface PartitionLogOptions {
  segmentBytes: number;
  indexIntervalBytes: number;
  readChunkBytes: number;
  maxRecordBytes: number;
  maxScratchBytes: number;
  /** fsync before acknowledging every append (fsyncIntervalMs = 0). */
  fsyncEveryAppend: boolean;
  /** Check every record's CRC on every read, not only the first time a record is read from disk. */
  verifyChecksumsOnEveryRead: boolean;
  /** Check CRCs of all segments on open, not only of the last one. */
  verifyAllSegmentsOnOpen: boolean;
}

export interface PartitionContext {
  topic: string;
  partition: number;
  instrumentation: LogInstrumentation;
  /** Read chunks shared by the partitions of the log. */
  cache: ChunkCache;
}

export interface RecoveryStats {
  segmentsScanned: number;
  bytesScanned: number;
  truncations: TailTruncation[];
}

export function corruptSegment(
  file: string,
  position: number,
  reason: string,
  ctx: PartitionContext,
): LabError {
  return new LabError(
    'LKL_ERR_LOG_CORRUPT',
    `Segment ${file} of ${ctx.topic}/${ctx.partition} is corrupt at byte ${position} (${reason}). Restore the data directory from a copy, or delete the partition directory to lose its data.`,
    { details: { topic: ctx.topic, partition: ctx.partition, file, position, reason } },
  );
}
