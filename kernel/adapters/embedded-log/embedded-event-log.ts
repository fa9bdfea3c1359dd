/**
 * The embedded adapter of the event-log port: a durable, file-backed, partitioned log in one
 * process. Layout under `<dataDir>/log/`:
 *
 *   .lock                         pid + host of the process that has the log open
 *   .groups/<group>.json          committed offsets of a consumer group (atomic replace)
 *   <topic>/topic.json            partitions, retention, segment size (atomic replace)
 *   <topic>/<partition>/<base offset, 20 digits>.log   segment files (see record-codec.ts)
 *
 * See docs/event-log.md for the format, the guarantees and the measured throughput.
 */
import { mkdir } from 'node:fs/promises';
import { directoryBytes } from './directory-bytes.js';
import { join } from 'node:path';
import type { Clock } from '../../clock/clock.js';
import type {
  AppendAck,
  AppendRecord,
  ConsumerOptions,
  EventLog,
  EventLogCapabilities,
  GroupLag,
  HistorySource,
  LogConsumer,
  LogRecord,
  PartitionOffset,
  PartitionOffsets,
  TopicDescription,
  TopicSpec,
} from '../../ports/event-log.js';
import { ConsumerRegistry } from './consumer-registry.js';
import { EMBEDDED_LOG_DEFAULTS } from './defaults.js';
import { EmbeddedLogConsumer, type ConsumerHost, type EmbeddedConsumerOptions } from './embedded-consumer.js';
import {
  groupActiveError,
  logClosedError,
  storageFailedError,
  validateAppendRecords,
  validateCommitOffsets,
  validateGroup,
  validateReadArgs,
} from './embedded-log-checks.js';
import {
  resolveEmbeddedLogOptions,
  type EmbeddedEventLogOptions,
  type PartitionStorage,
  type RecoveryReport,
} from './embedded-log-options.js';
import { GroupOffsetStore } from './group-offsets.js';
import {
  LogInstrumentation,
  type EmbeddedLogEventName,
  type EmbeddedLogEventPayloads,
} from './instrumentation.js';
import { DataDirLock } from './lock-file.js';
import { LogMaintenance } from './log-maintenance.js';
import { ChunkCache } from './read-cache.js';
import type { PartitionLog } from './partition-log.js';
import type { Topic, TopicOpenOptions } from './topic.js';
import { removeLeftovers, TopicRegistry } from './topic-registry.js';
import { normalizeTopicSpec, validateTopicName } from './topic-metadata.js';

export type { EmbeddedEventLogOptions, PartitionStorage, RecoveryReport };

export async function openEmbeddedEventLog(opts: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  return EmbeddedEventLog.open(opts);
}

export class EmbeddedEventLog implements EventLog, ConsumerHost {
  readonly kind = 'embedded' as const;
  /** Partitions are assigned by the caller; the log lives in this process (its directory is locked). */
  readonly capabilities: EventLogCapabilities = { selfAssignment: true, shared: false };
  readonly instrumentation = new LogInstrumentation();
  private readonly cache = new ChunkCache(EMBEDDED_LOG_DEFAULTS.readCacheBytes);
  private readonly topics: TopicRegistry;
  private readonly consumers = new ConsumerRegistry();
  private readonly maintenance: LogMaintenance;
  private closing: Promise<void> | undefined;
  private closed = false;
  private groups!: GroupOffsetStore;
  readonly recovery: RecoveryReport = {
    topics: 0,
    partitions: 0,
    segmentsScanned: 0,
    bytesScanned: 0,
    truncations: [],
  };

  private constructor(
    readonly dataDir: string,
    readonly logDir: string,
    private readonly clock: Clock,
    private readonly lock: DataDirLock,
    topicOptions: TopicOpenOptions,
  ) {
    this.topics = new TopicRegistry(logDir, this.instrumentation, this.cache, topicOptions);
    this.maintenance = new LogMaintenance(this.topics, clock, this.instrumentation, {
      closed: () => this.closed,
      closing: () => this.closing !== undefined,
    });
  }

  static async open(opts: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
    const { fsyncIntervalMs, retentionCheckIntervalMs, topicOptions } = resolveEmbeddedLogOptions(opts);
    const logDir = join(opts.dataDir, 'log');
    await mkdir(logDir, { recursive: true });
    const lock = await DataDirLock.acquire(join(logDir, '.lock'));
    const log = new EmbeddedEventLog(opts.dataDir, logDir, opts.clock, lock, topicOptions);
    try {
      await log.load();
    } catch (err) {
      await Promise.all(log.topics.all().map((t) => t.close().catch(() => undefined)));
      await lock.release();
      throw err;
    }
    log.maintenance.start(fsyncIntervalMs, retentionCheckIntervalMs);
    return log;
  }

  /** Removes leftovers of interrupted operations, loads group offsets and opens every topic. */
  private async load(): Promise<void> {
    const entries = await removeLeftovers(this.logDir);
    this.groups = await GroupOffsetStore.load(join(this.logDir, '.groups'));
    await this.topics.openAll(entries, this.recovery);
  }

  /** Subscribes to an instrumentation event; returns the unsubscribe function. */
  on<E extends EmbeddedLogEventName>(
    event: E,
    listener: (payload: EmbeddedLogEventPayloads[E]) => void,
  ): () => void {
    return this.instrumentation.on(event, listener);
  }

  // ---- topics ------------------------------------------------------------------------------

  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    this.assertOpen();
    validateTopicName(topic);
    const meta = normalizeTopicSpec(topic, spec, this.clock.now());
    return this.topics.ensure(topic, meta);
  }

  /** Deletes the topic, its files and its committed offsets. Running consumers of it stop with LKL_ERR_LOG_TOPIC_UNKNOWN. */
  async deleteTopic(topic: string): Promise<void> {
    this.assertOpen();
    await this.topics.remove(topic);
    await this.groups.dropTopic(topic);
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.assertOpen();
    return this.topics
      .all()
      .map((t) => t.describe())
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- records ------------------------------------------------------------------------------

  async append(topic: string, records: AppendRecord[]): Promise<AppendAck[]> {
    this.assertOpen();
    if (this.maintenance.storageFailure !== undefined)
      throw storageFailedError(this.logDir, this.maintenance.storageFailure);
    const t = this.topic(topic);
    validateAppendRecords(topic, records);
    if (records.length === 0) return [];
    return t.append(records, this.clock.now());
  }

  /**
   * Up to `maxRecords` records of one partition from `fromOffset` (embedded only). Below `low`
   * throws LKL_ERR_LOG_OFFSET_OUT_OF_RANGE; at `end` returns [].
   */
  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    this.assertOpen();
    const log = this.topic(topic).partition(partition);
    validateReadArgs(topic, partition, fromOffset, maxRecords);
    return log.read(fromOffset, maxRecords);
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    this.assertOpen();
    return this.topic(topic).offsets();
  }

  /** Offsets plus segment count and bytes on disk per partition (embedded only). */
  storage(topic: string): PartitionStorage[] {
    this.assertOpen();
    return this.topic(topic).partitions.map((p) => ({
      partition: p.partition,
      low: p.low,
      end: p.end,
      segments: p.segmentCount,
      bytes: p.sizeBytes,
    }));
  }

  /** Waits for pending appends and fsyncs every partition (embedded only). */
  async flush(): Promise<void> {
    this.assertOpen();
    await Promise.all(this.topics.all().map((t) => t.flush()));
  }

  // ---- consumer groups ----------------------------------------------------------------------

  async commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    this.assertOpen();
    validateGroup(group);
    const t = this.topic(topic);
    validateCommitOffsets(group, topic, offsets, (partition) => t.partition(partition));
    if (offsets.length === 0) return;
    await this.groups.commit(group, topic, offsets);
  }

  async committedOffsets(
    group: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: number | null }>> {
    this.assertOpen();
    const t = this.topic(topic);
    const committed = this.groups.get(group, topic);
    return t.partitions.map((p) => ({ partition: p.partition, offset: committed?.get(p.partition) ?? null }));
  }

  /** Groups with committed offsets or a running consumer. */
  async listGroups(): Promise<string[]> {
    this.assertOpen();
    const names = new Set(this.groups.groupNames());
    for (const c of this.consumers.all()) names.add(c.group);
    return [...names].sort();
  }

  /** Forgets a group's committed offsets. Unknown groups are a no-op; a group with a running consumer is refused. */
  async deleteGroup(group: string): Promise<void> {
    this.assertOpen();
    const active = this.consumers.all().find((c) => c.group === group);
    if (active) throw groupActiveError(group, active.topic);
    await this.groups.deleteGroup(group);
  }

  /** Lag per partition: end − committed, or end − low when the group has committed nothing there. */
  async lag(group: string, topic: string): Promise<GroupLag> {
    this.assertOpen();
    const t = this.topic(topic);
    const committed = this.groups.get(group, topic);
    const partitions = t.partitions.map((p) => {
      const c = committed?.get(p.partition) ?? null;
      const end = p.end;
      return { partition: p.partition, committed: c, end, lag: Math.max(0, end - (c ?? p.low)) };
    });
    return { group, topic, partitions, totalLag: partitions.reduce((a, p) => a + p.lag, 0) };
  }

  consumer(options: ConsumerOptions | EmbeddedConsumerOptions): EmbeddedLogConsumer & LogConsumer {
    this.assertOpen();
    const consumer = new EmbeddedLogConsumer(this, options);
    for (const [partition, offset] of Object.entries(options.startOffsets ?? {}))
      consumer.seek(Number(partition), offset);
    return consumer;
  }

  /** The partition's segment directory, read with `scanSegments` (any thread, read-only, no lock). */
  async localDiskBytes(): Promise<number> {
    return directoryBytes(this.logDir);
  }

  historySource(topic: string, partition: number): HistorySource {
    this.assertOpen();
    this.topic(topic).partition(partition); // throws for an unknown topic or partition
    return {
      format: 'embedded-segments',
      dir: join(this.logDir, topic, String(partition)),
      verifyChecksums: true,
      maxRecordBytes: EMBEDDED_LOG_DEFAULTS.maxRecordBytes,
    };
  }

  // ---- ConsumerHost ---------------------------------------------------------------------------

  partitionCount(topic: string): number {
    this.assertOpen();
    return this.topic(topic).partitions.length;
  }

  partitionLog(topic: string, partition: number): PartitionLog {
    this.assertOpen();
    return this.topic(topic).partition(partition);
  }

  committed(group: string, topic: string): ReadonlyMap<number, number> | undefined {
    return this.groups.get(group, topic);
  }

  registerConsumer(consumer: EmbeddedLogConsumer, partitions: readonly number[]): void {
    this.assertOpen();
    this.consumers.add(consumer, partitions);
  }

  unregisterConsumer(consumer: EmbeddedLogConsumer): void {
    this.consumers.delete(consumer);
  }

  // ---- retention, durability, lifecycle ------------------------------------------------------

  /** Applies retention now: drops whole sealed segments by age and size, raising `low`. */
  enforceRetention(): Promise<void> {
    this.assertOpen();
    return this.maintenance.enforceRetention();
  }

  /** Stops consumers (after their in-flight batch), flushes, fsyncs, closes files, releases the lock. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.maintenance.stopTimers();
      await Promise.all(this.consumers.all().map((c) => c.stop()));
      await this.topics.settleCreations();
      this.closed = true;
      await this.maintenance.settle();
      await Promise.all(this.topics.all().map((t) => t.close()));
      await this.groups.flush();
      await this.lock.release();
    })();
    return this.closing;
  }

  private topic(name: string): Topic {
    return this.topics.get(name);
  }

  private assertOpen(): void {
    if (this.closed) throw logClosedError(this.logDir);
  }
}
