/**
 * Consumer of the embedded log: one async loop per assigned partition reads from the group's
 * committed offset (or earliest/latest when there is none) and hands batches to the handler,
 * one batch per partition at a time, in offset order. A caught-up loop sleeps until an append
 * to its partition wakes it (fallback poll: idlePollMs). A handler error stops the consumer;
 * the failed batch is not skipped (its offsets were never committed by the consumer).
 */
import { LabError, isLabError } from '../../errors/lab-error.js';
import type { ConsumerOptions, LogConsumer, PartitionOffset, RecordBatch } from '../../ports/event-log.js';
import { EMBEDDED_LOG_DEFAULTS } from './defaults.js';
import { EMBEDDED_LOG_EVENTS, type LogInstrumentation } from './instrumentation.js';
import type { PartitionLog } from './partition-log.js';
import { Semaphore } from './semaphore.js';

export interface EmbeddedConsumerOptions extends ConsumerOptions {
  /**
   * Called once when the consumer stops because the handler (or a read) failed. The error is
   * also emitted as `log.consumer.crash` and rejects `done()`; with none of the three observed
   * it becomes a process warning.
   */
  onError?: (error: unknown) => void;
  /** Batches handed to the handler at the same time, across partitions. Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Fallback poll of a caught-up partition (ms); appends, seeks and close wake the consumer at once. Default 1,000. */
  idlePollMs?: number;
}

/** What the consumer needs from the log that created it. */
export interface ConsumerHost {
  readonly instrumentation: LogInstrumentation;
  partitionCount(topic: string): number;
  partitionLog(topic: string, partition: number): PartitionLog;
  committed(group: string, topic: string): ReadonlyMap<number, number> | undefined;
  commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void>;
  /** Throws LKL_ERR_LOG_GROUP_ACTIVE when a running consumer of the group owns one of the partitions. */
  registerConsumer(consumer: EmbeddedLogConsumer, partitions: readonly number[]): void;
  unregisterConsumer(consumer: EmbeddedLogConsumer): void;
}

type ConsumerState = 'idle' | 'running' | 'stopping' | 'stopped';

export class EmbeddedLogConsumer implements LogConsumer {
  readonly group: string;
  readonly topic: string;
  private state: ConsumerState = 'idle';
  private assigned: number[] = [];
  private readonly positions = new Map<number, number>();
  private readonly pendingSeeks = new Map<number, number>();
  private readonly abort = new AbortController();
  private readonly gate: Semaphore;
  private readonly maxBatchRecords: number;
  private readonly idlePollMs: number;
  private loops: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private doneObserved = false;
  private readonly finished: Promise<void>;
  private settleFinished!: (error?: { error: unknown }) => void;

  constructor(
    private readonly host: ConsumerHost,
    private readonly opts: EmbeddedConsumerOptions,
  ) {
    const bad = (field: string, rule: string, value: unknown): never => {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Invalid consumer option ${field} ${JSON.stringify(value)}: ${rule}.`,
        {
          details: { field, value },
        },
      );
    };
    if (typeof opts.group !== 'string' || opts.group.length === 0)
      bad('group', 'use a non-empty string', opts.group);
    if (typeof opts.topic !== 'string' || opts.topic.length === 0)
      bad('topic', 'use a topic name', opts.topic);
    if (opts.start !== undefined && opts.start !== 'earliest' && opts.start !== 'latest')
      bad('start', "use 'earliest' or 'latest'", opts.start);
    this.maxBatchRecords = opts.maxBatchRecords ?? EMBEDDED_LOG_DEFAULTS.maxBatchRecords;
    if (!Number.isInteger(this.maxBatchRecords) || this.maxBatchRecords < 1)
      bad('maxBatchRecords', 'use a positive integer', opts.maxBatchRecords);
    const concurrency = opts.partitionsConsumedConcurrently ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      bad('partitionsConsumedConcurrently', 'use a positive integer', concurrency);
    this.idlePollMs = opts.idlePollMs ?? EMBEDDED_LOG_DEFAULTS.consumerIdlePollMs;
    if (!(this.idlePollMs > 0)) bad('idlePollMs', 'use a positive number of ms', opts.idlePollMs);
    if (opts.partitions !== undefined) {
      if (
        !Array.isArray(opts.partitions) ||
        opts.partitions.length === 0 ||
        new Set(opts.partitions).size !== opts.partitions.length
      ) {
        bad('partitions', 'use a non-empty list of distinct partition numbers', opts.partitions);
      }
    }
    this.group = opts.group;
    this.topic = opts.topic;
    this.gate = new Semaphore(concurrency);
    this.finished = new Promise<void>((resolve, reject) => {
      this.settleFinished = (f) => (f ? reject(f.error) : resolve());
    });
    this.finished.catch(() => undefined);
  }

  async run(handler: (batch: RecordBatch) => Promise<void>): Promise<void> {
    if (this.state !== 'idle') {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Consumer of group ${this.group} on ${this.topic} was already run; create a new consumer.`,
        {
          details: { group: this.group, topic: this.topic },
        },
      );
    }
    const count = this.host.partitionCount(this.topic);
    const partitions = this.opts.partitions ? [...this.opts.partitions].sort((a, b) => a - b) : range(count);
    const logs = partitions.map((p) => this.host.partitionLog(this.topic, p));
    this.host.registerConsumer(this, partitions);
    const committed = this.host.committed(this.group, this.topic);
    for (const log of logs) {
      const p = log.partition;
      const seek = this.pendingSeeks.get(p);
      this.pendingSeeks.delete(p);
      const start = seek ?? committed?.get(p) ?? (this.opts.start === 'latest' ? log.end : log.low);
      this.positions.set(p, start);
    }
    this.assigned = partitions;
    this.state = 'running';
    this.loops = Promise.all(partitions.map((p) => this.loop(p, handler))).then(() => this.finish());
  }

  seek(partition: number, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Cannot seek to ${String(offset)}: use a non-negative integer offset.`,
        {
          details: { topic: this.topic, partition, offset },
        },
      );
    }
    const log = this.host.partitionLog(this.topic, partition);
    if (this.opts.partitions && !this.opts.partitions.includes(partition)) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Partition ${partition} is not assigned to this consumer (partitions ${this.opts.partitions.join(', ')}).`,
        {
          details: { topic: this.topic, partition },
        },
      );
    }
    this.pendingSeeks.set(partition, offset);
    log.wake();
  }

  commit(offsets: PartitionOffset[]): Promise<void> {
    return this.host.commitOffsets(this.group, this.topic, offsets);
  }

  assignment(): number[] {
    return this.state === 'running' ? [...this.assigned] : [];
  }

  /** Stops after the in-flight batch (if any) has been handled. Never rejects. */
  async stop(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      this.settleFinished();
      return;
    }
    if (this.state === 'running') this.beginStop();
    await this.loops;
  }

  /** Resolves when the consumer has stopped via stop(); rejects with the error that stopped it. */
  done(): Promise<void> {
    this.doneObserved = true;
    return this.finished;
  }

  private beginStop(): void {
    this.state = 'stopping';
    this.abort.abort();
  }

  private async loop(p: number, handler: (batch: RecordBatch) => Promise<void>): Promise<void> {
    try {
      while (this.state === 'running') {
        const seek = this.pendingSeeks.get(p);
        if (seek !== undefined) {
          this.pendingSeeks.delete(p);
          this.positions.set(p, seek);
        }
        const position = this.positions.get(p)!;
        const log = this.host.partitionLog(this.topic, p);
        let records;
        try {
          records = await log.read(position, this.maxBatchRecords);
        } catch (err) {
          if (isLabError(err) && err.code === 'LKL_ERR_LOG_OFFSET_OUT_OF_RANGE') {
            this.resetOffset(log, p, position);
            continue;
          }
          throw err;
        }
        if (records.length === 0) {
          await log.waitForAppend(position, this.abort.signal, this.idlePollMs);
          continue;
        }
        const highWatermark = log.end;
        const release = await this.gate.acquire();
        try {
          if (this.state !== 'running' || this.pendingSeeks.has(p)) continue;
          await handler({ topic: this.topic, partition: p, records, highWatermark });
          if (!this.pendingSeeks.has(p)) this.positions.set(p, records[records.length - 1]!.offset + 1);
        } finally {
          release();
        }
      }
    } catch (err) {
      this.fail(err, p);
    }
  }

  /** Kafka's auto.offset.reset: below low → low (earliest); above end → end. */
  private resetOffset(log: PartitionLog, p: number, from: number): void {
    const low = log.low;
    const end = log.end;
    const to = from < low ? low : end;
    this.positions.set(p, to);
    this.host.instrumentation.emit(EMBEDDED_LOG_EVENTS.CONSUMER_OFFSET_RESET, {
      group: this.group,
      topic: this.topic,
      partition: p,
      from,
      to,
      low,
      end,
    });
  }

  private fail(error: unknown, partition: number | undefined): void {
    if (this.failure) return;
    this.failure = { error };
    if (this.state === 'running') this.beginStop();
    const crashListeners = this.host.instrumentation.listeners(EMBEDDED_LOG_EVENTS.CONSUMER_CRASH);
    this.host.instrumentation.emit(EMBEDDED_LOG_EVENTS.CONSUMER_CRASH, {
      group: this.group,
      topic: this.topic,
      partition,
      error,
    });
    this.opts.onError?.(error);
    if (!this.opts.onError && !this.doneObserved && crashListeners === 0) {
      process.emitWarning(
        `Consumer of group ${this.group} on ${this.topic} stopped: ${error instanceof Error ? error.message : String(error)}`,
        {
          code: 'LKL_LOG_CONSUMER_CRASH',
          detail: 'Pass onError, await consumer.done() or listen to log.consumer.crash to handle it.',
        },
      );
    }
  }

  private finish(): void {
    this.state = 'stopped';
    this.assigned = [];
    this.host.unregisterConsumer(this);
    this.settleFinished(this.failure);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
