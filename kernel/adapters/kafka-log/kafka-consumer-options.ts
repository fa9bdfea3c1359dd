/**
 * Options of the Kafka adapter's consumer: the caller's options and their checks, the fetch and
 * group settings the log hands its consumers, and the kafkajs consumer config built from them.
 */
import type { ConsumerConfig } from 'kafkajs';
import { LabError } from '../../errors/lab-error.js';
import type { ConsumerOptions } from '../../ports/event-log.js';
import { KAFKA_LOG_DEFAULTS, type KafkaRetrySettings } from './kafka-defaults.js';
import { toKafkaRetry } from './kafka-retry.js';
import { validateGroupName, validateTopicName } from './kafka-validation.js';

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

/** Checks the options (LKL_ERR_LOG_INVALID_ARGUMENT) and resolves the defaults. */
export function resolveConsumerOptions(opts: KafkaConsumerOptions): {
  maxBatchRecords: number;
  joinTimeoutMs: number;
} {
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
  const maxBatchRecords = opts.maxBatchRecords ?? KAFKA_LOG_DEFAULTS.maxBatchRecords;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) {
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
  const joinTimeoutMs = opts.joinTimeoutMs ?? KAFKA_LOG_DEFAULTS.joinTimeoutMs;
  if (!(joinTimeoutMs > 0)) bad('joinTimeoutMs', 'use a positive number of ms', opts.joinTimeoutMs);
  return { maxBatchRecords, joinTimeoutMs };
}

/** The kafkajs consumer config of a group member with these settings (it never creates topics). */
export function kafkajsConsumerConfig(groupId: string, s: KafkaConsumerSettings): ConsumerConfig {
  return {
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: s.sessionTimeoutMs,
    heartbeatInterval: s.heartbeatIntervalMs,
    maxBytesPerPartition: s.maxBytesPerPartition,
    maxBytes: s.maxBytes,
    minBytes: s.minBytes,
    maxWaitTimeInMs: s.maxWaitTimeInMs,
    retry: toKafkaRetry(s.retry),
  };
}

/** Checks a seek target: a non-negative offset of an existing partition (when the count is known). */
export function validateSeek(topic: string, partitions: number, partition: number, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Cannot seek to ${String(offset)}: use a non-negative integer offset.`,
      {
        details: { topic, partition, offset },
      },
    );
  }
  if (!Number.isInteger(partition) || partition < 0 || (partitions > 0 && partition >= partitions)) {
    throw new LabError(
      'LKL_ERR_LOG_PARTITION_UNKNOWN',
      `Topic ${topic} has no partition ${String(partition)}${partitions > 0 ? `; use 0 to ${partitions - 1}` : ''}.`,
      { details: { topic, partition, partitions } },
    );
  }
}
