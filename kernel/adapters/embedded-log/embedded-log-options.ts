/**
 * Options of the embedded event log, their checks and defaults (the fsync and retention
 * intervals, the options every topic is opened with), and the reports the log gives about its
 * recovery and its storage.
 */
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
import type { PartitionOffsets } from '../../ports/event-log.js';
import { EMBEDDED_LOG_DEFAULTS } from './defaults.js';
import type { TailTruncation } from './instrumentation.js';
import type { TopicOpenOptions } from './topic.js';

export interface EmbeddedEventLogOptions {
  /** The lab's data directory; the log lives in `<dataDir>/log/`. */
  dataDir: string;
  clock: Clock;
  /** fsync interval (ms); 0 = fsync every append before acknowledging it. Default 200. */
  fsyncIntervalMs?: number;
  /** Background retention interval (ms). Default 30 000. */
  retentionCheckIntervalMs?: number;
  /** Size of one read from a segment file (bytes). Default 1 MiB. */
  readChunkBytes?: number;
  /**
   * Check CRCs on every read. Default false: a record's CRC is checked the first time it is read
   * from a segment this process did not write (and for the whole last segment on open).
   */
  verifyChecksumsOnEveryRead?: boolean;
  /** Check the CRC of every record of every segment on open (slower recovery). Default false. */
  verifyAllSegmentsOnOpen?: boolean;
}

export interface RecoveryReport {
  topics: number;
  partitions: number;
  segmentsScanned: number;
  bytesScanned: number;
  /** Torn tails cut off while opening. */
  truncations: TailTruncation[];
}

export interface PartitionStorage extends PartitionOffsets {
  segments: number;
  bytes: number;
}

export interface ResolvedEmbeddedLogOptions {
  /** 0 = fsync every append. */
  fsyncIntervalMs: number;
  /** 0 = no background retention. */
  retentionCheckIntervalMs: number;
  topicOptions: TopicOpenOptions;
}

/** Checks the options (LKL_ERR_LOG_INVALID_ARGUMENT) and applies the defaults. */
export function resolveEmbeddedLogOptions(opts: EmbeddedEventLogOptions): ResolvedEmbeddedLogOptions {
  const fsyncIntervalMs = nonNegativeInteger(
    'fsyncIntervalMs',
    opts.fsyncIntervalMs ?? EMBEDDED_LOG_DEFAULTS.fsyncIntervalMs,
  );
  const retentionCheckIntervalMs = nonNegativeInteger(
    'retentionCheckIntervalMs',
    opts.retentionCheckIntervalMs ?? EMBEDDED_LOG_DEFAULTS.retentionCheckIntervalMs,
  );
  const readChunkBytes = nonNegativeInteger(
    'readChunkBytes',
    opts.readChunkBytes ?? EMBEDDED_LOG_DEFAULTS.readChunkBytes,
  );
  if (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      'openEmbeddedEventLog needs a dataDir (a directory path).',
      { details: { field: 'dataDir' } },
    );
  }
  return {
    fsyncIntervalMs,
    retentionCheckIntervalMs,
    topicOptions: {
      indexIntervalBytes: EMBEDDED_LOG_DEFAULTS.indexIntervalBytes,
      readChunkBytes: Math.max(64 * 1024, readChunkBytes),
      maxRecordBytes: EMBEDDED_LOG_DEFAULTS.maxRecordBytes,
      maxScratchBytes: EMBEDDED_LOG_DEFAULTS.maxScratchBytes,
      fsyncEveryAppend: fsyncIntervalMs === 0,
      verifyChecksumsOnEveryRead: opts.verifyChecksumsOnEveryRead ?? false,
      verifyAllSegmentsOnOpen: opts.verifyAllSegmentsOnOpen ?? false,
    },
  };
}

function nonNegativeInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Invalid ${field} ${String(value)}: use a non-negative integer.`,
      {
        details: { field, value },
      },
    );
  }
  return value;
}
