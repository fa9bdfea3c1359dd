/**
 * Event-log contract, part of eventLogContract() (event-log.contract.ts). Consumer groups and
 * offsets: commit, committed offsets and lag, resuming after a commit, deleting a group.
 */
import { expect, it } from 'vitest';
import { Collector, range, byPartition, delay, type EventLogHarness } from './event-log-contract-support.js';

export function eventLogGroupTests(h: EventLogHarness): void {
  const { newTopic, newGroup, startConsumer, waitFor, testTimeout, quietMs } = h;

  it(
    'commitOffsets, committedOffsets and lag agree',
    async () => {
      const topic = await newTopic(2);
      const group = newGroup();
      await h.log.append(
        topic,
        range(0, 10).map((i) => ({ value: `a-${i}`, partition: 0 })),
      );
      await h.log.append(
        topic,
        range(0, 4).map((i) => ({ value: `b-${i}`, partition: 1 })),
      );

      expect(byPartition(await h.log.committedOffsets(group, topic))).toEqual([
        { partition: 0, offset: null },
        { partition: 1, offset: null },
      ]);
      const before = await h.log.lag(group, topic);
      expect(before.group).toBe(group);
      expect(before.topic).toBe(topic);
      expect(byPartition(before.partitions)).toEqual([
        { partition: 0, committed: null, end: 10, lag: 10 },
        { partition: 1, committed: null, end: 4, lag: 4 },
      ]);
      expect(before.totalLag).toBe(14);

      await h.log.commitOffsets(group, topic, [{ partition: 0, offset: 6 }]);
      expect(byPartition(await h.log.committedOffsets(group, topic))).toEqual([
        { partition: 0, offset: 6 },
        { partition: 1, offset: null },
      ]);
      const after = await h.log.lag(group, topic);
      expect(byPartition(after.partitions)).toEqual([
        { partition: 0, committed: 6, end: 10, lag: 4 },
        { partition: 1, committed: null, end: 4, lag: 4 },
      ]);
      expect(after.totalLag).toBe(8);

      await h.log.commitOffsets(group, topic, [
        { partition: 0, offset: 10 },
        { partition: 1, offset: 4 },
      ]);
      expect((await h.log.lag(group, topic)).totalLag).toBe(0);
      expect(await h.log.listGroups()).toContain(group);
    },
    testTimeout,
  );

  it(
    'a new consumer of the same group resumes after the committed offset',
    async () => {
      const topic = await newTopic(1);
      const group = newGroup();
      await h.log.append(
        topic,
        range(0, 20).map((i) => ({ value: `first-${i}`, partition: 0 })),
      );

      const first = new Collector();
      const a = h.log.consumer({ group, topic, maxBatchRecords: 7 });
      h.consumers.push(a);
      await a.run(async (batch) => {
        await first.handler(batch);
        await a.commit([
          { partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset + 1 },
        ]);
      });
      await waitFor(
        'offset 20 committed',
        async () => (await h.log.committedOffsets(group, topic))[0]!.offset === 20,
      );
      await a.stop();
      expect(first.offsetsOf(0)).toEqual(range(0, 20));

      await h.log.append(
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
    'deleteGroup forgets the committed offsets',
    async () => {
      const topic = await newTopic(1);
      const group = newGroup();
      await h.log.append(topic, [{ value: 'x', partition: 0 }]);
      await h.log.commitOffsets(group, topic, [{ partition: 0, offset: 1 }]);
      expect(await h.log.listGroups()).toContain(group);
      await h.log.deleteGroup(group);
      h.groups = h.groups.filter((g) => g !== group);
      expect(await h.log.listGroups()).not.toContain(group);
      expect(await h.log.committedOffsets(group, topic)).toEqual([{ partition: 0, offset: null }]);
    },
    testTimeout,
  );
}
