/**
 * Argument checks of the Kafka adapter, done before any request so a mistake gets
 * LKL_ERR_LOG_INVALID_ARGUMENT at once instead of a broker error after retries.
 */
import { LabError } from '../../errors/lab-error.js';
import type { AppendRecord, PartitionOffset, TopicSpec } from '../../ports/event-log.js';

/** Kafka's rule: 1–249 characters from A-Z a-z 0-9 . _ -, and not "." or "..". */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** Kafka's own limit on partitions is far higher; this keeps a typo from creating 10^6 partitions. */
export const MAX_PARTITIONS = 1024;

function invalid(message: string, details: Record<string, unknown>): never {
  throw new LabError('LKL_ERR_LOG_INVALID_ARGUMENT', message, { details });
}

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    invalid(
      `Invalid topic name ${JSON.stringify(name)}: use 1 to 249 characters from A-Z a-z 0-9 . _ - (not "." or "..").`,
      { topic: name },
    );
  }
}

export function validateGroupName(group: unknown): asserts group is string {
  if (typeof group !== 'string' || group.length === 0 || group.length > 1000) {
    invalid(
      `Invalid group name ${JSON.stringify(group)}: use a non-empty string of at most 1000 characters.`,
      {
        group,
      },
    );
  }
}

export function validateTopicSpec(topic: string, spec: TopicSpec): void {
  const bad = (field: string, rule: string, value: unknown): never =>
    invalid(`Invalid ${field} ${JSON.stringify(value)} for topic ${topic}: ${rule}.`, {
      topic,
      field,
      value,
    });
  if (spec === null || typeof spec !== 'object')
    bad('spec', 'pass { partitions, retentionMs?, retentionBytes?, segmentBytes? }', spec);
  const { partitions, retentionMs, retentionBytes, segmentBytes } = spec;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    bad('partitions', `use an integer from 1 to ${MAX_PARTITIONS}`, partitions);
  }
  if (retentionMs !== undefined && (!Number.isSafeInteger(retentionMs) || retentionMs <= 0)) {
    bad(
      'retentionMs',
      'use a positive integer number of ms, or leave it undefined to keep records forever',
      retentionMs,
    );
  }
  if (retentionBytes !== undefined && (!Number.isSafeInteger(retentionBytes) || retentionBytes <= 0)) {
    bad(
      'retentionBytes',
      'use a positive integer number of bytes, or leave it undefined for no size limit',
      retentionBytes,
    );
  }
  // Kafka's segment.bytes must be at least 14 bytes and fit an int32.
  if (
    segmentBytes !== undefined &&
    (!Number.isInteger(segmentBytes) || segmentBytes < 14 || segmentBytes > 2 ** 31 - 1)
  ) {
    bad('segmentBytes', 'use an integer number of bytes from 14 to 2147483647', segmentBytes);
  }
}

/** Checks every record first: nothing is sent when one is invalid. */
export function validateRecords(topic: string, records: readonly AppendRecord[], partitions: number): void {
  if (!Array.isArray(records)) invalid(`append(${topic}, records) needs an array of records.`, { topic });
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const bad = (why: string): never =>
      invalid(`Record ${i} appended to ${topic} is invalid: ${why}. Nothing was appended.`, {
        topic,
        index: i,
      });
    if (r === null || typeof r !== 'object') bad('not an object');
    if (typeof r.value !== 'string') bad('value must be a string');
    if (r.key != null && typeof r.key !== 'string') bad('key must be a string or undefined');
    if (r.timestamp !== undefined && (!Number.isSafeInteger(r.timestamp) || r.timestamp < 0)) {
      bad('timestamp must be a non-negative integer number of ms');
    }
    if (
      r.partition !== undefined &&
      (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= partitions)
    ) {
      throw new LabError(
        'LKL_ERR_LOG_PARTITION_UNKNOWN',
        `Topic ${topic} has no partition ${String(r.partition)}; use 0 to ${partitions - 1}. Nothing was appended.`,
        { details: { topic, partition: r.partition, partitions, index: i } },
      );
    }
  }
}

export function validateOffsets(
  topic: string,
  offsets: readonly PartitionOffset[],
  partitions: number,
): void {
  if (!Array.isArray(offsets)) invalid('commitOffsets needs an array of { partition, offset }.', { topic });
  for (const o of offsets) {
    if (!Number.isInteger(o?.partition) || o.partition < 0 || o.partition >= partitions) {
      throw new LabError(
        'LKL_ERR_LOG_PARTITION_UNKNOWN',
        `Topic ${topic} has no partition ${String(o?.partition)}; use 0 to ${partitions - 1}.`,
        { details: { topic, partition: o?.partition, partitions } },
      );
    }
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      invalid(
        `Cannot commit offset ${String(o.offset)} for ${topic}/${o.partition}: commit the offset of the next record to consume (a non-negative integer).`,
        { topic, partition: o.partition, offset: o.offset },
      );
    }
  }
}
