/**
 * Event-log contract, part of eventLogContract() (event-log.contract.ts). Topics and appends:
 * ensureTopic/listTopics/deleteTopic, acknowledgements and offsets(), key-to-partition
 * stickiness.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { byPartition, type EventLogHarness } from './event-log-contract-support.js';

export function eventLogTopicTests(h: EventLogHarness): void {
  const { newTopic, testTimeout } = h;

  it(
    'ensureTopic is idempotent and listTopics describes the topic',
    async () => {
      const topic = `t-${randomUUID()}`;
      h.topics.push(topic);
      await h.log.ensureTopic(topic, { partitions: 3, retentionMs: 3_600_000 });
      await h.log.ensureTopic(topic, { partitions: 3, retentionMs: 3_600_000 });
      await h.log.ensureTopic(topic, { partitions: 5 });
      const listed = (await h.log.listTopics()).filter((t) => t.name === topic);
      expect(listed).toEqual([
        { name: topic, partitions: 3, retentionMs: 3_600_000, retentionBytes: undefined },
      ]);
      expect(byPartition(await h.log.offsets(topic))).toEqual([
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
      expect((await h.log.listTopics()).map((t) => t.name)).toContain(topic);
      await h.log.deleteTopic(topic);
      h.topics = h.topics.filter((t) => t !== topic);
      expect((await h.log.listTopics()).map((t) => t.name)).not.toContain(topic);
    },
    testTimeout,
  );

  it(
    'append acknowledges partition, base offset and count, and offsets() follows',
    async () => {
      const topic = await newTopic(3);
      const first = await h.log.append(topic, [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 1 },
        { value: 'c', partition: 0 },
      ]);
      expect(byPartition(first)).toEqual([
        { partition: 0, baseOffset: 0, count: 2 },
        { partition: 1, baseOffset: 0, count: 1 },
      ]);
      const second = await h.log.append(topic, [{ value: 'd', partition: 0 }]);
      expect(second).toEqual([{ partition: 0, baseOffset: 2, count: 1 }]);
      expect(byPartition(await h.log.offsets(topic))).toEqual([
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
          const acks = await h.log.append(topic, [{ key, value: `${key}/${round}` }]);
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
      const total = (await h.log.offsets(topic)).reduce((a, p) => a + p.end, 0);
      expect(total).toBe(60);
    },
    testTimeout,
  );
}
