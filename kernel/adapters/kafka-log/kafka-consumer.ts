/**
 * Consumer of the Kafka adapter: a kafkajs consumer in a consumer group, subscribed to one
 * topic, that never commits by itself (autoCommit off, eachBatchAutoResolve off).
 *
 * - Batches: kafkajs fetches per partition; each fetched batch is handed to the handler in
 *   chunks of at most `maxBatchRecords`, in offset order, one chunk of a partition at a time.
 *   After a chunk the consumer's position moves past it (resolveOffset) and a heartbeat is sent.
 * - run() resolves once the consumer has joined the group, got its assignment and finished its
 *   first fetch — so 'latest' has been resolved to an offset and a record appended after run()
 *   is delivered.
 * - seek(): remembered until the partition is assigned to this consumer, then handed to
 *   kafkajs (again after a restart or rebalance, until a batch from the new position arrives).
 * - A handler error stops the consumer (the failed chunk is not skipped: nothing was committed
 *   for it); it is reported through onError, done(), `log.consumer.crash`, or else a process
 *   warning — like the embedded consumer. kafkajs failures it can recover from (a broker that is
 *   down) restart the consumer by itself; the others stop it the same way.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { LogConsumer, PartitionOffset, RecordBatch } from '../../ports/event-log.js';
import {
  kafkajsConsumerConfig,
  resolveConsumerOptions,
  validateSeek,
  type KafkaConsumerOptions,
  type KafkaConsumerSettings,
} from './kafka-consumer-options.js';
import {
  alreadyRunError,
  joinTimeoutError,
  rejoiningCommitError,
  startAbortedError,
  warnUnobservedCrash,
} from './kafka-consumer-errors.js';
import { toLabError } from './kafka-errors.js';
import { KAFKA_LOG_EVENTS, type KafkaLogInstrumentation } from './kafka-instrumentation.js';
import { toRecords } from './kafka-records.js';
import { validateOffsets } from './kafka-validation.js';

export type { KafkaConsumerOptions, KafkaConsumerSettings };

/** What the consumer needs from the log that created it. */
export interface KafkaConsumerHost {
  readonly brokers: readonly string[];
  readonly kafka: Kafka;
  readonly instrumentation: KafkaLogInstrumentation;
  readonly consumerSettings: KafkaConsumerSettings;
  /** Throws LKL_ERR_LOG_TOPIC_UNKNOWN for a topic that does not exist. */
  partitionCount(topic: string): Promise<number>;
  /** Commit for a group without going through this consumer (it is not a running member). */
  commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void>;
  registerConsumer(consumer: KafkaLogConsumer): void;
  unregisterConsumer(consumer: KafkaLogConsumer): void;
}

type ConsumerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export class KafkaLogConsumer implements LogConsumer {
  readonly group: string;
  readonly topic: string;
  private state: ConsumerState = 'idle';
  private consumer: Consumer | undefined;
  private partitions = 0;
  private assigned: number[] = [];
  private readonly pendingSeeks = new Map<number, number>();
  /** kafkajs's runner is fetching (between a fetch start and a crash/stop); commits go through it. */
  private fetching = false;
  private readonly maxBatchRecords: number;
  private readonly joinTimeoutMs: number;
  private starting: Promise<void> | undefined;
  private abortStart: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private doneObserved = false;
  private readonly finished: Promise<void>;
  private settleFinished!: (failure?: { error: unknown }) => void;

  constructor(
    private readonly host: KafkaConsumerHost,
    private readonly opts: KafkaConsumerOptions,
  ) {
    const resolved = resolveConsumerOptions(opts);
    this.maxBatchRecords = resolved.maxBatchRecords;
    this.joinTimeoutMs = resolved.joinTimeoutMs;
    this.group = opts.group;
    this.topic = opts.topic;
    this.finished = new Promise<void>((resolve, reject) => {
      this.settleFinished = (f) => (f ? reject(f.error) : resolve());
    });
    this.finished.catch(() => undefined);
  }

  async run(handler: (batch: RecordBatch) => Promise<void>): Promise<void> {
    if (this.state !== 'idle') {
      throw alreadyRunError(this);
    }
    this.state = 'starting';
    this.host.registerConsumer(this);
    this.starting = this.start(handler);
    try {
      await this.starting;
    } catch (err) {
      await this.shutdown();
      throw err;
    } finally {
      this.starting = undefined;
    }
  }

  private async start(handler: (batch: RecordBatch) => Promise<void>): Promise<void> {
    const what = `Starting the consumer of group ${this.group} on ${this.topic}`;
    this.partitions = await this.host.partitionCount(this.topic);
    const consumer = this.host.kafka.consumer(kafkajsConsumerConfig(this.group, this.host.consumerSettings));
    this.consumer = consumer;

    let joined = false;
    let settle!: (err?: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    // stop(), the join timer or a crash may settle it while connect/subscribe are still pending,
    // before `await ready` below listens: without a handler now, that rejection is unhandled.
    ready.catch(() => undefined);
    this.abortStart = () => settle(startAbortedError(what, this));
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      joined = true;
      this.onAssignment(e.payload.memberAssignment[this.topic] ?? []);
    });
    consumer.on(consumer.events.FETCH_START, () => {
      this.fetching = true;
    });
    consumer.on(consumer.events.FETCH, () => {
      // The first fetch after the join has resolved every partition's start offset.
      if (joined && this.state === 'starting') {
        this.state = 'running';
        settle();
      }
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.fetching = false;
      this.assigned = [];
      const { error, restart } = e.payload;
      if (restart) {
        this.host.instrumentation.emit(KAFKA_LOG_EVENTS.CONSUMER_RESTART, {
          group: this.group,
          topic: this.topic,
          error,
        });
        return;
      }
      const mapped = toLabError(error, {
        what: `Consumer of group ${this.group} on ${this.topic}`,
        brokers: this.host.brokers,
        topic: this.topic,
        group: this.group,
      });
      if (this.state === 'starting') settle(mapped);
      else this.fail(mapped, undefined);
    });
    consumer.on(consumer.events.STOP, () => {
      this.fetching = false;
    });

    const timer = setTimeout(() => {
      settle(joinTimeoutError(what, this, this.host.brokers, this.joinTimeoutMs, joined));
    }, this.joinTimeoutMs);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.start !== 'latest' });
      if (this.state !== 'starting') return;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? this.partitions,
        eachBatch: (payload) => this.eachBatch(payload, handler),
      });
      await ready;
    } catch (err) {
      throw toLabError(err, { what, brokers: this.host.brokers, topic: this.topic, group: this.group });
    } finally {
      clearTimeout(timer);
    }
  }

  private onAssignment(partitions: number[]): void {
    const previous = this.assigned;
    const next = [...partitions].sort((a, b) => a - b);
    for (const [p, offset] of this.pendingSeeks) {
      if (next.includes(p)) this.applySeek(p, offset);
      else if (previous.includes(p)) this.pendingSeeks.delete(p); // revoked: its new owner decides
    }
    this.assigned = next;
    this.host.instrumentation.emit(KAFKA_LOG_EVENTS.CONSUMER_GROUP_JOIN, {
      group: this.group,
      topic: this.topic,
      partitions: [...next],
    });
  }

  private applySeek(partition: number, offset: number): void {
    try {
      this.consumer?.seek({ topic: this.topic, partition, offset: String(offset) });
    } catch {
      // kafkajs is between a crash and its restart; the seek is applied at the next join.
    }
  }

  private async eachBatch(
    payload: EachBatchPayload,
    handler: (batch: RecordBatch) => Promise<void>,
  ): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (!this.delivering() || isStale()) return;
    const messages = batch.messages;
    if (messages.length === 0) return;
    const partition = batch.partition;
    // A batch that is not stale starts at the position of the last seek, if any: it has been applied.
    this.pendingSeeks.delete(partition);
    const highWatermark = Number(batch.highWatermark);
    const size = this.maxBatchRecords;
    for (let from = 0; from < messages.length; from += size) {
      if (!this.delivering() || !isRunning() || isStale()) return;
      const records = toRecords(messages, from, Math.min(messages.length, from + size));
      try {
        await handler({ topic: this.topic, partition, records, highWatermark });
      } catch (err) {
        this.fail(err, partition);
        return;
      }
      if (isStale()) return;
      resolveOffset(messages[from + records.length - 1]!.offset);
      await heartbeat();
    }
  }

  private delivering(): boolean {
    return this.state === 'running' || this.state === 'starting';
  }

  seek(partition: number, offset: number): void {
    validateSeek(this.topic, this.partitions, partition, offset);
    this.pendingSeeks.set(partition, offset);
    if (this.assigned.includes(partition)) this.applySeek(partition, offset);
  }

  async commit(offsets: PartitionOffset[]): Promise<void> {
    const what = `Committing offsets of group ${this.group} on ${this.topic}`;
    if (this.state === 'idle' || this.state === 'stopped') {
      return this.host.commitOffsets(this.group, this.topic, offsets);
    }
    const partitions = this.partitions || (await this.host.partitionCount(this.topic));
    validateOffsets(this.topic, offsets, partitions);
    if (offsets.length === 0) return;
    const consumer = this.consumer;
    if (!consumer || !this.fetching) {
      throw rejoiningCommitError(what, this, this.host.brokers);
    }
    try {
      await consumer.commitOffsets(
        offsets.map((o) => ({ topic: this.topic, partition: o.partition, offset: String(o.offset) })),
      );
    } catch (err) {
      throw toLabError(err, { what, brokers: this.host.brokers, topic: this.topic, group: this.group });
    }
  }

  /** Delivering batches (joined, assigned, fetching or about to). */
  isRunning(): boolean {
    return this.state === 'running';
  }

  assignment(): number[] {
    return this.state === 'running' ? [...this.assigned] : [];
  }

  /** Stops after the in-flight chunk (if any) has been handled, leaves the group, disconnects. Never rejects. */
  async stop(): Promise<void> {
    if (this.state === 'idle') {
      this.state = 'stopped';
      this.settleFinished();
      return;
    }
    if (this.state === 'starting' && this.starting) {
      this.state = 'stopping';
      this.abortStart?.();
      await this.starting.catch(() => undefined);
    }
    await this.shutdown();
  }

  /** Resolves when the consumer has stopped via stop(); rejects with the error that stopped it. */
  done(): Promise<void> {
    this.doneObserved = true;
    return this.finished;
  }

  private shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.state !== 'stopped') this.state = 'stopping';
      this.fetching = false;
      await this.consumer?.disconnect().catch(() => undefined);
      this.state = 'stopped';
      this.assigned = [];
      this.host.unregisterConsumer(this);
      this.settleFinished(this.failure);
    })();
    return this.stopping;
  }

  private fail(error: unknown, partition: number | undefined): void {
    if (this.failure) return;
    this.failure = { error };
    const observers = this.host.instrumentation.listeners(KAFKA_LOG_EVENTS.CONSUMER_CRASH);
    this.host.instrumentation.emit(KAFKA_LOG_EVENTS.CONSUMER_CRASH, {
      group: this.group,
      topic: this.topic,
      partition,
      error,
    });
    this.opts.onError?.(error);
    if (!this.opts.onError && !this.doneObserved && observers === 0) {
      warnUnobservedCrash(this, error);
    }
    // Not awaited: kafkajs waits for this very eachBatch call to return before it stops.
    void this.shutdown();
  }
}
