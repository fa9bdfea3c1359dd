/**
 * Topic metadata (partitions, retention, segment size) kept in `<log>/<topic>/topic.json`,
 * written atomically. Names and specs are validated here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../errors/lab-error.js';
import type { TopicSpec } from '../../ports/event-log.js';
import { writeFileAtomic } from './atomic-file.js';
import { EMBEDDED_LOG_DEFAULTS } from './defaults.js';

export const TOPIC_METADATA_FILE = 'topic.json';
export const TOPIC_FORMAT_VERSION = 1;

export interface TopicMetadata {
  formatVersion: number;
  name: string;
  partitions: number;
  retentionMs: number | undefined;
  retentionBytes: number | undefined;
  segmentBytes: number;
  /** When the topic was created (ms since the epoch, per the log's clock). */
  createdAt: number;
}

/** Kafka's rule: letters, digits, '.', '_', '-'; here also: not starting with '.' (internal files). */
const TOPIC_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,248}$/;

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name)) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Invalid topic name ${JSON.stringify(name)}: use 1 to 249 characters from A-Z a-z 0-9 . _ - , not starting with '.'.`,
      { details: { topic: name } },
    );
  }
}

export function normalizeTopicSpec(name: string, spec: TopicSpec, createdAt: number): TopicMetadata {
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Invalid ${field} ${JSON.stringify(value)} for topic ${name}: ${rule}.`,
      {
        details: { topic: name, field, value },
      },
    );
  };
  const { partitions, retentionMs, retentionBytes, segmentBytes } = spec ?? ({} as TopicSpec);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > EMBEDDED_LOG_DEFAULTS.maxPartitions) {
    bad('partitions', `use an integer from 1 to ${EMBEDDED_LOG_DEFAULTS.maxPartitions}`, partitions);
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
  const seg = segmentBytes ?? EMBEDDED_LOG_DEFAULTS.segmentBytes;
  if (
    !Number.isInteger(seg) ||
    seg < EMBEDDED_LOG_DEFAULTS.minSegmentBytes ||
    seg > EMBEDDED_LOG_DEFAULTS.maxSegmentBytes
  ) {
    bad(
      'segmentBytes',
      `use an integer from ${EMBEDDED_LOG_DEFAULTS.minSegmentBytes} to ${EMBEDDED_LOG_DEFAULTS.maxSegmentBytes}`,
      segmentBytes,
    );
  }
  return {
    formatVersion: TOPIC_FORMAT_VERSION,
    name,
    partitions,
    retentionMs,
    retentionBytes,
    segmentBytes: seg,
    createdAt,
  };
}

export async function writeTopicMetadata(dir: string, meta: TopicMetadata): Promise<void> {
  await writeFileAtomic(join(dir, TOPIC_METADATA_FILE), `${JSON.stringify(meta, null, 2)}\n`);
}

export async function readTopicMetadata(dir: string, expectedName: string): Promise<TopicMetadata> {
  const path = join(dir, TOPIC_METADATA_FILE);
  const fail = (why: string, cause?: unknown): never => {
    throw new LabError(
      'LKL_ERR_LOG_CORRUPT',
      `Topic metadata ${path} ${why}. Restore the data directory from a copy, or delete ${dir} to lose the topic.`,
      { cause, details: { file: path, topic: expectedName } },
    );
  };
  let raw: Partial<TopicMetadata> = {};
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Partial<TopicMetadata>;
  } catch (err) {
    fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'is unreadable', err);
  }
  if (raw.formatVersion !== TOPIC_FORMAT_VERSION)
    fail(`has format version ${String(raw.formatVersion)}, expected ${TOPIC_FORMAT_VERSION}`);
  if (raw.name !== expectedName) fail(`names topic ${JSON.stringify(raw.name)}, not its directory's name`);
  try {
    return normalizeTopicSpec(
      expectedName,
      {
        partitions: raw.partitions as number,
        retentionMs: raw.retentionMs ?? undefined,
        retentionBytes: raw.retentionBytes ?? undefined,
        segmentBytes: raw.segmentBytes as number,
      },
      typeof raw.createdAt === 'number' ? raw.createdAt : 0,
    );
  } catch (err) {
    return fail('holds an invalid topic spec', err);
  }
}
