/**
 * Event-log contract, part of eventLogContract() (event-log.contract.ts). Durability and
 * capabilities: reopening, self-assignment versus group assignment, direct history reads.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { Collector, range, byPartition, delay, type EventLogHarness } from './event-log-contract-support.js';

export function eventLogStorageTests(h: EventLogHarness): void {
  const { newTopic, newGroup, startConsumer, waitFor, testTimeout, quietMs } = h;

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
      await h.log.append(topic, sent);
      await h.log.commitOffsets(group, topic, [{ partition: 0, offset: 5 }]);
      const offsetsBefore = byPartition(await h.log.offsets(topic));

      h.log = await h.subject.reopen();

      expect(byPartition(await h.log.offsets(topic))).toEqual(offsetsBefore);
      expect(byPartition(await h.log.committedOffsets(group, topic))).toEqual([
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
      expect(typeof h.log.capabilities.selfAssignment).toBe('boolean');
      expect(typeof h.log.capabilities.shared).toBe('boolean');
      const topic = await newTopic(2);
      const group = newGroup();
      await h.log.append(
        topic,
        range(0, 20).map((i) => ({ value: `s-${i}`, partition: i % 2 })),
      );
      await h.log.commitOffsets(group, topic, [{ partition: 1, offset: 8 }]);
      const collector = new Collector();
      if (h.log.capabilities.selfAssignment) {
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

  it('localDiskBytes, where the log lives in this process, counts what appends write', async () => {
    // A log in this process (not shared with others) has its disk here; a server log's is the broker's.
    expect(typeof h.log.localDiskBytes).toBe(h.log.capabilities.shared ? 'undefined' : 'function');
    if (!h.log.localDiskBytes) return;
    const topic = await newTopic(1);
    const before = await h.log.localDiskBytes();
    await h.log.append(topic, [{ value: 'x'.repeat(10_000) }]);
    expect(await h.log.localDiskBytes()).toBeGreaterThanOrEqual(before + 10_000);
  });

  it(
    'historySource is offered exactly where the adapter declares it; it describes a partition serializably and refuses unknown ones',
    async () => {
      expect(typeof h.log.historySource).toBe(h.subject.historySource ? 'function' : 'undefined');
      if (!h.log.historySource) return; // declared absent, and absent: history is read through consumers
      const topic = await newTopic(2);
      await h.log.append(topic, [{ value: 'h', partition: 1 }]);
      const source = h.log.historySource(topic, 1);
      expect(structuredClone(source)).toEqual(source);
      expect(source.format).toBe('embedded-segments');
      expect(source.dir.length).toBeGreaterThan(0);
      expect(source.maxRecordBytes).toBeGreaterThan(0);
      expect(h.log.historySource(topic, 0).dir).not.toBe(source.dir);
      expect(() => h.log.historySource!(topic, 2)).toThrow();
      expect(() => h.log.historySource!(`t-${randomUUID()}`, 0)).toThrow();
    },
    testTimeout,
  );
}
