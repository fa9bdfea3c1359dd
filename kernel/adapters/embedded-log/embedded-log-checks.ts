/**
 * Argument checks of the embedded event log and the errors it raises about its own state
 * (closed, unknown topic, failed fsync, group in use).
 */
import { LabError } from '../../errors/lab-error.js';
import type { PartitionOffset } from '../../ports/event-log.js';

export function validateGroup(group: string): void {
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

export function validateAppendRecords(topic: string, records: unknown): void {
  if (!Array.isArray(records)) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `append(${topic}, records) needs an array of records.`,
      {
        details: { topic },
      },
    );
  }
}

export function validateReadArgs(
  topic: string,
  partition: number,
  fromOffset: number,
  maxRecords: number,
): void {
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
}

/** Checks offsets to commit; `checkPartition` throws for a partition the topic does not have. */
export function validateCommitOffsets(
  group: string,
  topic: string,
  offsets: PartitionOffset[],
  checkPartition: (partition: number) => void,
): void {
  if (!Array.isArray(offsets)) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      'commitOffsets needs an array of { partition, offset }.',
      {
        details: { group, topic },
      },
    );
  }
  for (const o of offsets) {
    checkPartition(o.partition);
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `Cannot commit offset ${String(o.offset)} for ${topic}/${o.partition}: commit the offset of the next record to consume (a non-negative integer).`,
        { details: { group, topic, partition: o.partition, offset: o.offset } },
      );
    }
  }
}

export function topicUnknownError(name: string): LabError {
  return new LabError(
    'LKL_ERR_LOG_TOPIC_UNKNOWN',
    `Topic ${String(name)} does not exist; create it with ensureTopic().`,
    {
      details: { topic: name },
    },
  );
}

export function logClosedError(logDir: string): LabError {
  return new LabError(
    'LKL_ERR_LOG_CLOSED',
    `The embedded log at ${logDir} is closed; open it again with openEmbeddedEventLog().`,
    {
      details: { dir: logDir },
    },
  );
}

export function storageFailedError(logDir: string, cause: unknown): LabError {
  return new LabError(
    'LKL_ERR_LOG_UNAVAILABLE',
    `The embedded log at ${logDir} could not fsync its files; check the disk, then close and reopen the log.`,
    {
      cause,
      retriable: false,
      details: { dir: logDir },
    },
  );
}

export function groupActiveError(group: string, topic: string): LabError {
  return new LabError(
    'LKL_ERR_LOG_GROUP_ACTIVE',
    `Group ${group} has a running consumer on ${topic}; stop it before deleting the group.`,
    {
      details: { group, topic },
    },
  );
}
