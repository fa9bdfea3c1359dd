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
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
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
import { fsyncDir } from './atomic-file.js';
import { EMBEDDED_LOG_DEFAULTS } from './defaults.js';
import { EmbeddedLogConsumer, type ConsumerHost, type EmbeddedConsumerOptions } from './embedded-consumer.js';
import { GroupOffsetStore } from './group-offsets.js';
import {
  EMBEDDED_LOG_EVENTS,
  LogInstrumentation,
  type EmbeddedLogEventName,
  type EmbeddedLogEventPayloads,
  type TailTruncation,
} from './instrumentation.js';
import { DataDirLock } from './lock-file.js';
import { ChunkCache } from './read-cache.js';
import type { PartitionLog } from './partition-log.js';
import { Topic, type TopicOpenOptions } from './topic.js';
import { normalizeTopicSpec, validateTopicName } from './topic-metadata.js';

export interface EmbeddedEventLogOptions {
  /** The lab's data directory; the log lives in `<dataDir>/log/`. */
  dataDir: string;
  clock: Clock;
  /** fsync interval (ms); 0 = fsync every append before acknowledging it. Default 200. */
  fsyncIntervalMs?: number;
  /** Background retention interval (ms). Default 30 000. */
  retentionCheckIntervalMs?: number;
  /** Size of one read from a segment file (bytes). Default 1 MiB. */
  readChunkBytes?: number;
  /**
   * Check CRCs on every read. Default false: a record's CRC is checked the first time it is read
   * from a segment this process did not write (and for the whole last segment on open).
   */
  verifyChecksumsOnEveryRead?: boolean;
  /** Check the CRC of every record of every segment on open (slower recovery). Default false. */
  verifyAllSegmentsOnOpen?: boolean;
}

export interface RecoveryReport {
  topics: number;
  partitions: number;
  segmentsScanned: number;
  bytesScanned: number;
  /** Torn tails cut off while opening. */
  truncations: TailTruncation[];
}

export interface PartitionStorage extends PartitionOffsets {
  segments: number;
  bytes: number;
}

export async function openEmbeddedEventLog(opts: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  return EmbeddedEventLog.open(opts);
}

export class EmbeddedEventLog implements EventLog, ConsumerHost {
  readonly kind = 'embedded' as const;
  /** Partitions are assigned by the caller; the log lives in this process (its directory is locked). */
  readonly capabilities: EventLogCapabilities = { selfAssignment: true, shared: false };
  readonly instrumentation = new LogInstrumentation();
  private readonly cache = new ChunkCache(EMBEDDED_LOG_DEFAULTS.readCacheBytes);
  private readonly topics = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<void>>();
  private readonly consumers = new Set<EmbeddedLogConsumer>();
  private readonly consumerPartitions = new Map<EmbeddedLogConsumer, readonly number[]>();
  private readonly timers: NodeJS.Timeout[] = [];
  private retentionRun: Promise<void> | undefined;
  private syncRun: Promise<void> | undefined;
  private storageFailure: unknown;
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
    private readonly topicOptions: TopicOpenOptions,
  ) {}

  static async open(opts: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
    const fsyncIntervalMs = nonNegativeInteger(
      'fsyncIntervalMs',
      opts.fsyncIntervalMs ?? EMBEDDED_LOG_DEFAULTS.fsyncIntervalMs,
    );
    const retentionMs = nonNegativeInteger(
      'retentionCheckIntervalMs',
      opts.retentionCheckIntervalMs ?? EMBEDDED_LOG_DEFAULTS.retentionCheckIntervalMs,
    );
    const readChunkBytes = nonNegativeInteger(
      'readChunkBytes',
      opts.readChunkBytes ?? EMBEDDED_LOG_DEFAULTS.readChunkBytes,
    );
    if (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        'openEmbeddedEventLog needs a dataDir (a directory path).',
        { details: { field: 'dataDir' } },
      );
    }
    const logDir = join(opts.dataDir, 'log');
    await mkdir(logDir, { recursive: true });
    const lock = await DataDirLock.acquire(join(logDir, '.lock'));
    const log = new EmbeddedEventLog(opts.dataDir, logDir, opts.clock, lock, {
      indexIntervalBytes: EMBEDDED_LOG_DEFAULTS.indexIntervalBytes,
      readChunkBytes: Math.max(64 * 1024, readChunkBytes),
      maxRecordBytes: EMBEDDED_LOG_DEFAULTS.maxRecordBytes,
      maxScratchBytes: EMBEDDED_LOG_DEFAULTS.maxScratchBytes,
      fsyncEveryAppend: fsyncIntervalMs === 0,
      verifyChecksumsOnEveryRead: opts.verifyChecksumsOnEveryRead ?? false,
      verifyAllSegmentsOnOpen: opts.verifyAllSegmentsOnOpen ?? false,
    });
    try {
      await log.load();
    } catch (err) {
      await Promise.all([...log.topics.values()].map((t) => t.close().catch(() => undefined)));
      await lock.release();
      throw err;
    }
    if (fsyncIntervalMs > 0) log.startTimer(fsyncIntervalMs, () => log.backgroundSync());
    if (retentionMs > 0) log.startTimer(retentionMs, () => log.backgroundRetention());
    return log;
  }

  /** Removes leftovers of interrupted operations, loads group offsets and opens every topic. */
  private async load(): Promise<void> {
    const entries = await readdir(this.logDir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name === '.trash' || e.name.startsWith('.creating-') || e.name.includes('.tmp-')) {
        await rm(join(this.logDir, e.name), { recursive: true, force: true });
      }
    }
    this.groups = await GroupOffsetStore.load(join(this.logDir, '.groups'));
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const topic = await Topic.open(
        join(this.logDir, e.name),
        e.name,
        this.instrumentation,
        this.cache,
        this.topicOptions,
        this.recovery,
      );
      this.topics.set(e.name, topic);
      this.recovery.topics++;
      this.recovery.partitions += topic.partitions.length;
    }
  }

  private startTimer(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    this.timers.push(timer);
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
    if (this.topics.has(topic)) return;
    const pending = this.creating.get(topic);
    if (pending) return pending;
    const creation = (async () => {
      const dir = await Topic.create(this.logDir, meta, this.topicOptions.indexIntervalBytes);
      const opened = await Topic.open(dir, topic, this.instrumentation, this.cache, this.topicOptions, {
        segmentsScanned: 0,
        bytesScanned: 0,
        truncations: [],
      });
      this.topics.set(topic, opened);
    })().finally(() => this.creating.delete(topic));
    this.creating.set(topic, creation);
    return creation;
  }

  /** Deletes the topic, its files and its committed offsets. Running consumers of it stop with LKL_ERR_LOG_TOPIC_UNKNOWN. */
  async deleteTopic(topic: string): Promise<void> {
    this.assertOpen();
    const t = this.topic(topic);
    this.topics.delete(topic);
    await t.close();
    const trash = join(this.logDir, '.trash');
    await mkdir(trash, { recursive: true });
    const doomed = join(trash, `${topic}-${randomUUID().slice(0, 8)}`);
    await rename(t.dir, doomed);
    await fsyncDir(this.logDir);
    await rm(doomed, { recursive: true, force: true });
    await this.groups.dropTopic(topic);
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.assertOpen();
    return [...this.topics.values()]
      .map((t) => t.describe())
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- records ------------------------------------------------------------------------------

  async append(topic: string, records: AppendRecord[]): Promise<AppendAck[]> {
    this.assertOpen();
    if (this.storageFailure !== undefined) {
      throw new LabError(
        'LKL_ERR_LOG_UNAVAILABLE',
        `The embedded log at ${this.logDir} could not fsync its files; check the disk, then close and reopen the log.`,
        {
          cause: this.storageFailure,
          retriable: false,
          details: { dir: this.logDir },
        },
      );
    }
    const t = this.topic(topic);
    if (!Array.isArray(records)) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `append(${topic}, records) needs an array of records.`,
        { details: { topic } },
      );
    }
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
    if (!Number.isSafeInteger(fromOffset)) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Cannot read from offset ${String(fromOffset)}: use an integer offset.`,
        {
          details: { topic, partition, offset: fromOffset },
        },
      );
    }
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `maxRecords must be a positive integer, not ${String(maxRecords)}.`,
        {
          details: { topic, partition, maxRecords },
        },
      );
    }
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
    await Promise.all([...this.topics.values()].map((t) => t.flush()));
  }

  // ---- consumer groups ----------------------------------------------------------------------

  async commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void> {
    this.assertOpen();
    validateGroup(group);
    const t = this.topic(topic);
    if (!Array.isArray(offsets)) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        'commitOffsets needs an array of { partition, offset }.',
        { details: { group, topic } },
      );
    }
    for (const o of offsets) {
      t.partition(o.partition);
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new LabError(
          'LKL_ERR_LOG_INVALID_ARGUMENT',
          `Cannot commit offset ${String(o.offset)} for ${topic}/${o.partition}: commit the offset of the next record to consume (a non-negative integer).`,
          { details: { group, topic, partition: o.partition, offset: o.offset } },
        );
      }
    }
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
    for (const c of this.consumers) names.add(c.group);
    return [...names].sort();
  }

  /** Forgets a group's committed offsets. Unknown groups are a no-op; a group with a running consumer is refused. */
  async deleteGroup(group: string): Promise<void> {
    this.assertOpen();
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
    for (const [other, owned] of this.consumerPartitions) {
      if (other.group !== consumer.group || other.topic !== consumer.topic) continue;
      const overlap = partitions.filter((p) => owned.includes(p));
      if (overlap.length > 0) {
        throw new LabError(
          'LKL_ERR_LOG_GROUP_ACTIVE',
          `Partitions ${overlap.join(', ')} of ${consumer.topic} are already consumed by a running consumer of group ${consumer.group}; stop it first or give each consumer disjoint \`partitions\`.`,
          { details: { group: consumer.group, topic: consumer.topic, partitions: overlap } },
        );
      }
    }
    this.consumers.add(consumer);
    this.consumerPartitions.set(consumer, partitions);
  }

  unregisterConsumer(consumer: EmbeddedLogConsumer): void {
    this.consumers.delete(consumer);
    this.consumerPartitions.delete(consumer);
  }

  // ---- retention, durability, lifecycle ------------------------------------------------------

  /** Applies retention now: drops whole sealed segments by age and size, raising `low`. */
  enforceRetention(): Promise<void> {
    this.assertOpen();
    if (this.retentionRun) return this.retentionRun;
    const run = this.applyRetention().finally(() => {
      if (this.retentionRun === run) this.retentionRun = undefined;
    });
    this.retentionRun = run;
    return run;
  }

  private async applyRetention(): Promise<void> {
    const now = this.clock.now();
    for (const t of [...this.topics.values()]) {
      const spec = { retentionMs: t.meta.retentionMs, retentionBytes: t.meta.retentionBytes };
      if (spec.retentionMs === undefined && spec.retentionBytes === undefined) continue;
      for (const p of t.partitions) await p.enforceRetention(now, spec);
    }
  }

  private async backgroundRetention(): Promise<void> {
    if (this.closed || this.closing) return;
    try {
      await this.enforceRetention();
    } catch (error) {
      this.instrumentation.emit(EMBEDDED_LOG_EVENTS.BACKGROUND_ERROR, { task: 'retention', error });
    }
  }

  private async backgroundSync(): Promise<void> {
    if (this.closed || this.syncRun) return;
    const run = this.syncDirty().finally(() => {
      if (this.syncRun === run) this.syncRun = undefined;
    });
    this.syncRun = run;
    await run;
  }

  private async syncDirty(): Promise<void> {
    try {
      await Promise.all([...this.topics.values()].map((t) => t.syncIfDirty()));
    } catch (error) {
      if (this.closed) return;
      this.storageFailure = error;
      this.instrumentation.emit(EMBEDDED_LOG_EVENTS.BACKGROUND_ERROR, { task: 'fsync', error });
    }
  }

  /** Stops consumers (after their in-flight batch), flushes, fsyncs, closes files, releases the lock. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      await Promise.all([...this.consumers].map((c) => c.stop()));
      await Promise.allSettled(this.creating.values());
      this.closed = true;
      await this.retentionRun?.catch(() => undefined);
      await this.syncRun;
      await Promise.all([...this.topics.values()].map((t) => t.close()));
      await this.groups.flush();
      await this.lock.release();
    })();
    return this.closing;
  }

  private topic(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) {
      throw new LabError(
        'LKL_ERR_LOG_TOPIC_UNKNOWN',
        `Topic ${String(name)} does not exist; create it with ensureTopic().`,
        {
          details: { topic: name },
        },
      );
    }
    return t;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new LabError(
        'LKL_ERR_LOG_CLOSED',
        `The embedded log at ${this.logDir} is closed; open it again with openEmbeddedEventLog().`,
        {
          details: { dir: this.logDir },
        },
      );
    }
  }
}

function nonNegativeInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Invalid ${field} ${String(value)}: use a non-negative integer.`,
      {
        details: { field, value },
      },
    );
  }
  return value;
}

function validateGroup(group: string): void {
  if (typeof group !== 'string' || group.length === 0 || group.length > 1000) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Invalid group name ${JSON.stringify(group)}: use a non-empty string of at most 1000 characters.`,
      {
        details: { group },
      },
    );
  }
}
