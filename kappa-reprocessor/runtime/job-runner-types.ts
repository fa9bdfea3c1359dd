/** Shapes shared by the Kappa job runner, its threaded variant and the control plane. */
import type { HistorySource, LogRecord } from '../../kernel/ports/event-log.js';
import type { ProcessingEngine } from '../operator/index.js';
import type { PartitionPosition } from './partition-cursor.js';

export interface KappaJobSpec {
  id: number;
  logicVersion: number;
  group: string;
}

export interface KappaJobRunnerOptions {
  topic: string;
  checkpointIntervalMs: number;
  /** Consumers this runner starts in the job's group (embedded: partitions are split between them). */
  consumers: number;
  /** Events per second across this runner's partitions; 0 = unlimited. */
  rateLimit: number;
  maxBatchRecords: number;
  engine: ProcessingEngine;
  /** How often final windows are folded (ms). Default 10,000 (one window). */
  compactEveryMs?: number;
  /** Who runs it, for the dead-letter source ("lab", "kappa-worker 1234"). */
  runner: string;
  /** Wait before restarting consumers after a failure (ms). Default 1000. */
  restartDelayMs?: number;
  /**
   * A replay on the embedded log whose engine reads segment files itself (engine.scan): history
   * up to these end offsets is read by the engine's threads, then the consumers take over.
   */
  bulk?: BulkSource;
  /**
   * An archive replay (Kappa+): history below each partition's cut-over is read from the archive
   * first, then the consumers continue from the log at the cut-over.
   */
  archive?: ArchiveSource;
}

export interface ArchiveSource {
  /** Per partition: the archive holds [0, cutover); the log continues at cutover. */
  cutover: ReadonlyArray<{ partition: number; cutover: number }>;
  /** The archived records of a partition in [from, to), in offset order, in batches. */
  read(
    partition: number,
    from: number,
    to: number,
    options: { batchRecords: number; signal?: AbortSignal },
  ): AsyncIterable<LogRecord[]>;
}

export interface BulkSource {
  ends: ReadonlyArray<{ partition: number; end: number }>;
  /** Where the engine reads a partition's history (the log's historySource). */
  history(partition: number): HistorySource;
}

/** Counters of a runner, shared with its checkpoint writer. */
export interface RunnerCounters {
  processed: number;
  checkpoints: number;
  checkpointErrors: number;
  lastCheckpointAt: number | null;
  lastCheckpointMs: number | null;
  fenced: number;
  restarts: number;
  /** Final windows whose deltas were folded into one field (window-compactor.ts). */
  windowsFolded: number;
  lastError: string | null;
}

export interface RunnerStats extends RunnerCounters {
  running: boolean;
  engine: string;
  consumers: number;
}

/** What the control plane needs from a runner (in this thread or in worker threads). */
export interface JobRunnerLike {
  readonly job: KappaJobSpec;
  readonly status: RunnerStats;
  positions(): PartitionPosition[];
  start(): Promise<void>;
  stop(): Promise<void>;
  checkpoint(): Promise<void>;
}

export const emptyRunnerCounters = (): RunnerCounters => ({
  processed: 0,
  checkpoints: 0,
  checkpointErrors: 0,
  windowsFolded: 0,
  lastCheckpointAt: null,
  lastCheckpointMs: null,
  fenced: 0,
  restarts: 0,
  lastError: null,
});
