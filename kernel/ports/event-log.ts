/**
 * Event-log port: a durable, replayable, partitioned log in domain terms (topics, partitions,
 * offsets, consumer groups). Adapters: the embedded file-backed log (kernel/adapters/embedded-log)
 * and Kafka via kafkajs (kernel/adapters/kafka-log). One contract suite
 * (kernel/ports/contracts/event-log.contract.ts) runs against both.
 *
 * Offsets follow Kafka's conventions: the first record of a partition has offset 0; `end` is the
 * offset the next appended record will get (Kafka's high watermark / log-end offset); `low` is the
 * first offset still retained. A committed offset is the offset of the next record to consume.
 */

export interface TopicSpec {
  partitions: number;
  /** Retention by age in ms; whole segments older than this are dropped. Undefined = keep forever. */
  retentionMs?: number;
  /** Retention by size in bytes per partition; oldest whole segments are dropped. Undefined = no limit. */
  retentionBytes?: number;
  /** Target segment size in bytes (embedded) / segment.bytes (Kafka). */
  segmentBytes?: number;
}

export interface TopicDescription {
  name: string;
  partitions: number;
  retentionMs: number | undefined;
  retentionBytes: number | undefined;
}

export interface AppendRecord {
  /** Used to choose the partition (hash) when `partition` is not given. */
  key?: string;
  value: string;
  /** Producer timestamp in ms; defaults to the log's clock. */
  timestamp?: number;
  partition?: number;
}

export interface AppendAck {
  partition: number;
  /** Offset of the first record of this append in that partition. */
  baseOffset: number;
  count: number;
}

export interface LogRecord {
  offset: number;
  timestamp: number;
  key: string | undefined;
  value: string;
}

export interface PartitionOffsets {
  partition: number;
  /** First retained offset (raised by retention). */
  low: number;
  /** Offset the next record will get. */
  end: number;
}

export interface PartitionOffset {
  partition: number;
  offset: number;
}

export interface GroupLag {
  group: string;
  topic: string;
  partitions: Array<{ partition: number; committed: number | null; end: number; lag: number }>;
  totalLag: number;
}

export interface RecordBatch {
  topic: string;
  partition: number;
  records: LogRecord[];
  /** End offset of the partition when the batch was fetched. */
  highWatermark: number;
}

export type ConsumerStart = 'earliest' | 'latest';

export interface ConsumerOptions {
  group: string;
  topic: string;
  /** Where a group with no committed offset starts. Default 'earliest'. */
  start?: ConsumerStart;
  /** Max records handed to one eachBatch call. */
  maxBatchRecords?: number;
  /**
   * Restrict to these partitions. Only where `capabilities.selfAssignment` is true (embedded);
   * elsewhere the group protocol assigns them and the adapter rejects the option (Kafka).
   */
  partitions?: number[];
  /**
   * Where partitions start, overriding the group's committed offsets (partition → next offset).
   * Honoured where `capabilities.selfAssignment` is true; ignored with the group protocol (a
   * position given before the assignment could land on another member: the caller checks the
   * first batch instead).
   */
  startOffsets?: Readonly<Record<number, number>>;
  /**
   * Called once when the consumer stops because the handler (or a read) failed; it does not
   * restart itself. Without it the error is reported by the adapter (an instrumentation event, or
   * else a process warning).
   */
  onError?: (error: unknown) => void;
  /** Batches handed to the handler at the same time, across partitions (≥ 1). Default: the adapter's. */
  partitionsConsumedConcurrently?: number;
}

/** What a log can do beyond the common contract; callers branch on these, not on the adapter. */
export interface EventLogCapabilities {
  /** Consumers can be given their partitions and start offsets (ConsumerOptions.partitions, startOffsets). */
  selfAssignment: boolean;
  /**
   * Other processes and threads can open the same log and join its groups (a server). False for a
   * log that lives in this process (its data directory is locked by it).
   */
  shared: boolean;
}

/**
 * Where a partition's retained history can be read directly by any thread of this process,
 * bypassing consumers (bulk replays). Serializable: it can be posted to a worker thread. The
 * adapter that returns it exports the matching reader (the embedded log: `scanSegments`).
 */
export interface HistorySource {
  format: 'embedded-segments';
  /** The partition's segment directory. */
  dir: string;
  /** Check every record's CRC while reading. */
  verifyChecksums: boolean;
  /** Largest record the log accepts (bytes): a frame claiming more is corruption. */
  maxRecordBytes: number;
}

export interface LogConsumer {
  /**
   * Starts delivering batches; resolves once the consumer is running. Batches of one partition
   * are delivered in offset order, one at a time. Offsets are never committed automatically:
   * call commit() when the batch's effects are durable.
   */
  run(handler: (batch: RecordBatch) => Promise<void>): Promise<void>;
  /** Next delivery from this partition starts at `offset`. */
  seek(partition: number, offset: number): void;
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** Partitions this consumer currently owns. */
  assignment(): number[];
  stop(): Promise<void>;
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  readonly capabilities: EventLogCapabilities;
  /** Creates the topic if it does not exist (an existing topic keeps its partitions). */
  ensureTopic(topic: string, spec: TopicSpec): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  listTopics(): Promise<TopicDescription[]>;
  append(topic: string, records: AppendRecord[]): Promise<AppendAck[]>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  commitOffsets(group: string, topic: string, offsets: PartitionOffset[]): Promise<void>;
  /** Committed offset per partition; null where the group has committed nothing. */
  committedOffsets(
    group: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: number | null }>>;
  listGroups(): Promise<string[]>;
  deleteGroup(group: string): Promise<void>;
  lag(group: string, topic: string): Promise<GroupLag>;
  consumer(options: ConsumerOptions): LogConsumer;
  /**
   * Optional: where a partition's history can be read directly (see HistorySource). Records below
   * the partition's end offset at the time of the call are complete there; retention may still
   * remove old segments. Undefined where the log has no such access (Kafka).
   */
  historySource?(topic: string, partition: number): HistorySource;
  /**
   * Optional: bytes the log keeps on this machine's disk, where it lives in this process (the
   * embedded log's segment files and metadata). Undefined for a server log: its disk is the
   * broker's.
   */
  localDiskBytes?(): Promise<number>;
  /** Applies retention now (the embedded log also does this on a timer). */
  enforceRetention?(): Promise<void>;
  close(): Promise<void>;
}
