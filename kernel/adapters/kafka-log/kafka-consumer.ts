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
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { LabError } from '../../errors/lab-error.js';
import type {
  ConsumerOptions,
  LogConsumer,
  LogRecord,
  PartitionOffset,
  RecordBatch,
} from '../../ports/event-log.js';
import { KAFKA_LOG_DEFAULTS, type KafkaRetrySettings } from './kafka-defaults.js';
import { toLabError } from './kafka-errors.js';
import { KAFKA_LOG_EVENTS, type KafkaLogInstrumentation } from './kafka-instrumentation.js';
import { toKafkaRetry } from './kafka-retry.js';
import { validateGroupName, validateOffsets, validateTopicName } from './kafka-validation.js';

export interface KafkaConsumerOptions extends ConsumerOptions {
  /** Called once when the consumer stops because the handler failed or kafkajs gave up. */
  onError?: (error: unknown) => void;
  /** Batches handed to the handler at the same time, across partitions. Default: the topic's partition count. */
  partitionsConsumedConcurrently?: number;
  /** How long run() waits for the join, the assignment and the first fetch (ms). Default 30 000. */
  joinTimeoutMs?: number;
}

export interface KafkaConsumerSettings {
  retry: KafkaRetrySettings;
  maxBytesPerPartition: number;
  maxBytes: number;
  minBytes: number;
  maxWaitTimeInMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

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
    const bad = (field: string, rule: string, value: unknown): never => {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Invalid consumer option ${field} ${JSON.stringify(value)}: ${rule}.`,
        {
          details: { field, value },
        },
      );
    };
    validateGroupName(opts.group);
    validateTopicName(opts.topic);
    if (opts.start !== undefined && opts.start !== 'earliest' && opts.start !== 'latest') {
      bad('start', "use 'earliest' or 'latest'", opts.start);
    }
    this.maxBatchRecords = opts.maxBatchRecords ?? KAFKA_LOG_DEFAULTS.maxBatchRecords;
    if (!Number.isInteger(this.maxBatchRecords) || this.maxBatchRecords < 1) {
      bad('maxBatchRecords', 'use a positive integer', opts.maxBatchRecords);
    }
    if (opts.partitions !== undefined) {
      bad(
        'partitions',
        'Kafka assigns partitions through the consumer-group protocol; run one consumer per share of the work in the same group instead (the option is embedded-only)',
        opts.partitions,
      );
    }
    const concurrency = opts.partitionsConsumedConcurrently;
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      bad('partitionsConsumedConcurrently', 'use a positive integer', concurrency);
    }
    this.joinTimeoutMs = opts.joinTimeoutMs ?? KAFKA_LOG_DEFAULTS.joinTimeoutMs;
    if (!(this.joinTimeoutMs > 0)) bad('joinTimeoutMs', 'use a positive number of ms', opts.joinTimeoutMs);
    this.group = opts.group;
    this.topic = opts.topic;
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
        { details: { group: this.group, topic: this.topic } },
      );
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
    const s = this.host.consumerSettings;
    const consumer = this.host.kafka.consumer({
      groupId: this.group,
      allowAutoTopicCreation: false,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      maxBytesPerPartition: s.maxBytesPerPartition,
      maxBytes: s.maxBytes,
      minBytes: s.minBytes,
      maxWaitTimeInMs: s.maxWaitTimeInMs,
      retry: toKafkaRetry(s.retry),
    });
    this.consumer = consumer;

    let joined = false;
    let settle!: (err?: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.abortStart = () =>
      settle(
        new LabError('LKL_ERR_LOG_CLOSED', `${what}: stop() was called before the consumer was running.`, {
          retriable: false,
          details: { group: this.group, topic: this.topic },
        }),
      );
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
      settle(
        new LabError(
          'LKL_ERR_LOG_UNAVAILABLE',
          `${what}: it did not join the group and fetch within ${this.joinTimeoutMs} ms. Check that Kafka at ${this.host.brokers.join(',')} is up (\`bash scripts/stack/stack.sh status\`), that no stuck consumer of group ${this.group} holds up the rebalance (\`listGroups\`), and raise joinTimeoutMs for a slow cluster.`,
          {
            retriable: true,
            details: { group: this.group, topic: this.topic, brokers: [...this.host.brokers], joined },
          },
        ),
      );
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
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Cannot seek to ${String(offset)}: use a non-negative integer offset.`,
        {
          details: { topic: this.topic, partition, offset },
        },
      );
    }
    if (
      !Number.isInteger(partition) ||
      partition < 0 ||
      (this.partitions > 0 && partition >= this.partitions)
    ) {
      throw new LabError(
        'LKL_ERR_LOG_PARTITION_UNKNOWN',
        `Topic ${this.topic} has no partition ${String(partition)}${this.partitions > 0 ? `; use 0 to ${this.partitions - 1}` : ''}.`,
        { details: { topic: this.topic, partition, partitions: this.partitions } },
      );
    }
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
      throw new LabError(
        'LKL_ERR_LOG_UNAVAILABLE',
        `${what}: the consumer is (re)joining its group (Kafka at ${this.host.brokers.join(',')} may be down); commit again once it delivers batches.`,
        { retriable: true, details: { group: this.group, topic: this.topic } },
      );
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
      process.emitWarning(
        `Consumer of group ${this.group} on ${this.topic} stopped: ${error instanceof Error ? error.message : String(error)}`,
        {
          code: 'LKL_LOG_CONSUMER_CRASH',
          detail: 'Pass onError, await consumer.done() or listen to log.consumer.crash to handle it.',
        },
      );
    }
    // Not awaited: kafkajs waits for this very eachBatch call to return before it stops.
    void this.shutdown();
  }
}

function toRecords(messages: KafkaMessage[], from: number, to: number): LogRecord[] {
  const out = new Array<LogRecord>(to - from);
  for (let i = from; i < to; i++) {
    const m = messages[i]!;
    out[i - from] = {
      offset: Number(m.offset),
      timestamp: Number(m.timestamp),
      key: m.key == null ? undefined : m.key.toString('utf8'),
      value: m.value == null ? '' : m.value.toString('utf8'),
    };
  }
  return out;
}
