/**
 * Shared wiring of the Kafka adapter's test files (kafka-event-log.test.ts and the broker-restart
 * fault test): opened logs and topics are cleaned up after each test through Kafka's own API.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterEach } from 'vitest';
import { kafkaBrokers } from './infra.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { isLabError, type LabError } from '../kernel/errors/lab-error.js';
import type { LogRecord } from '../kernel/ports/event-log.js';
import {
  openKafkaEventLog,
  type KafkaEventLog,
  type KafkaEventLogOptions,
} from '../kernel/adapters/kafka-log/kafka-event-log.js';
import { waitUntil } from '../kernel/util/wait-until.js';
export const { Kafka, logLevel } = kafkajs;
export const run = promisify(execFile);
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const stackScript = join(repoRoot, 'scripts', 'stack', 'stack.sh');
export const brokers = (): string[] => kafkaBrokers() ?? [];
/** The broker fault test stops and starts the local stack's broker; only when KAFKA_BROKERS is that broker. */
export const onLocalStack = (): boolean =>
  brokers().length === 1 && brokers()[0] === `127.0.0.1:${process.env.LKLAB_KAFKA_PORT ?? '19092'}`;

const openLogs: KafkaEventLog[] = [];
const cleanups: Array<() => Promise<void>> = [];

export async function open(opts: Partial<KafkaEventLogOptions> = {}): Promise<KafkaEventLog> {
  const log = await openKafkaEventLog({
    brokers: brokers(),
    clientId: 'lkl-test',
    clock: systemClock,
    ...opts,
  });
  openLogs.push(log);
  return log;
}

export async function newTopic(
  log: KafkaEventLog,
  partitions: number,
  spec: { retentionMs?: number; retentionBytes?: number; segmentBytes?: number } = {},
): Promise<string> {
  const topic = `t-${randomUUID()}`;
  await log.ensureTopic(topic, { partitions, ...spec });
  cleanups.push(async () => {
    const admin = await open();
    await admin.deleteTopic(topic).catch(() => undefined);
  });
  return topic;
}

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const log of openLogs.splice(0)) await log.close();
}, 60_000);

export async function labError(promise: Promise<unknown>): Promise<LabError> {
  try {
    await promise;
  } catch (err) {
    if (isLabError(err)) return err;
    throw err;
  }
  throw new Error('expected a LabError, but the call succeeded');
}

export function syncLabError(fn: () => unknown): LabError {
  try {
    fn();
  } catch (err) {
    if (isLabError(err)) return err;
    throw err;
  }
  throw new Error('expected a LabError, but the call succeeded');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

/** Every record of the topic, per partition, read from earliest by a fresh consumer group. */
export async function readAll(log: KafkaEventLog, topic: string): Promise<Map<number, LogRecord[]>> {
  const ends = await log.offsets(topic);
  const total = ends.reduce((a, p) => a + p.end - p.low, 0);
  const got = new Map<number, LogRecord[]>(ends.map((p) => [p.partition, []]));
  let n = 0;
  const group = `g-read-${randomUUID()}`;
  const consumer = log.consumer({ group, topic, start: 'earliest' });
  await consumer.run(async (b) => {
    got.get(b.partition)!.push(...b.records);
    n += b.records.length;
  });
  try {
    await waitUntil(() => n >= total, { what: `${total} records`, timeoutMs: 60_000, intervalMs: 25 });
  } finally {
    await consumer.stop();
    await log.deleteGroup(group).catch(() => undefined);
  }
  return got;
}
