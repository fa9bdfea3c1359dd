/**
 * The Kafka adapter's admin side: one kafkajs admin client (replaced when a topic deleted by
 * another client poisons its metadata refresh), the cached partition metadata of topics, and
 * the lookups built on it (for any call, for append() while the broker restarts, existence).
 */
import type { Admin, Kafka, PartitionMetadata } from 'kafkajs';
import { isLabError, type LabError } from '../../errors/lab-error.js';
import { KAFKA_LOG_DEFAULTS, type KafkaRetrySettings } from './kafka-defaults.js';
import { kafkaErrorType, toLabError } from './kafka-errors.js';
import { toKafkaRetry } from './kafka-retry.js';

interface TopicMeta {
  partitions: PartitionMetadata[];
  fetchedAt: number;
}

export class KafkaAdmin {
  private admin: Admin;
  private adminReplacement: Promise<void> | undefined;
  private readonly topicMeta = new Map<string, TopicMeta>();

  constructor(
    private readonly adminKafka: Kafka,
    private readonly adminRetry: KafkaRetrySettings,
    private readonly brokers: readonly string[],
    /** True once the log is closed: no admin client is replaced and no lookup is retried then. */
    private readonly isClosed: () => boolean,
  ) {
    this.admin = adminKafka.admin({ retry: toKafkaRetry(adminRetry) });
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  /** Disconnects the current admin client; never rejects. */
  async disconnect(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Drops the cached metadata of a topic. */
  forget(topic: string): void {
    this.topicMeta.delete(topic);
  }

  error(err: unknown, what: string, ctx: { topic?: string; group?: string } = {}): LabError {
    return toLabError(err, { what, brokers: this.brokers, ...ctx });
  }

  /** Partition metadata of a topic, cached for topicMetadataMaxAgeMs; LKL_ERR_LOG_TOPIC_UNKNOWN when it does not exist. */
  async partitionMetadata(topic: string, fresh = false): Promise<PartitionMetadata[]> {
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
   * used, or the lookup is retried for as long as the producer itself would retry
   * (`retryWindowMs`) — so an append rides out a broker restart instead of failing on the lookup.
   */
  async partitionMetadataForAppend(topic: string, retryWindowMs: number): Promise<PartitionMetadata[]> {
    const started = performance.now();
    for (;;) {
      try {
        return await this.partitionMetadata(topic);
      } catch (err) {
        if (!isLabError(err) || err.code !== 'LKL_ERR_LOG_UNAVAILABLE') throw err;
        const stale = this.topicMeta.get(topic);
        if (stale) return stale.partitions;
        if (performance.now() - started > retryWindowMs || this.isClosed()) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  async topicExists(topic: string): Promise<boolean> {
    try {
      await this.partitionMetadata(topic, true);
      return true;
    } catch (err) {
      if (isLabError(err) && err.code === 'LKL_ERR_LOG_TOPIC_UNKNOWN') return false;
      throw err;
    }
  }

  /**
   * Runs an admin call. kafkajs's admin keeps refreshing the metadata of every topic it has
   * looked up, and fails with UNKNOWN_TOPIC_OR_PARTITION once one of them is deleted (by
   * another client). Then — unless `topic`, the call's own topic, is the missing one — the
   * admin client is replaced by a fresh one and the call is made once more.
   */
  async withAdmin<T>(call: (admin: Admin) => Promise<T>, topic?: string): Promise<T> {
    try {
      return await call(this.admin);
    } catch (err) {
      if (kafkaErrorType(err) !== 'UNKNOWN_TOPIC_OR_PARTITION' || this.isClosed()) throw err;
      if (topic !== undefined && !(await this.topicExistsNow(topic))) throw err;
      await this.replaceAdmin();
      return call(this.admin);
    }
  }

  /**
   * The topic's low and high offsets per partition. kafkajs's fetchTopicOffsets sometimes throws
   * "Cannot destructure property 'partitions' of 'low.pop(...)'" when the broker's ListOffsets
   * answer lacks the topic for a moment (concurrent calls, a topic just created; kafkajs issue
   * 461, open); the offsets are there milliseconds later, so it is asked up to 4 times.
   */
  async topicOffsets(topic: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withAdmin((admin) => admin.fetchTopicOffsets(topic), topic);
      } catch (err) {
        const transient = err instanceof TypeError && /partitions/.test(err.message);
        if (!transient || attempt >= 4) throw err;
        await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      }
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
}
