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
import kafkajs, { type Admin, type Kafka, type PartitionMetadata } from 'kafkajs';
import type { Clock } from '../../clock/clock.js';
import { LabError, isLabError } from '../../errors/lab-error.js';
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
import { KafkaAppender, PartialAppendError, type PartitionerFn } from './kafka-appender.js';
import {
  KafkaLogConsumer,
  type KafkaConsumerHost,
  type KafkaConsumerOptions,
  type KafkaConsumerSettings,
} from './kafka-consumer.js';
import { KAFKA_LOG_DEFAULTS, type KafkaRetrySettings } from './kafka-defaults.js';
import { kafkaErrorType, toLabError } from './kafka-errors.js';
import {
  KafkaLogInstrumentation,
  KAFKA_LOG_EVENTS,
  type KafkaLogEventName,
  type KafkaLogEventPayloads,
} from './kafka-instrumentation.js';
import { KAFKAJS_LEVELS, quietLogCreator, type KafkaLogLevel } from './kafka-logger.js';
import { retryWindowMs, toKafkaRetry } from './kafka-retry.js';
import {
  validateGroupName,
  validateOffsets,
  validateRecords,
  validateTopicName,
  validateTopicSpec,
} from './kafka-validation.js';

export type { KafkaLogLevel };

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { ConfigResourceTypes, Kafka: KafkaClient, Partitioners } = kafkajs;

export interface KafkaEventLogOptions {
  brokers: string[];
  clientId: string;
  clock: Clock;
  /** TCP connect timeout (ms). Default 3 000. */
  connectionTimeoutMs?: number;
  /** Time a request may wait for its response (ms). Default 30 000. */
  requestTimeoutMs?: number;
  /** Retries of append() (≈ 39 s by default); after them it rejects with LKL_ERR_LOG_UNAVAILABLE. */
  producerRetry?: Partial<KafkaRetrySettings>;
  /** Retries of admin calls (≈ 4 s by default). */
  adminRetry?: Partial<KafkaRetrySettings>;
  /** Retries of consumers before kafkajs restarts them. */
  consumerRetry?: Partial<KafkaRetrySettings>;
  /** Fetch tuning and group timeouts of consumers (see KAFKA_LOG_DEFAULTS). */
  consumer?: Partial<Omit<KafkaConsumerSettings, 'retry'>>;
  /** Produce request limits (see KAFKA_LOG_DEFAULTS). */
  producer?: { maxRequestBytesPerPartition?: number; maxRecordsPerRequest?: number };
  /** kafkajs log lines at or above this level go to stderr (handled error responses and repeats are dropped). Default 'error'. */
  logLevel?: KafkaLogLevel;
}

export async function openKafkaEventLog(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
  return KafkaEventLog.open(opts);
}

interface TopicMeta {
  partitions: PartitionMetadata[];
  fetchedAt: number;
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
  private readonly adminKafka: Kafka;
  private admin: Admin;
  private adminReplacement: Promise<void> | undefined;
  private readonly producerRetryWindowMs: number;
  private readonly appender: KafkaAppender;
  private readonly topicMeta = new Map<string, TopicMeta>();
  private readonly adminRetry: KafkaRetrySettings;
  private readonly consumers = new Set<KafkaLogConsumer>();
  private closing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly opts: KafkaEventLogOptions) {
    if (
      !Array.isArray(opts.brokers) ||
      opts.brokers.length === 0 ||
      opts.brokers.some((b) => typeof b !== 'string' || !/^[^:\s]+:\d+$/.test(b))
    ) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `openKafkaEventLog needs brokers as host:port strings, got ${JSON.stringify(opts.brokers)}; set KAFKA_BROKERS, e.g. 127.0.0.1:19092.`,
        { details: { field: 'brokers', value: opts.brokers } },
      );
    }
    if (typeof opts.clientId !== 'string' || opts.clientId.length === 0) {
      throw new LabError('LKL_ERR_LOG_INVALID_ARGUMENT', 'openKafkaEventLog needs a non-empty clientId.', {
        details: { field: 'clientId' },
      });
    }
    this.brokers = [...opts.brokers];
    const d = KAFKA_LOG_DEFAULTS;
    const producerRetry = { ...d.producerRetry, ...opts.producerRetry };
    const adminRetry = { ...d.adminRetry, ...opts.adminRetry };
    const consumerRetry = { ...d.consumerRetry, ...opts.consumerRetry };
    const client = (retry: KafkaRetrySettings): Kafka =>
      new KafkaClient({
        brokers: [...opts.brokers],
        clientId: opts.clientId,
        connectionTimeout: opts.connectionTimeoutMs ?? d.connectionTimeoutMs,
        requestTimeout: opts.requestTimeoutMs ?? d.requestTimeoutMs,
        retry: toKafkaRetry(retry),
        logLevel: KAFKAJS_LEVELS[opts.logLevel ?? 'error'],
        logCreator: quietLogCreator(),
      });
    // One client per role: kafkajs reconnects with the client's (cluster-level) retries and gives
    // up on the whole call when they are exhausted, so each role's window is set there too.
    this.adminKafka = client(adminRetry);
    this.kafka = client(consumerRetry);
    const producerKafka = client(producerRetry);
    this.adminRetry = adminRetry;
    this.admin = this.adminKafka.admin({ retry: toKafkaRetry(adminRetry) });
    this.producerRetryWindowMs = retryWindowMs(producerRetry);
    this.appender = new KafkaAppender(producerKafka, Partitioners.DefaultPartitioner as () => PartitionerFn, {
      retry: producerRetry,
      maxRequestBytesPerPartition: opts.producer?.maxRequestBytesPerPartition,
      maxRecordsPerRequest: opts.producer?.maxRecordsPerRequest,
      onReset: (topic, error) => this.instrumentation.emit(KAFKA_LOG_EVENTS.PRODUCER_RESET, { topic, error }),
    });
    this.consumerSettings = {
      retry: consumerRetry,
      maxBytesPerPartition: opts.consumer?.maxBytesPerPartition ?? d.maxBytesPerPartition,
      maxBytes: opts.consumer?.maxBytes ?? d.maxBytes,
      minBytes: opts.consumer?.minBytes ?? d.minBytes,
      maxWaitTimeInMs: opts.consumer?.maxWaitTimeInMs ?? d.maxWaitTimeInMs,
      sessionTimeoutMs: opts.consumer?.sessionTimeoutMs ?? d.sessionTimeoutMs,
      heartbeatIntervalMs: opts.consumer?.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
    };
  }

  static async open(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
    const log = new KafkaEventLog(opts);
    try {
      await log.admin.connect();
    } catch (err) {
      await log.admin.disconnect().catch(() => undefined);
      await log.appender.close();
      throw log.error(err, `Connecting to Kafka at ${log.brokers.join(',')}`);
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
    const configEntries = [
      { name: 'retention.ms', value: String(spec.retentionMs ?? -1) },
      { name: 'retention.bytes', value: String(spec.retentionBytes ?? -1) },
    ];
    // segment.bytes has no "unlimited" value (-1 is invalid); without it the broker default applies.
    if (spec.segmentBytes !== undefined)
      configEntries.push({ name: 'segment.bytes', value: String(spec.segmentBytes) });
    if (await this.topicExists(topic)) return; // an existing topic keeps its partitions and configs
    try {
      // false = another client created it meanwhile.
      await this.withAdmin((admin) =>
        admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: spec.partitions, configEntries }],
        }),
      );
    } catch (err) {
      if (kafkaErrorType(err) !== 'TOPIC_ALREADY_EXISTS')
        throw this.error(err, `Creating topic ${topic}`, { topic });
    }
    this.topicMeta.delete(topic);
    await this.waitForTopic(topic);
  }

  /**
   * The controller has created the topic, but a broker may answer "unknown topic" for a moment
   * longer (its metadata catches up asynchronously): wait until the topic and a leader for every
   * partition are visible, so the topic is usable as soon as ensureTopic() resolves.
   */
  private async waitForTopic(topic: string): Promise<void> {
    const deadline = performance.now() + KAFKA_LOG_DEFAULTS.topicVisibleWaitMs;
    for (;;) {
      try {
        const partitions = await this.partitionMetadata(topic, true);
        if (partitions.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if (!isLabError(err) || err.code !== 'LKL_ERR_LOG_TOPIC_UNKNOWN') throw err;
        if (performance.now() > deadline) throw err;
      }
      if (performance.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async deleteTopic(topic: string): Promise<void> {
    this.assertOpen();
    validateTopicName(topic);
    await this.partitionMetadata(topic, true); // LKL_ERR_LOG_TOPIC_UNKNOWN at once for an unknown topic
    try {
      await this.withAdmin((admin) => admin.deleteTopics({ topics: [topic] }));
    } catch (err) {
      throw this.error(err, `Deleting topic ${topic}`, { topic });
    } finally {
      this.topicMeta.delete(topic);
      this.appender.forgetTopic(topic);
    }
    // The controller has deleted it; wait until the broker's metadata agrees, so listTopics() does too.
    const deadline = performance.now() + KAFKA_LOG_DEFAULTS.deleteTopicWaitMs;
    while (performance.now() < deadline) {
      const names = await this.withAdmin((admin) => admin.listTopics()).catch(() => [] as string[]);
      if (!names.includes(topic)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Topics other than Kafka's internal ones (`__consumer_offsets`, …), sorted by name. */
  async listTopics(): Promise<TopicDescription[]> {
    this.assertOpen();
    try {
      const { topics } = await this.withAdmin((admin) => admin.fetchTopicMetadata());
      const visible = topics
        .filter((t) => !t.name.startsWith('__'))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (visible.length === 0) return [];
      const { resources } = await this.withAdmin((admin) =>
        admin.describeConfigs({
          includeSynonyms: false,
          resources: visible.map((t) => ({
            type: ConfigResourceTypes.TOPIC,
            name: t.name,
            configNames: ['retention.ms', 'retention.bytes'],
          })),
        }),
      );
      const configs = new Map(
        resources.map((r) => [
          r.resourceName,
          new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
        ]),
      );
      return visible.map((t) => {
        const c = configs.get(t.name);
        return {
          name: t.name,
          partitions: t.partitions.length,
          retentionMs: limit(c?.get('retention.ms')),
          retentionBytes: limit(c?.get('retention.bytes')),
        };
      });
    } catch (err) {
      throw this.error(err, 'Listing topics');
    }
  }

  // ---- records ------------------------------------------------------------------------------

  async append(topic: string, records: AppendRecord[]): Promise<AppendAck[]> {
    this.assertOpen();
    validateTopicName(topic);
    const meta = await this.partitionMetadataForAppend(topic);
    validateRecords(topic, records, meta.length);
    if (records.length === 0) return [];
    const partitions = this.appender.assignPartitions(topic, records, meta);
    try {
      return await this.appender.send(topic, records, partitions, this.opts.clock.now());
    } catch (err) {
      const e = this.error(
        err instanceof PartialAppendError ? err.failure : err,
        `Appending ${records.length} records to ${topic}`,
        { topic },
      );
      if (e.code !== 'LKL_ERR_LOG_UNAVAILABLE') this.topicMeta.delete(topic);
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
    await this.partitionMetadata(topic, true);
    try {
      const rows = await this.withAdmin((admin) => admin.fetchTopicOffsets(topic), topic);
      return rows
        .map((r) => ({ partition: r.partition, low: Number(r.low), end: Number(r.high) }))
        .sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw this.error(err, `Reading the offsets of ${topic}`, { topic });
    }
  }

  // ---- consumer groups ----------------------------------------------------------------------

  async commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    this.assertOpen();
    validateGroupName(group);
    validateTopicName(topic);
    const meta = await this.partitionMetadata(topic, true);
    validateOffsets(topic, offsets, meta.length);
    if (offsets.length === 0) return;
    const member = [...this.consumers].find((c) => c.group === group && c.topic === topic && c.isRunning());
    if (member) return member.commit(offsets);
    const what = `Committing offsets of group ${group} on ${topic}`;
    await this.assertGroupEmpty(group, what);
    try {
      await commitAsShortLivedMember(this.kafka, group, topic, offsets);
    } catch (err) {
      throw this.error(err, what, { topic, group });
    }
  }

  async committedOffsets(
    group: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: number | null }>> {
    this.assertOpen();
    validateGroupName(group);
    validateTopicName(topic);
    const meta = await this.partitionMetadata(topic, true);
    let rows: Array<{ partition: number; offset: string }> = [];
    try {
      const res = await this.withAdmin(
        (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }),
        topic,
      );
      rows = res.find((r) => r.topic === topic)?.partitions ?? [];
    } catch (err) {
      throw this.error(err, `Reading the committed offsets of group ${group} on ${topic}`, { topic, group });
    }
    const byPartition = new Map(rows.map((r) => [r.partition, Number(r.offset)]));
    return meta
      .map((m) => m.partitionId)
      .sort((a, b) => a - b)
      .map((partition) => {
        const o = byPartition.get(partition);
        return { partition, offset: o === undefined || o < 0 ? null : o };
      });
  }

  /** Groups the broker knows: with committed offsets or members (of any client, not only this one). */
  async listGroups(): Promise<string[]> {
    this.assertOpen();
    try {
      const { groups } = await this.withAdmin((admin) => admin.listGroups());
      const names = new Set(groups.map((g) => g.groupId));
      for (const c of this.consumers) names.add(c.group);
      return [...names].sort();
    } catch (err) {
      throw this.error(err, 'Listing consumer groups');
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
    try {
      await this.withAdmin((admin) => admin.deleteGroups([group]));
    } catch (err) {
      const results =
        (err as { groups?: Array<{ groupId: string; error?: { type?: string } }> }).groups ?? [];
      const type = results.find((g) => g.groupId === group)?.error?.type ?? kafkaErrorType(err);
      if (type === 'GROUP_ID_NOT_FOUND') return;
      if (type === 'NON_EMPTY_GROUP') {
        throw new LabError(
          'LKL_ERR_LOG_GROUP_ACTIVE',
          `Group ${group} still has members (consumers in another process?); stop them before deleting the group.`,
          {
            cause: err,
            details: { group },
          },
        );
      }
      throw this.error(err, `Deleting group ${group}`, { group });
    }
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
    return (await this.partitionMetadata(topic, true)).length;
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
      await this.admin.disconnect().catch(() => undefined);
    })();
    return this.closing;
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Partition metadata of a topic, cached for topicMetadataMaxAgeMs; LKL_ERR_LOG_TOPIC_UNKNOWN when it does not exist. */
  private async partitionMetadata(topic: string, fresh = false): Promise<PartitionMetadata[]> {
    const cached = this.topicMeta.get(topic);
    if (!fresh && cached && performance.now() - cached.fetchedAt < KAFKA_LOG_DEFAULTS.topicMetadataMaxAgeMs) {
      return cached.partitions;
    }
    try {
      const { topics } = await this.withAdmin(
        (admin) => admin.fetchTopicMetadata({ topics: [topic] }),
        topic,
      );
      const partitions = [...(topics.find((t) => t.name === topic)?.partitions ?? [])].sort(
        (a, b) => a.partitionId - b.partitionId,
      );
      if (partitions.length === 0)
        throw Object.assign(new Error('no partitions'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
      this.topicMeta.set(topic, { partitions, fetchedAt: performance.now() });
      return partitions;
    } catch (err) {
      const e = this.error(err, `Looking up topic ${topic}`, { topic });
      if (e.code !== 'LKL_ERR_LOG_UNAVAILABLE') this.topicMeta.delete(topic);
      throw e;
    }
  }

  /**
   * Partition metadata for append(): while Kafka cannot be reached, a stale cached entry is
   * used, or the lookup is retried for as long as the producer itself would retry — so an
   * append rides out a broker restart instead of failing on the lookup.
   */
  private async partitionMetadataForAppend(topic: string): Promise<PartitionMetadata[]> {
    const started = performance.now();
    for (;;) {
      try {
        return await this.partitionMetadata(topic);
      } catch (err) {
        if (!isLabError(err) || err.code !== 'LKL_ERR_LOG_UNAVAILABLE') throw err;
        const stale = this.topicMeta.get(topic);
        if (stale) return stale.partitions;
        if (performance.now() - started > this.producerRetryWindowMs || this.closed) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /**
   * Runs an admin call. kafkajs's admin keeps refreshing the metadata of every topic it has
   * looked up, and fails with UNKNOWN_TOPIC_OR_PARTITION once one of them is deleted (by
   * another client). Then — unless `topic`, the call's own topic, is the missing one — the
   * admin client is replaced by a fresh one and the call is made once more.
   */
  private async withAdmin<T>(call: (admin: Admin) => Promise<T>, topic?: string): Promise<T> {
    try {
      return await call(this.admin);
    } catch (err) {
      if (kafkaErrorType(err) !== 'UNKNOWN_TOPIC_OR_PARTITION' || this.closed) throw err;
      if (topic !== undefined && !(await this.topicExistsNow(topic))) throw err;
      await this.replaceAdmin();
      return call(this.admin);
    }
  }

  /** Asks the broker directly (a metadata request for this topic only). */
  private async topicExistsNow(topic: string): Promise<boolean> {
    try {
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
      return topics.some((t) => t.name === topic && t.partitions.length > 0);
    } catch (err) {
      if (kafkaErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') return false;
      throw err;
    }
  }

  private replaceAdmin(): Promise<void> {
    this.adminReplacement ??= (async () => {
      const fresh = this.adminKafka.admin({ retry: toKafkaRetry(this.adminRetry) });
      await fresh.connect();
      const old = this.admin;
      this.admin = fresh;
      // Calls still running on the old client finish (or fail) by themselves.
      setTimeout(() => void old.disconnect().catch(() => undefined), 30_000).unref();
    })().finally(() => {
      this.adminReplacement = undefined;
    });
    return this.adminReplacement;
  }

  private async topicExists(topic: string): Promise<boolean> {
    try {
      await this.partitionMetadata(topic, true);
      return true;
    } catch (err) {
      if (isLabError(err) && err.code === 'LKL_ERR_LOG_TOPIC_UNKNOWN') return false;
      throw err;
    }
  }

  private async assertGroupEmpty(group: string, what: string): Promise<void> {
    let state: string | undefined;
    try {
      const { groups } = await this.withAdmin((admin) => admin.describeGroups([group]));
      state = groups.find((g) => g.groupId === group)?.state;
    } catch (err) {
      throw this.error(err, what, { group });
    }
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      throw new LabError(
        'LKL_ERR_LOG_GROUP_ACTIVE',
        `${what}: the group has members (state ${state}) that are not consumers of this log; commit through those consumers, or stop them first.`,
        { details: { group, state } },
      );
    }
  }

  private error(err: unknown, what: string, ctx: { topic?: string; group?: string } = {}): LabError {
    return toLabError(err, { what, brokers: this.brokers, ...ctx });
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

/** A topic config value where -1 (or nothing) means "no limit". */
function limit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Commits offsets for a group that has no members: a kafkajs consumer joins it (fetching
 * nothing: its partitions are paused), commits with the generation it got, and leaves.
 */
async function commitAsShortLivedMember(
  kafka: Kafka,
  group: string,
  topic: string,
  offsets: PartitionOffset[],
): Promise<void> {
  const consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 20,
    retry: { retries: 3 },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.pause([{ topic }]));
      // The runner accepts commits once it is fetching (it drops them before).
      consumer.on(consumer.events.FETCH_START, () => resolve());
      consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
    });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await joined;
    await consumer.commitOffsets(
      offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })),
    );
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
