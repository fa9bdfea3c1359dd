/**
 * History-archive port: a topic's history kept outside the log — the batch layer's master
 * dataset — readable in the log's own offset space. An archive replay (Kappa+, Uber's name; Flink's
 * HybridSource) reads each partition's records below its cut-over from here and continues from the
 * log at the cut-over, as one job with one checkpointed position per partition.
 *
 * What the archive holds of a partition is every record of offsets [0, cutover) that the batch
 * ingest accepted: records it rejected were dead-lettered by the ingest and have no row (their
 * offsets are simply absent).
 */
import type { LogRecord } from './event-log.js';

export interface ArchiveCoverage {
  partition: number;
  /**
   * The log continues here: the archive holds offsets [0, cutover) of the partition without a gap
   * (the end of the run of archived offset ranges that starts at 0). 0 = nothing archived.
   */
  cutover: number;
}

export interface ArchiveReadOptions {
  /** Records per batch handed out. */
  batchRecords: number;
  /** Stops the read between batches. */
  signal?: AbortSignal;
}

export interface HistoryArchive {
  /** Cut-over per partition the archive has seen of `topic` (a partition it has not seen: absent). */
  coverage(topic: string): Promise<ArchiveCoverage[]>;
  /**
   * The archived records of a partition with `from` ≤ offset < `to` (`to` ≤ its cut-over), in
   * offset order, in batches. A record's value is the event in YSB's canonical layout.
   */
  read(
    topic: string,
    partition: number,
    from: number,
    to: number,
    options: ArchiveReadOptions,
  ): AsyncIterable<LogRecord[]>;
}
