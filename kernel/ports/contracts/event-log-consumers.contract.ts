/**
 * Event-log contract, part of eventLogContract() (event-log.contract.ts). Consumers: delivery
 * from 'earliest' and 'latest', seek, a failing handler, bounded concurrency.
 */
import { expect, it } from 'vitest';
import { Collector, range, byPartition, delay, type EventLogHarness } from './event-log-contract-support.js';

export function eventLogConsumerTests(h: EventLogHarness): void {
  const { newTopic, newGroup, startConsumer, waitFor, testTimeout, quietMs } = h;

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
      for (let i = 0; i < 300; i += 100) await h.log.append(topic, sent.slice(i, i + 100));
      const ends = byPartition(await h.log.offsets(topic)).map((p) => p.end);
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
        const order = collector.records.filter((r) => r.partition === p).map((r) => Number(r.value.slice(2)));
        expect(order).toEqual([...order].sort((a, b) => a - b));
      }
    },
    testTimeout,
  );

  it(
    "a consumer from 'latest' receives only records appended after it started",
    async () => {
      const topic = await newTopic(1);
      await h.log.append(
        topic,
        range(0, 10).map((i) => ({ value: `old-${i}`, partition: 0 })),
      );
      const collector = new Collector();
      const consumer = await startConsumer({ group: newGroup(), topic, start: 'latest' }, collector);
      await waitFor('partition assignment', () => consumer.assignment().length > 0);
      expect(consumer.assignment()).toEqual([0]);
      await h.log.append(
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
    'seek makes the next delivery start at the given offset',
    async () => {
      const topic = await newTopic(1);
      await h.log.append(
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
    'onError is called once when the handler fails, and the consumer delivers nothing more',
    async () => {
      const topic = await newTopic(1);
      await h.log.append(
        topic,
        range(0, 5).map((i) => ({ value: `e-${i}`, partition: 0 })),
      );
      const errors: unknown[] = [];
      const consumer = h.log.consumer({ group: newGroup(), topic, onError: (e) => errors.push(e) });
      h.consumers.push(consumer);
      let calls = 0;
      await consumer.run(async () => {
        calls++;
        throw new Error('handler failed on purpose');
      });
      await waitFor('onError', () => errors.length > 0);
      const seen = calls;
      await h.log.append(topic, [{ value: 'after', partition: 0 }]);
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
      await h.log.append(
        topic,
        range(0, 90).map((i) => ({ value: `c-${i}`, partition: i % 3 })),
      );
      for (const concurrency of [1, 3]) {
        let inFlight = 0;
        let maxInFlight = 0;
        const collector = new Collector();
        const consumer = h.log.consumer({
          group: newGroup(),
          topic,
          maxBatchRecords: 10,
          partitionsConsumedConcurrently: concurrency,
        });
        h.consumers.push(consumer);
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
}
