/**
 * Defaults of the embedded event log, in one place, with their units.
 */
export const EMBEDDED_LOG_DEFAULTS = Object.freeze({
  /** Target size of one segment file before a new one is rolled (bytes). 64 MiB. */
  segmentBytes: 64 * 1024 * 1024,
  /** Smallest segment size a topic may ask for (bytes); tests use small segments to force rolls. */
  minSegmentBytes: 128,
  /** Largest segment size a topic may ask for (bytes). 1 GiB. */
  maxSegmentBytes: 1024 * 1024 * 1024,
  /** How often written data is fsync'd (ms). 0 = fsync every append before acknowledging it. */
  fsyncIntervalMs: 200,
  /** How often retention runs in the background (ms). */
  retentionCheckIntervalMs: 30_000,
  /** Size of one read from a segment file (bytes). 1 MiB. */
  readChunkBytes: 1024 * 1024,
  /** Read chunks kept (and prefetched) per log, across partitions (bytes). 32 MiB. */
  readCacheBytes: 32 * 1024 * 1024,
  /** One sparse-index entry per this many bytes of a segment (bytes). Kafka's index.interval.bytes. */
  indexIntervalBytes: 4096,
  /** Largest encoded record (bytes). 16 MiB. */
  maxRecordBytes: 16 * 1024 * 1024,
  /** Encode buffers up to this size are kept and reused per partition (bytes). 32 MiB. */
  maxScratchBytes: 32 * 1024 * 1024,
  /** Records handed to one consumer handler call. */
  maxBatchRecords: 5000,
  /**
   * Fallback poll of a caught-up consumer (ms). Appends, seeks and close wake it at once (one
   * process owns a log), so this is only a safety net: at 50 ms, 16 caught-up loops of an idle lab
   * read nothing 320 times a second.
   */
  consumerIdlePollMs: 1_000,
  /** Most partitions a topic may have. */
  maxPartitions: 1024,
});
