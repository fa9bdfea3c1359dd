/**
 * Where a Kappa job's records are scanned and aggregated. The job runner keeps the offsets and
 * the checkpoints; an engine keeps one PartitionProcessor per partition — on the main thread
 * (InlineEngine, the live job) or spread over worker threads (replay/thread-engine.ts).
 */
import type { HistorySource, LogRecord } from '../../kernel/ports/event-log.js';
import type { EncodedDelta } from './checkpoint-delta.js';
import type { KappaLogic, KappaLogicContext } from '../logic/kappa-logic.js';
import { PartitionProcessor, type EventTimePolicy } from './partition-processor.js';

export interface DrainedPartition {
  delta: EncodedDelta;
  /** Highest event time seen up to the drained records. */
  maxEventTime: number;
  /** For a partition the engine reads itself (scan): the next offset, matching the delta. */
  next?: number;
}

/** Where an engine can read a partition's history by itself (the log's HistorySource), and which part. */
export interface ScanSource extends HistorySource {
  from: number;
  /** Exclusive: the end offset snapshotted when the replay started. */
  to: number;
}

export interface ProcessingEngine {
  readonly kind: 'inline' | 'worker-threads';
  /** The watermark and lateness rule it decides by (the runner folds final windows by it too). */
  readonly policy: EventTimePolicy;
  /** (Re)starts a partition from checkpointed state, forgetting anything pending for it. */
  init(partition: number, maxEventTime: number): void;
  /**
   * Resolves when the engine can take another batch of this partition (backpressure). Await it
   * BEFORE process(): process() itself is synchronous, so the runner moves its offset in the same
   * tick as the records are handed over — a drain never holds records its offsets do not cover.
   */
  waitForCapacity(partition: number): Promise<void> | undefined;
  /** Processes records[from..] of a partition (in offset order). */
  process(partition: number, records: readonly LogRecord[], from: number): void;
  /**
   * Hands over everything processed so far for `partitions`. Everything process() was called
   * with before drain() is included, whatever resolves later.
   */
  drain(partitions: readonly number[]): Promise<Map<number, DrainedPartition>>;
  /** Reads [from, to) of a partition itself (after init); resolves with the next offset when done. */
  scan?(partition: number, source: ScanSource): Promise<number>;
  /** Forgets all partitions and recovers from a failure (the runner then re-inits from the store). */
  restart?(): Promise<void>;
  close(): Promise<void>;
}

export class InlineEngine implements ProcessingEngine {
  readonly kind = 'inline' as const;
  private readonly processors = new Map<number, PartitionProcessor>();

  constructor(
    private readonly logic: KappaLogic,
    private readonly ctx: KappaLogicContext,
    readonly policy: EventTimePolicy,
  ) {}

  init(partition: number, maxEventTime: number): void {
    const existing = this.processors.get(partition);
    if (existing) existing.reset(maxEventTime);
    else
      this.processors.set(
        partition,
        new PartitionProcessor(partition, this.logic, this.ctx, this.policy, maxEventTime),
      );
  }

  waitForCapacity(): undefined {
    return undefined;
  }

  process(partition: number, records: readonly LogRecord[], from: number): void {
    const p = this.processors.get(partition)!;
    for (let i = from; i < records.length; i++) {
      const r = records[i]!;
      p.process(r.value, r.offset);
    }
  }

  drain(partitions: readonly number[]): Promise<Map<number, DrainedPartition>> {
    const out = new Map<number, DrainedPartition>();
    for (const partition of partitions) {
      const p = this.processors.get(partition);
      if (p) out.set(partition, { maxEventTime: p.maxEventTime, delta: p.takeDelta() });
    }
    return Promise.resolve(out);
  }

  async close(): Promise<void> {
    this.processors.clear();
  }
}
