/**
 * The write path: one idempotent kafkajs producer per topic (acks = all, one request in flight
 * per broker), replaced by a fresh one after any failed send.
 *
 * Why per topic: a kafkajs client refreshes the metadata of every topic it ever wrote to, and
 * every refresh fails once one of them has been deleted (by any client) — one shared producer
 * would then fail every append, to every topic, until it is replaced.
 *
 * Why the replacement: an idempotent producer numbers its batches per partition. When kafkajs
 * gives up on a batch the broker may still have written it; the old producer would then reuse
 * that sequence number for the next, different batch and the broker would answer "duplicate"
 * with the offset of the old data — an acknowledged append that is not in the log. A new
 * producer gets a new producer id, so every acknowledged append is in the log exactly once.
 */
import type { Kafka, Message, PartitionMetadata, Producer, RecordMetadata } from 'kafkajs';
import type { AppendAck, AppendRecord } from '../../ports/event-log.js';
import { partitionForKey } from '../embedded-log/partitioner.js';
import { KAFKA_LOG_DEFAULTS, type KafkaRetrySettings } from './kafka-defaults.js';
import { toKafkaRetry } from './kafka-retry.js';

/** A partitioner as kafkajs creates it (Partitioners.DefaultPartitioner()). */
export type PartitionerFn = (args: {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}) => number;

interface ProducerSlot {
  topic: string;
  producer: Producer;
  connected: Promise<void>;
  inflight: number;
  retired: boolean;
}

export interface AppenderOptions {
  retry: KafkaRetrySettings;
  maxRequestBytesPerPartition?: number;
  maxRecordsPerRequest?: number;
  /** Called when a failed send (or the topic's deletion) retires a topic's producer. */
  onReset?: (topic: string, reason: unknown) => void;
}

/** Thrown by send() when a later request of a multi-request append failed; `acked` were written. */
export class PartialAppendError extends Error {
  constructor(
    readonly acked: AppendAck[],
    readonly failure: unknown,
  ) {
    super('append partly written', { cause: failure });
  }
}

export class KafkaAppender {
  private readonly slots = new Map<string, ProducerSlot>();
  private closed = false;
  readonly maxRequestBytesPerPartition: number;
  readonly maxRecordsPerRequest: number;

  constructor(
    private readonly kafka: Kafka,
    private readonly createPartitioner: () => PartitionerFn,
    private readonly options: AppenderOptions,
  ) {
    this.maxRequestBytesPerPartition =
      options.maxRequestBytesPerPartition ?? KAFKA_LOG_DEFAULTS.maxRequestBytesPerPartition;
    this.maxRecordsPerRequest = options.maxRecordsPerRequest ?? KAFKA_LOG_DEFAULTS.maxRecordsPerRequest;
  }

  private partitioner: PartitionerFn | undefined;

  /**
   * Partition of each record: explicit, else murmur2 of the key (Java-compatible), else
   * round-robin. Keys are hashed by partitionForKey() — the same murmur2 as kafkajs's default
   * partitioner, in 32-bit integer arithmetic instead of its BigInt-backed Long (about a fifth
   * of the appending thread's CPU at 100 K records/s), with recent keys' hashes cached.
   */
  assignPartitions(
    topic: string,
    records: readonly AppendRecord[],
    partitionMetadata: PartitionMetadata[],
  ): number[] {
    const count = partitionMetadata.length;
    const out = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.partition != null) out[i] = r.partition;
      else if (r.key != null) out[i] = partitionForKey(r.key, count);
      else {
        this.partitioner ??= this.createPartitioner();
        out[i] = this.partitioner({ topic, partitionMetadata, message: { key: null, value: r.value } });
      }
    }
    return out;
  }

  /**
   * Sends the records (already validated and assigned) in as few produce requests as the
   * per-partition size limit allows — one for ordinary appends. Returns one ack per partition
   * (sorted), or several for one partition when another producer wrote between two requests.
   */
  async send(
    topic: string,
    records: readonly AppendRecord[],
    partitions: readonly number[],
    now: number,
  ): Promise<AppendAck[]> {
    const requests = planRequests(records, partitions, now, {
      maxBytesPerPartition: this.maxRequestBytesPerPartition,
      maxRecords: this.maxRecordsPerRequest,
    });
    const acks: AppendAck[] = [];
    for (const { messages, counts } of requests) {
      let meta: RecordMetadata[];
      try {
        meta = await this.sendOnce(topic, messages);
      } catch (err) {
        if (acks.length > 0) throw new PartialAppendError(mergeAcks(acks), err);
        throw err;
      }
      for (const m of meta) {
        const base = m.baseOffset ?? m.offset;
        const count = counts.get(m.partition) ?? 0;
        if (count === 0) continue;
        acks.push({ partition: m.partition, baseOffset: Number(base), count });
      }
    }
    return mergeAcks(acks);
  }

  private async sendOnce(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    const slot = this.current(topic);
    slot.inflight++;
    try {
      await slot.connected;
      return await slot.producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
    } catch (err) {
      this.retire(slot, err);
      throw err;
    } finally {
      slot.inflight--;
      if (slot.retired && slot.inflight === 0) void slot.producer.disconnect().catch(() => undefined);
    }
  }

  private current(topic: string): ProducerSlot {
    const existing = this.slots.get(topic);
    if (existing && !existing.retired) return existing;
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: toKafkaRetry(this.options.retry),
      createPartitioner: this.createPartitioner,
    });
    const slot: ProducerSlot = {
      topic,
      producer,
      connected: producer.connect(),
      inflight: 0,
      retired: false,
    };
    slot.connected.catch((err) => this.retire(slot, err));
    this.slots.set(topic, slot);
    return slot;
  }

  private retire(slot: ProducerSlot, reason: unknown): void {
    if (slot.retired) return;
    slot.retired = true;
    if (this.slots.get(slot.topic) === slot) this.slots.delete(slot.topic);
    if (slot.inflight === 0) void slot.producer.disconnect().catch(() => undefined);
    if (!this.closed) this.options.onReset?.(slot.topic, reason);
  }

  /** The topic was deleted: its producer is closed (a recreated topic gets a new one). */
  forgetTopic(topic: string): void {
    const slot = this.slots.get(topic);
    if (slot) this.retire(slot, new Error(`topic ${topic} was deleted`));
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(
      slots.map(async (slot) => {
        slot.retired = true;
        await slot.connected.catch(() => undefined);
        await slot.producer.disconnect().catch(() => undefined);
      }),
    );
  }
}

export interface ProduceRequestPlan {
  messages: Message[];
  /** Records per partition in this request. */
  counts: Map<number, number>;
}

/**
 * Splits an append into produce requests, in order: a new request starts for a partition when
 * its share of the current one would exceed `maxBytesPerPartition` (the broker refuses a record
 * batch above message.max.bytes), and for all partitions once a request holds `maxRecords`.
 * A partition's records keep their order across requests, which are sent one after another.
 */
export function planRequests(
  records: readonly AppendRecord[],
  partitions: readonly number[],
  now: number,
  limits: { maxBytesPerPartition: number; maxRecords: number },
): ProduceRequestPlan[] {
  const requests: ProduceRequestPlan[] = [];
  /** Per partition: index of the request it currently fills and that request's bytes for it. */
  const fill = new Map<number, { request: number; bytes: number }>();
  /** Requests before this one are full (maxRecords). */
  let floor = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const p = partitions[i]!;
    if ((requests[floor]?.messages.length ?? 0) >= limits.maxRecords) floor++;
    // Record size: key and value bytes plus ≈ 20 bytes of record header.
    const bytes = Buffer.byteLength(r.value) + (r.key ? Buffer.byteLength(r.key) : 0) + 20;
    let f = fill.get(p);
    if (!f) {
      f = { request: floor, bytes: 0 };
      fill.set(p, f);
    } else if (f.request < floor) {
      f.request = floor;
      f.bytes = 0;
    } else if (f.bytes + bytes > limits.maxBytesPerPartition && f.bytes > 0) {
      f.request++;
      f.bytes = 0;
    }
    f.bytes += bytes;
    const req = (requests[f.request] ??= { messages: [], counts: new Map() });
    req.messages.push({
      key: r.key ?? null,
      value: r.value,
      partition: p,
      timestamp: String(r.timestamp ?? now),
    });
    req.counts.set(p, (req.counts.get(p) ?? 0) + 1);
  }
  return requests;
}

/** Merges acks of one partition whose offsets are contiguous; sorts by partition. */
export function mergeAcks(acks: readonly AppendAck[]): AppendAck[] {
  const sorted = [...acks].sort((a, b) => a.partition - b.partition || a.baseOffset - b.baseOffset);
  const out: AppendAck[] = [];
  for (const a of sorted) {
    const last = out[out.length - 1];
    if (last && last.partition === a.partition && last.baseOffset + last.count === a.baseOffset) {
      last.count += a.count;
    } else {
      out.push({ ...a });
    }
  }
  return out;
}
