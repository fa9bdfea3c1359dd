/**
 * The Kafka adapter of the event-log port, over kafkajs: topics are Kafka topics, partitions
 * and offsets are Kafka's, consumer groups are Kafka consumer groups. See docs/kafka.md.
 *
 * - append(): an idempotent producer per topic (acks = all); the records of one call are grouped by
 *   partition (explicit, else kafkajs's Java-compatible murmur2 of the key, else round-robin)
 *   and sent in one produce request (more only when a partition's share exceeds ~900 KiB).
 * - Admin calls go through one kafkajs admin client and fail fast (≈ 4 s) with
 *   LKL_ERR_LOG_UNAVAILABLE when the broker is down; append() waits ≈ 39 s before it gives up.
 * - commitOffsets(group, …): through this log's running consumer of that group and topic if
 *   there is one (it commits with its group generation); else, when the group has no members,
 *   through a short-lived member that joins, commits and leaves; a group with members elsewhere
 *   is refused with LKL_ERR_LOG_GROUP_ACTIVE (Kafka would reject the commit).
 */
import kafkajs, { type Kafka } from 'kafkajs';
import { LabError } from '../../errors/lab-error.js';
import type {
  AppendAck,
  AppendRecord,
  ConsumerOptions,
  EventLog,
  EventLogCapabilities,
  GroupLag,
  LogConsumer,
  PartitionOffset,
  PartitionOffsets,
  TopicDescription,
  TopicSpec,
} from '../../ports/event-log.js';
import { KafkaAdmin } from './kafka-admin.js';
import { KafkaAppender, PartialAppendError, type PartitionerFn } from './kafka-appender.js';
import {
  KafkaLogConsumer,
  type KafkaConsumerHost,
  type KafkaConsumerOptions,
  type KafkaConsumerSettings,
} from './kafka-consumer.js';
import {
  buildKafkaClients,
  validateKafkaEventLogOptions,
  type KafkaEventLogOptions,
} from './kafka-event-log-options.js';
import {
  assertGroupEmpty,
  commitAsShortLivedMember,
  deleteGroupOnBroker,
  fetchCommittedOffsets,
} from './kafka-groups.js';
import {
  KafkaLogInstrumentation,
  KAFKA_LOG_EVENTS,
  type KafkaLogEventName,
  type KafkaLogEventPayloads,
} from './kafka-instrumentation.js';
import type { KafkaLogLevel } from './kafka-logger.js';
import { retryWindowMs } from './kafka-retry.js';
import { createTopic, deleteTopic, listTopics } from './kafka-topics.js';
import {
  validateGroupName,
  validateOffsets,
  validateRecords,
  validateTopicName,
  validateTopicSpec,
} from './kafka-validation.js';

export type { KafkaEventLogOptions, KafkaLogLevel };

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { Partitioners } = kafkajs;

export async function openKafkaEventLog(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
  return KafkaEventLog.open(opts);
}

export class KafkaEventLog implements EventLog, KafkaConsumerHost {
  readonly kind = 'kafka' as const;
  /** The group protocol assigns partitions; other processes and threads connect to the same brokers. */
  readonly capabilities: EventLogCapabilities = { selfAssignment: false, shared: true };
  readonly instrumentation = new KafkaLogInstrumentation();
  readonly brokers: readonly string[];
  /** Client of consumers (its cluster-level retry is the consumers'). */
  readonly kafka: Kafka;
  readonly consumerSettings: KafkaConsumerSettings;
  private readonly admin: KafkaAdmin;
  private readonly producerRetryWindowMs: number;
  private readonly appender: KafkaAppender;
  private readonly consumers = new Set<KafkaLogConsumer>();
  private closing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly opts: KafkaEventLogOptions) {
    validateKafkaEventLogOptions(opts);
    this.brokers = [...opts.brokers];
    const clients = buildKafkaClients(opts);
    this.kafka = clients.consumerKafka;
    this.admin = new KafkaAdmin(clients.adminKafka, clients.adminRetry, this.brokers, () => this.closed);
    this.producerRetryWindowMs = retryWindowMs(clients.producerRetry);
    this.appender = new KafkaAppender(
      clients.producerKafka,
      Partitioners.DefaultPartitioner as () => PartitionerFn,
      {
        retry: clients.producerRetry,
        maxRequestBytesPerPartition: opts.producer?.maxRequestBytesPerPartition,
        maxRecordsPerRequest: opts.producer?.maxRecordsPerRequest,
        onReset: (topic, error) =>
          this.instrumentation.emit(KAFKA_LOG_EVENTS.PRODUCER_RESET, { topic, error }),
      },
    );
    this.consumerSettings = clients.consumerSettings;
  }

  static async open(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
    const log = new KafkaEventLog(opts);
    try {
      await log.admin.connect();
    } catch (err) {
      await log.admin.disconnect();
      await log.appender.close();
      throw log.admin.error(err, `Connecting to Kafka at ${log.brokers.join(',')}`);
    }
    return log;
  }

  /** Subscribes to an instrumentation event; returns the unsubscribe function. */
  on<E extends KafkaLogEventName>(
    event: E,
    listener: (payload: KafkaLogEventPayloads[E]) => void,
  ): () => void {
    return this.instrumentation.on(event, listener);
  }

  // ---- topics ------------------------------------------------------------------------------

  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    this.assertOpen();
    validateTopicName(topic);
    validateTopicSpec(topic, spec);
    await createTopic(this.admin, topic, spec);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.assertOpen();
    validateTopicName(topic);
    await deleteTopic(this.admin, topic, () => this.appender.forgetTopic(topic));
  }

  /** Topics other than Kafka's internal ones (`__consumer_offsets`, …), sorted by name. */
  async listTopics(): Promise<TopicDescription[]> {
    this.assertOpen();
    return listTopics(this.admin);
  }

  // ---- records ------------------------------------------------------------------------------

  /**
   * Checks an append as append() does and returns the partition of each record (explicit, else
   * murmur2 of the key, else round-robin), without sending anything. A producer pool
   * (kafka-produce-pool.ts) uses it to hand each partition's records to the one thread that
   * writes that partition.
   */
  async planAppend(topic: string, records: readonly AppendRecord[]): Promise<number[]> {
    this.assertOpen();
    validateTopicName(topic);
    const meta = await this.admin.partitionMetadataForAppend(topic, this.producerRetryWindowMs);
    validateRecords(topic, records, meta.length);
    return this.appender.assignPartitions(topic, records, meta);
  }

  async append(topic: string, records: AppendRecord[]): Promise<AppendAck[]> {
    this.assertOpen();
    validateTopicName(topic);
    const meta = await this.admin.partitionMetadataForAppend(topic, this.producerRetryWindowMs);
    validateRecords(topic, records, meta.length);
    if (records.length === 0) return [];
    const partitions = this.appender.assignPartitions(topic, records, meta);
    try {
      return await this.appender.send(topic, records, partitions, this.opts.clock.now());
    } catch (err) {
      const e = this.admin.error(
        err instanceof PartialAppendError ? err.failure : err,
        `Appending ${records.length} records to ${topic}`,
        { topic },
      );
      if (e.code !== 'LKL_ERR_LOG_UNAVAILABLE') this.admin.forget(topic);
      if (err instanceof PartialAppendError) {
        throw new LabError(
          e.code,
          `${e.message} Part of the append was written before the failure (details.acked); append only the rest again.`,
          { cause: err.failure, retriable: e.retriable, details: { ...e.details, acked: err.acked } },
        );
      }
      throw e;
    }
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    this.assertOpen();
    validateTopicName(topic);
    await this.admin.partitionMetadata(topic, true);
    try {
      const rows = await this.admin.topicOffsets(topic);
      return rows
        .map((r) => ({ partition: r.partition, low: Number(r.low), end: Number(r.high) }))
        .sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw this.admin.error(err, `Reading the offsets of ${topic}`, { topic });
    }
  }

  // ---- consumer groups ----------------------------------------------------------------------

  async commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    this.assertOpen();
    validateGroupName(group);
    validateTopicName(topic);
    const meta = await this.admin.partitionMetadata(topic, true);
    validateOffsets(topic, offsets, meta.length);
    if (offsets.length === 0) return;
    const member = [...this.consumers].find((c) => c.group === group && c.topic === topic && c.isRunning());
    if (member) return member.commit(offsets);
    const what = `Committing offsets of group ${group} on ${topic}`;
    await assertGroupEmpty(this.admin, group, what);
    try {
      await commitAsShortLivedMember(this.kafka, group, topic, offsets);
    } catch (err) {
      throw this.admin.error(err, what, { topic, group });
    }
  }

  async committedOffsets(
    group: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: number | null }>> {
    this.assertOpen();
    validateGroupName(group);
    validateTopicName(topic);
    const meta = await this.admin.partitionMetadata(topic, true);
    return fetchCommittedOffsets(this.admin, group, topic, meta);
  }

  /** Groups the broker knows: with committed offsets or members (of any client, not only this one). */
  async listGroups(): Promise<string[]> {
    this.assertOpen();
    try {
      const { groups } = await this.admin.withAdmin((admin) => admin.listGroups());
      const names = new Set(groups.map((g) => g.groupId));
      for (const c of this.consumers) names.add(c.group);
      return [...names].sort();
    } catch (err) {
      throw this.admin.error(err, 'Listing consumer groups');
    }
  }

  /** Deletes a group and its committed offsets. Unknown groups are a no-op; a group with members is refused. */
  async deleteGroup(group: string): Promise<void> {
    this.assertOpen();
    validateGroupName(group);
    const active = [...this.consumers].find((c) => c.group === group);
    if (active) {
      throw new LabError(
        'LKL_ERR_LOG_GROUP_ACTIVE',
        `Group ${group} has a running consumer on ${active.topic}; stop it before deleting the group.`,
        {
          details: { group, topic: active.topic },
        },
      );
    }
    await deleteGroupOnBroker(this.admin, group);
  }

  /** Lag per partition: end − committed, or end − low when the group has committed nothing there. */
  async lag(group: string, topic: string): Promise<GroupLag> {
    const [offsets, committed] = await Promise.all([
      this.offsets(topic),
      this.committedOffsets(group, topic),
    ]);
    const committedOf = new Map(committed.map((c) => [c.partition, c.offset]));
    const partitions = offsets.map((o) => {
      const c = committedOf.get(o.partition) ?? null;
      return { partition: o.partition, committed: c, end: o.end, lag: Math.max(0, o.end - (c ?? o.low)) };
    });
    return { group, topic, partitions, totalLag: partitions.reduce((a, p) => a + p.lag, 0) };
  }

  consumer(options: ConsumerOptions | KafkaConsumerOptions): KafkaLogConsumer & LogConsumer {
    this.assertOpen();
    return new KafkaLogConsumer(this, options);
  }

  // ---- KafkaConsumerHost ----------------------------------------------------------------------

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    return (await this.admin.partitionMetadata(topic, true)).length;
  }

  registerConsumer(consumer: KafkaLogConsumer): void {
    this.assertOpen();
    this.consumers.add(consumer);
  }

  unregisterConsumer(consumer: KafkaLogConsumer): void {
    this.consumers.delete(consumer);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Stops every consumer (after its in-flight chunk), then disconnects the producer and the admin client. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((c) => c.stop()));
      this.closed = true;
      await this.appender.close();
      await this.admin.disconnect();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new LabError(
        'LKL_ERR_LOG_CLOSED',
        `The Kafka event log (${this.brokers.join(',')}) is closed; open it again with openKafkaEventLog().`,
        {
          details: { brokers: [...this.brokers] },
        },
      );
    }
  }
}
