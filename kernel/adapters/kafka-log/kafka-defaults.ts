/**
 * Defaults of the Kafka adapter, in one place, with their units. Retry windows are sized so a
 * broker that is down for about 30 s is survived by the producer (append waits, then succeeds)
 * and by consumers (they rejoin by themselves); admin calls fail fast so a dashboard shows
 * LKL_ERR_LOG_UNAVAILABLE within a few seconds.
 */
export interface KafkaRetrySettings {
  /** Attempts after the first one. */
  retries: number;
  /** First backoff (ms); each next one doubles (±20 % jitter) up to maxRetryTimeMs. */
  initialRetryTimeMs: number;
  /** Largest single backoff (ms). */
  maxRetryTimeMs: number;
}

export const KAFKA_LOG_DEFAULTS = Object.freeze({
  /** TCP connect timeout per broker connection (ms). */
  connectionTimeoutMs: 3_000,
  /** Time a request may wait for its response (ms). */
  requestTimeoutMs: 30_000,
  /** Producer: 300 → 600 → … → 10 000 ms backoffs, ≈ 39 s in all before append rejects. */
  producerRetry: Object.freeze({ retries: 8, initialRetryTimeMs: 300, maxRetryTimeMs: 10_000 }),
  /** Admin calls (topics, offsets, groups): ≈ 4 s before LKL_ERR_LOG_UNAVAILABLE. */
  adminRetry: Object.freeze({ retries: 4, initialRetryTimeMs: 250, maxRetryTimeMs: 2_000 }),
  /** Consumers: after these retries kafkajs restarts the consumer (again and again) while the broker is down. */
  consumerRetry: Object.freeze({ retries: 8, initialRetryTimeMs: 300, maxRetryTimeMs: 10_000 }),
  /** Records handed to one handler call (a fetched batch is split into chunks of this size). */
  maxBatchRecords: 5_000,
  /**
   * Bytes fetched per partition per fetch request. 2 MiB: kafkajs decodes a whole fetch
   * response at once, and 1–4 MiB per partition used ~10 % less CPU per event than 10 MiB
   * (fewer objects outlive a young-generation GC); see docs/kafka.md.
   */
  maxBytesPerPartition: 2 * 1024 * 1024,
  /** Bytes per fetch response. 16 MiB. */
  maxBytes: 16 * 1024 * 1024,
  /** The broker answers a fetch as soon as this many bytes are available. */
  minBytes: 1,
  /** Longest time the broker holds a fetch when no data is available (ms). */
  maxWaitTimeInMs: 200,
  /** A member that sends no heartbeat for this long is removed from its group (ms). */
  sessionTimeoutMs: 30_000,
  /** Heartbeat interval (ms); about a third of the session timeout or less. */
  heartbeatIntervalMs: 3_000,
  /** How long consumer.run() waits for the group join + assignment + first fetch (ms). */
  joinTimeoutMs: 30_000,
  /**
   * Largest produce request part for one partition (bytes, estimated from the record sizes);
   * bigger appends are sent in several requests. Below the broker's message.max.bytes (1 MiB).
   */
  maxRequestBytesPerPartition: 900 * 1024,
  /**
   * Most records in one produce request (soft limit). Unpatched kafkajs grouped a request's
   * records by partition in O(n²); with patches/kafkajs+2.2.4.patch the grouping is linear, and
   * 5 000 and 20 000 measured the same for appends of 10 000 (the per-partition byte limit
   * above splits most requests first).
   */
  maxRecordsPerRequest: 5_000,
  /** How long a topic's partition metadata is reused by append() (ms). */
  topicMetadataMaxAgeMs: 30_000,
  /** How long ensureTopic() waits for a created topic to show up, with leaders, in the metadata (ms). */
  topicVisibleWaitMs: 10_000,
  /** How long deleteTopic() waits for the topic to disappear from the metadata (ms). */
  deleteTopicWaitMs: 10_000,
});
