/**
 * Shared pieces of the event-log contract (event-log.contract.ts): the subject an adapter hands
 * the suite, its options, the per-test harness (fresh subject, random topic and group names,
 * cleanup through the port) and small helpers the topic files share.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import type { ConsumerOptions, EventLog, LogConsumer, LogRecord, RecordBatch } from '../event-log.js';
import { waitUntil } from '../../util/wait-until.js';

export interface EventLogContractSubject {
  log: EventLog;
  reopen: () => Promise<EventLog>;
  cleanup: () => Promise<void>;
  /**
   * Whether this adapter offers `historySource` (direct reads of a partition's retained history).
   * The suite checks that the adapter does exactly what it declares, so nothing is skipped.
   */
  historySource: boolean;
}

export interface EventLogContractOptions {
  /** Per-test timeout (ms). Default 60 000. */
  testTimeoutMs?: number;
  /** How long to wait for a consumer to receive what it should (ms). Default 30 000. */
  waitMs?: number;
  /** How long to keep watching that nothing more arrives (ms). Default 500. */
  quietMs?: number;
}

export type Received = LogRecord & { partition: number };

export class Collector {
  readonly batches: RecordBatch[] = [];

  readonly handler = async (batch: RecordBatch): Promise<void> => {
    this.batches.push(batch);
  };

  get records(): Received[] {
    return this.batches.flatMap((b) => b.records.map((r) => ({ ...r, partition: b.partition })));
  }

  offsetsOf(partition: number): number[] {
    return this.records.filter((r) => r.partition === partition).map((r) => r.offset);
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

export function byPartition<T extends { partition: number }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => a.partition - b.partition);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What every test of the suite works with; `log`, `topics`, `groups` and `consumers` are per test. */
export interface EventLogHarness {
  subject: EventLogContractSubject;
  log: EventLog;
  /** Topics, groups and consumers a test made: the harness stops, deletes and removes them after it. */
  topics: string[];
  groups: string[];
  consumers: LogConsumer[];
  readonly testTimeout: number;
  readonly waitMs: number;
  readonly quietMs: number;
  newTopic(partitions: number): Promise<string>;
  newGroup(): string;
  startConsumer(opts: ConsumerOptions, collector: Collector): Promise<LogConsumer>;
  waitFor(what: string, predicate: () => boolean | Promise<boolean>): Promise<void>;
}

/** Registers the per-test setup and teardown in the current describe and returns the harness. */
export function useEventLogHarness(
  factory: () => Promise<EventLogContractSubject>,
  options: EventLogContractOptions,
): EventLogHarness {
  const testTimeout = options.testTimeoutMs ?? 60_000;
  const waitMs = options.waitMs ?? 30_000;
  const quietMs = options.quietMs ?? 500;
  const h: EventLogHarness = {
    subject: undefined as unknown as EventLogContractSubject,
    log: undefined as unknown as EventLog,
    topics: [],
    groups: [],
    consumers: [],
    testTimeout,
    waitMs,
    quietMs,
    newTopic: async (partitions) => {
      const topic = `t-${randomUUID()}`;
      h.topics.push(topic);
      await h.log.ensureTopic(topic, { partitions });
      return topic;
    },
    newGroup: () => {
      const group = `g-${randomUUID()}`;
      h.groups.push(group);
      return group;
    },
    startConsumer: async (opts, collector) => {
      const consumer = h.log.consumer(opts);
      h.consumers.push(consumer);
      await consumer.run(collector.handler);
      return consumer;
    },
    waitFor: async (what, predicate) => {
      await waitUntil(predicate, { what, timeoutMs: waitMs, intervalMs: 20 });
    },
  };

  beforeEach(async () => {
    h.subject = await factory();
    h.log = h.subject.log;
    h.topics = [];
    h.groups = [];
    h.consumers = [];
  }, testTimeout);

  afterEach(async () => {
    for (const c of h.consumers) await c.stop();
    for (const g of h.groups) await h.log.deleteGroup(g);
    for (const t of h.topics) await h.log.deleteTopic(t);
    await h.subject.cleanup();
  }, testTimeout);

  return h;
}
