/**
 * Conformance suite of the event-log port. It uses only the EventLog interface, so every adapter
 * (the embedded log, Kafka) runs it unchanged:
 *
 *   eventLogContract('embedded', async () => ({ log, reopen, cleanup, historySource: true }));
 *
 * Each test gets a fresh subject from the factory, uses random topic and group names, creates
 * its topics with ensureTopic and deletes them (and its groups) through the port at the end.
 * `reopen` closes the current log and returns a new instance over the same storage; `cleanup`
 * closes whichever instance is current and releases the storage; `historySource` declares whether
 * the adapter offers direct history reads (checked, never skipped). Timeouts are generous because a real broker is slower.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

type Received = LogRecord & { partition: number };

class Collector {
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

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function byPartition<T extends { partition: number }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => a.partition - b.partition);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function eventLogContract(
  name: string,
  factory: () => Promise<EventLogContractSubject>,
  options: EventLogContractOptions = {},
): void {
  const testTimeout = options.testTimeoutMs ?? 60_000;
  const waitMs = options.waitMs ?? 30_000;
  const quietMs = options.quietMs ?? 500;

  describe(`event-log contract: ${name}`, () => {
    let subject: EventLogContractSubject;
    let log: EventLog;
    let topics: string[];
    let groups: string[];
    let consumers: LogConsumer[];

    const newTopic = async (partitions: number): Promise<string> => {
      const topic = `t-${randomUUID()}`;
      topics.push(topic);
      await log.ensureTopic(topic, { partitions });
      return topic;
    };
    const newGroup = (): string => {
      const group = `g-${randomUUID()}`;
      groups.push(group);
      return group;
    };
    const startConsumer = async (opts: ConsumerOptions, collector: Collector): Promise<LogConsumer> => {
      const consumer = log.consumer(opts);
      consumers.push(consumer);
      await consumer.run(collector.handler);
      return consumer;
    };
    const waitFor = async (what: string, predicate: () => boolean | Promise<boolean>): Promise<void> => {
      await waitUntil(predicate, { what, timeoutMs: waitMs, intervalMs: 20 });
    };

    beforeEach(async () => {
      subject = await factory();
      log = subject.log;
      topics = [];
      groups = [];
      consumers = [];
    }, testTimeout);

    afterEach(async () => {
      for (const c of consumers) await c.stop();
      for (const g of groups) await log.deleteGroup(g);
      for (const t of topics) await log.deleteTopic(t);
      await subject.cleanup();
    }, testTimeout);

    it(
      'ensureTopic is idempotent and listTopics describes the topic',
      async () => {
        const topic = `t-${randomUUID()}`;
        topics.push(topic);
        await log.ensureTopic(topic, { partitions: 3, retentionMs: 3_600_000 });
        await log.ensureTopic(topic, { partitions: 3, retentionMs: 3_600_000 });
        await log.ensureTopic(topic, { partitions: 5 });
        const listed = (await log.listTopics()).filter((t) => t.name === topic);
        expect(listed).toEqual([
          { name: topic, partitions: 3, retentionMs: 3_600_000, retentionBytes: undefined },
        ]);
        expect(byPartition(await log.offsets(topic))).toEqual([
          { partition: 0, low: 0, end: 0 },
          { partition: 1, low: 0, end: 0 },
          { partition: 2, low: 0, end: 0 },
        ]);
      },
      testTimeout,
    );

    it(
      'deleteTopic removes the topic from listTopics',
      async () => {
        const topic = await newTopic(1);
        expect((await log.listTopics()).map((t) => t.name)).toContain(topic);
        await log.deleteTopic(topic);
        topics = topics.filter((t) => t !== topic);
        expect((await log.listTopics()).map((t) => t.name)).not.toContain(topic);
      },
      testTimeout,
    );

    it(
      'append acknowledges partition, base offset and count, and offsets() follows',
      async () => {
        const topic = await newTopic(3);
        const first = await log.append(topic, [
          { value: 'a', partition: 0 },
          { value: 'b', partition: 1 },
          { value: 'c', partition: 0 },
        ]);
        expect(byPartition(first)).toEqual([
          { partition: 0, baseOffset: 0, count: 2 },
          { partition: 1, baseOffset: 0, count: 1 },
        ]);
        const second = await log.append(topic, [{ value: 'd', partition: 0 }]);
        expect(second).toEqual([{ partition: 0, baseOffset: 2, count: 1 }]);
        expect(byPartition(await log.offsets(topic))).toEqual([
          { partition: 0, low: 0, end: 3 },
          { partition: 1, low: 0, end: 1 },
          { partition: 2, low: 0, end: 0 },
        ]);
      },
      testTimeout,
    );

    it(
      'records with the same key always go to the same partition',
      async () => {
        const topic = await newTopic(4);
        const partitionsOfKey = new Map<string, Set<number>>();
        for (let round = 0; round < 3; round++) {
          for (let k = 0; k < 20; k++) {
            const key = `user-${k}`;
            const acks = await log.append(topic, [{ key, value: `${key}/${round}` }]);
            expect(acks).toHaveLength(1);
            expect(acks[0]!.count).toBe(1);
            const seen = partitionsOfKey.get(key) ?? new Set<number>();
            seen.add(acks[0]!.partition);
            partitionsOfKey.set(key, seen);
          }
        }
        for (const [, seen] of partitionsOfKey) expect(seen.size).toBe(1);
        const used = new Set([...partitionsOfKey.values()].map((s) => [...s][0]));
        expect(used.size).toBeGreaterThan(1);
        const total = (await log.offsets(topic)).reduce((a, p) => a + p.end, 0);
        expect(total).toBe(60);
      },
      testTimeout,
    );

    it(
      "a consumer from 'earliest' receives every record once, in offset order per partition",
      async () => {
        const topic = await newTopic(3);
        const baseTs = 1_700_000_000_000;
        const sent = range(0, 300).map((i) => ({
          key: `k-${i % 10}`,
          value: `v-${i}`,
          timestamp: baseTs + i,
        }));
        for (let i = 0; i < 300; i += 100) await log.append(topic, sent.slice(i, i + 100));
        const ends = byPartition(await log.offsets(topic)).map((p) => p.end);
        expect(ends.reduce((a, b) => a + b, 0)).toBe(300);

        const collector = new Collector();
        await startConsumer({ group: newGroup(), topic, start: 'earliest', maxBatchRecords: 50 }, collector);
        await waitFor('300 records', () => collector.records.length >= 300);
        await delay(quietMs);

        expect(collector.records).toHaveLength(300);
        for (let p = 0; p < 3; p++) expect(collector.offsetsOf(p)).toEqual(range(0, ends[p]!));
        for (const b of collector.batches) {
          expect(b.topic).toBe(topic);
          expect(b.records.length).toBeGreaterThan(0);
          expect(b.records.length).toBeLessThanOrEqual(50);
          expect(b.highWatermark).toBeGreaterThanOrEqual(b.records[b.records.length - 1]!.offset + 1);
        }
        const byValue = new Map(collector.records.map((r) => [r.value, r]));
        expect(byValue.size).toBe(300);
        for (const s of sent) {
          const r = byValue.get(s.value)!;
          expect(r.key).toBe(s.key);
          expect(r.timestamp).toBe(s.timestamp);
        }
        // Within a partition, records keep the order they were appended in.
        for (let p = 0; p < 3; p++) {
          const order = collector.records
            .filter((r) => r.partition === p)
            .map((r) => Number(r.value.slice(2)));
          expect(order).toEqual([...order].sort((a, b) => a - b));
        }
      },
      testTimeout,
    );

    it(
      "a consumer from 'latest' receives only records appended after it started",
      async () => {
        const topic = await newTopic(1);
        await log.append(
          topic,
          range(0, 10).map((i) => ({ value: `old-${i}`, partition: 0 })),
        );
        const collector = new Collector();
        const consumer = await startConsumer({ group: newGroup(), topic, start: 'latest' }, collector);
        await waitFor('partition assignment', () => consumer.assignment().length > 0);
        expect(consumer.assignment()).toEqual([0]);
        await log.append(
          topic,
          range(0, 5).map((i) => ({ value: `new-${i}`, partition: 0 })),
        );
        await waitFor('5 new records', () => collector.records.length >= 5);
        await delay(quietMs);
        expect(collector.records.map((r) => [r.offset, r.value])).toEqual(
          range(0, 5).map((i) => [10 + i, `new-${i}`]),
        );
      },
      testTimeout,
    );

    it(
      'commitOffsets, committedOffsets and lag agree',
      async () => {
        const topic = await newTopic(2);
        const group = newGroup();
        await log.append(
          topic,
          range(0, 10).map((i) => ({ value: `a-${i}`, partition: 0 })),
        );
        await log.append(
          topic,
          range(0, 4).map((i) => ({ value: `b-${i}`, partition: 1 })),
        );

        expect(byPartition(await log.committedOffsets(group, topic))).toEqual([
          { partition: 0, offset: null },
          { partition: 1, offset: null },
        ]);
        const before = await log.lag(group, topic);
        expect(before.group).toBe(group);
        expect(before.topic).toBe(topic);
        expect(byPartition(before.partitions)).toEqual([
          { partition: 0, committed: null, end: 10, lag: 10 },
          { partition: 1, committed: null, end: 4, lag: 4 },
        ]);
        expect(before.totalLag).toBe(14);

        await log.commitOffsets(group, topic, [{ partition: 0, offset: 6 }]);
        expect(byPartition(await log.committedOffsets(group, topic))).toEqual([
          { partition: 0, offset: 6 },
          { partition: 1, offset: null },
        ]);
        const after = await log.lag(group, topic);
        expect(byPartition(after.partitions)).toEqual([
          { partition: 0, committed: 6, end: 10, lag: 4 },
          { partition: 1, committed: null, end: 4, lag: 4 },
        ]);
        expect(after.totalLag).toBe(8);

        await log.commitOffsets(group, topic, [
          { partition: 0, offset: 10 },
          { partition: 1, offset: 4 },
        ]);
        expect((await log.lag(group, topic)).totalLag).toBe(0);
        expect(await log.listGroups()).toContain(group);
      },
      testTimeout,
    );

    it(
      'a new consumer of the same group resumes after the committed offset',
      async () => {
        const topic = await newTopic(1);
        const group = newGroup();
        await log.append(
          topic,
          range(0, 20).map((i) => ({ value: `first-${i}`, partition: 0 })),
        );

        const first = new Collector();
        const a = log.consumer({ group, topic, maxBatchRecords: 7 });
        consumers.push(a);
        await a.run(async (batch) => {
          await first.handler(batch);
          await a.commit([
            { partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset + 1 },
          ]);
        });
        await waitFor(
          'offset 20 committed',
          async () => (await log.committedOffsets(group, topic))[0]!.offset === 20,
        );
        await a.stop();
        expect(first.offsetsOf(0)).toEqual(range(0, 20));

        await log.append(
          topic,
          range(0, 10).map((i) => ({ value: `second-${i}`, partition: 0 })),
        );
        const second = new Collector();
        await startConsumer({ group, topic }, second);
        await waitFor('10 records', () => second.records.length >= 10);
        await delay(quietMs);
        expect(second.records.map((r) => [r.offset, r.value])).toEqual(
          range(0, 10).map((i) => [20 + i, `second-${i}`]),
        );
      },
      testTimeout,
    );

    it(
      'seek makes the next delivery start at the given offset',
      async () => {
        const topic = await newTopic(1);
        await log.append(
          topic,
          range(0, 50).map((i) => ({ value: `v-${i}`, partition: 0 })),
        );
        const collector = new Collector();
        const consumer = await startConsumer({ group: newGroup(), topic, maxBatchRecords: 10 }, collector);
        await waitFor('50 records', () => collector.records.length >= 50);
        consumer.seek(0, 10);
        await waitFor('40 redelivered records', () => collector.records.length >= 90);
        await delay(quietMs);
        expect(collector.offsetsOf(0)).toEqual([...range(0, 50), ...range(10, 50)]);
        expect(collector.records.slice(50).map((r) => r.value)).toEqual(range(10, 50).map((i) => `v-${i}`));
      },
      testTimeout,
    );

    it(
      'deleteGroup forgets the committed offsets',
      async () => {
        const topic = await newTopic(1);
        const group = newGroup();
        await log.append(topic, [{ value: 'x', partition: 0 }]);
        await log.commitOffsets(group, topic, [{ partition: 0, offset: 1 }]);
        expect(await log.listGroups()).toContain(group);
        await log.deleteGroup(group);
        groups = groups.filter((g) => g !== group);
        expect(await log.listGroups()).not.toContain(group);
        expect(await log.committedOffsets(group, topic)).toEqual([{ partition: 0, offset: null }]);
      },
      testTimeout,
    );

    it(
      'reopening keeps the records and the committed offsets',
      async () => {
        const topic = await newTopic(2);
        const group = newGroup();
        const sent = range(0, 30).map((i) => ({
          value: `r-${i}`,
          partition: i % 2,
          timestamp: 1_700_000_000_000 + i,
        }));
        await log.append(topic, sent);
        await log.commitOffsets(group, topic, [{ partition: 0, offset: 5 }]);
        const offsetsBefore = byPartition(await log.offsets(topic));

        log = await subject.reopen();

        expect(byPartition(await log.offsets(topic))).toEqual(offsetsBefore);
        expect(byPartition(await log.committedOffsets(group, topic))).toEqual([
          { partition: 0, offset: 5 },
          { partition: 1, offset: null },
        ]);
        const collector = new Collector();
        await startConsumer({ group: newGroup(), topic }, collector);
        await waitFor('30 records', () => collector.records.length >= 30);
        const got = collector.records.map((r) => ({
          value: r.value,
          partition: r.partition,
          timestamp: r.timestamp,
        }));
        expect(got.sort((a, b) => a.timestamp - b.timestamp)).toEqual(sent);
        const resumed = new Collector();
        await startConsumer({ group, topic }, resumed);
        await waitFor('25 records', () => resumed.records.length >= 25);
        await delay(quietMs);
        expect(resumed.offsetsOf(0)).toEqual(range(5, 15));
        expect(resumed.offsetsOf(1)).toEqual(range(0, 15));
      },
      testTimeout,
    );

    it(
      'capabilities: a self-assigning log honours partitions and startOffsets over the committed offsets; a group-assigned one ignores startOffsets',
      async () => {
        expect(typeof log.capabilities.selfAssignment).toBe('boolean');
        expect(typeof log.capabilities.shared).toBe('boolean');
        const topic = await newTopic(2);
        const group = newGroup();
        await log.append(
          topic,
          range(0, 20).map((i) => ({ value: `s-${i}`, partition: i % 2 })),
        );
        await log.commitOffsets(group, topic, [{ partition: 1, offset: 8 }]);
        const collector = new Collector();
        if (log.capabilities.selfAssignment) {
          const consumer = await startConsumer(
            { group, topic, partitions: [1], startOffsets: { 1: 3 } },
            collector,
          );
          await waitFor('7 records', () => collector.records.length >= 7);
          await delay(quietMs);
          expect(consumer.assignment()).toEqual([1]);
          expect(collector.offsetsOf(1)).toEqual(range(3, 10));
          expect(collector.offsetsOf(0)).toEqual([]);
        } else {
          await startConsumer({ group, topic, startOffsets: { 0: 5, 1: 3 } }, collector);
          await waitFor('12 records', () => collector.records.length >= 12);
          await delay(quietMs);
          expect(collector.offsetsOf(0)).toEqual(range(0, 10));
          expect(collector.offsetsOf(1)).toEqual(range(8, 10));
        }
      },
      testTimeout,
    );

    it(
      'onError is called once when the handler fails, and the consumer delivers nothing more',
      async () => {
        const topic = await newTopic(1);
        await log.append(
          topic,
          range(0, 5).map((i) => ({ value: `e-${i}`, partition: 0 })),
        );
        const errors: unknown[] = [];
        const consumer = log.consumer({ group: newGroup(), topic, onError: (e) => errors.push(e) });
        consumers.push(consumer);
        let calls = 0;
        await consumer.run(async () => {
          calls++;
          throw new Error('handler failed on purpose');
        });
        await waitFor('onError', () => errors.length > 0);
        const seen = calls;
        await log.append(topic, [{ value: 'after', partition: 0 }]);
        await delay(quietMs);
        expect(errors).toHaveLength(1);
        const chain = (e: unknown): string =>
          e instanceof Error ? `${e.message} ${e.cause === undefined ? '' : chain(e.cause)}` : String(e);
        expect(chain(errors[0])).toContain('handler failed on purpose');
        expect(seen).toBeGreaterThanOrEqual(1);
        expect(calls).toBe(seen);
      },
      testTimeout,
    );

    it(
      'partitionsConsumedConcurrently bounds the batches in flight, and every record still arrives once, in order',
      async () => {
        const topic = await newTopic(3);
        await log.append(
          topic,
          range(0, 90).map((i) => ({ value: `c-${i}`, partition: i % 3 })),
        );
        for (const concurrency of [1, 3]) {
          let inFlight = 0;
          let maxInFlight = 0;
          const collector = new Collector();
          const consumer = log.consumer({
            group: newGroup(),
            topic,
            maxBatchRecords: 10,
            partitionsConsumedConcurrently: concurrency,
          });
          consumers.push(consumer);
          await consumer.run(async (batch) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await delay(20);
            inFlight--;
            await collector.handler(batch);
          });
          await waitFor(`90 records (concurrency ${concurrency})`, () => collector.records.length >= 90);
          await delay(quietMs);
          expect(maxInFlight).toBeLessThanOrEqual(concurrency);
          expect(maxInFlight).toBeGreaterThanOrEqual(1);
          for (let p = 0; p < 3; p++) expect(collector.offsetsOf(p)).toEqual(range(0, 30));
          await consumer.stop();
        }
      },
      testTimeout,
    );

    it(
      'historySource is offered exactly where the adapter declares it; it describes a partition serializably and refuses unknown ones',
      async () => {
        expect(typeof log.historySource).toBe(subject.historySource ? 'function' : 'undefined');
        if (!log.historySource) return; // declared absent, and absent: history is read through consumers
        const topic = await newTopic(2);
        await log.append(topic, [{ value: 'h', partition: 1 }]);
        const source = log.historySource(topic, 1);
        expect(structuredClone(source)).toEqual(source);
        expect(source.format).toBe('embedded-segments');
        expect(source.dir.length).toBeGreaterThan(0);
        expect(source.maxRecordBytes).toBeGreaterThan(0);
        expect(log.historySource(topic, 0).dir).not.toBe(source.dir);
        expect(() => log.historySource!(topic, 2)).toThrow();
        expect(() => log.historySource!(`t-${randomUUID()}`, 0)).toThrow();
      },
      testTimeout,
    );
  });
}
