/**
 * The Kafka adapter against a real broker (KAFKA_BROKERS, e.g. the local stack): the event-log
 * contract suite, then what only Kafka has — topic configs as Kafka's own tools see them,
 * Java-compatible key partitioning, multi-request appends, group membership. The broker restart
 * under load is kafka-broker-restart.fault.test.ts (it runs alone, after the parallel suites).
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { describeWithKafka } from '../../../test-support/infra.js';
import { systemClock } from '../../clock/system-clock.js';
import { eventLogContract } from '../../ports/contracts/event-log.contract.js';
import type { RecordBatch } from '../../ports/event-log.js';
import { LabError as LabErrorClass } from '../../errors/lab-error.js';
import { partitionForKey } from '../embedded-log/partitioner.js';
import { mergeAcks, planRequests } from './kafka-appender.js';
import { KAFKA_LOG_DEFAULTS } from './kafka-defaults.js';
import { toLabError } from './kafka-errors.js';
import { openKafkaEventLog } from './kafka-event-log.js';
import { KAFKA_LOG_EVENTS } from './kafka-instrumentation.js';
import { quietLogCreator } from './kafka-logger.js';
import { retryWindowMs } from './kafka-retry.js';

import {
  Kafka,
  labError,
  logLevel,
  newTopic,
  onLocalStack,
  open,
  range,
  readAll,
  run,
  sleep,
  stackScript,
  syncLabError,
  brokers,
  repoRoot,
} from '../../../test-support/kafka-test-support.js';
import { waitUntil } from '../../util/wait-until.js';
describe('kafka adapter: pure parts (no broker)', () => {
  it("plans produce requests: at most maxRecords each, a partition's share under maxBytesPerPartition, order kept", () => {
    const records = range(0, 10_000).map((i) => ({ value: `v-${i}`, partition: i % 4 }));
    const plan = planRequests(
      records,
      records.map((r) => r.partition),
      5,
      { maxBytesPerPartition: 900 * 1024, maxRecords: 5_000 },
    );
    expect(plan.map((r) => r.messages.length)).toEqual([5_000, 5_000]);
    expect(plan[0]!.messages[0]).toEqual({ key: null, value: 'v-0', partition: 0, timestamp: '5' });
    for (let p = 0; p < 4; p++) {
      const values = plan.flatMap((r) => r.messages.filter((m) => m.partition === p).map((m) => m.value));
      expect(values).toEqual(records.filter((r) => r.partition === p).map((r) => r.value));
      expect(plan.map((r) => r.counts.get(p))).toEqual([1_250, 1_250]);
    }

    // 3 000 records of ≈ 1 KB on one partition: split by bytes, counting UTF-8 bytes (é = 2 bytes).
    const big = range(0, 3_000).map((i) => ({ value: 'é'.repeat(500), partition: 0, timestamp: i }));
    const byBytes = planRequests(
      big,
      big.map(() => 0),
      0,
      { maxBytesPerPartition: 900 * 1024, maxRecords: 100_000 },
    );
    expect(byBytes.map((r) => r.messages.length)).toEqual([903, 903, 903, 291]);
    expect(byBytes.flatMap((r) => r.messages.map((m) => Number(m.timestamp)))).toEqual(range(0, 3_000));
  });

  it('merges acks of contiguous requests per partition and sorts them', () => {
    expect(
      mergeAcks([
        { partition: 1, baseOffset: 10, count: 5 },
        { partition: 0, baseOffset: 0, count: 3 },
        { partition: 1, baseOffset: 15, count: 5 },
        { partition: 0, baseOffset: 7, count: 2 }, // another producer wrote 3..6 in between
      ]),
    ).toEqual([
      { partition: 0, baseOffset: 0, count: 3 },
      { partition: 0, baseOffset: 7, count: 2 },
      { partition: 1, baseOffset: 10, count: 10 },
    ]);
  });

  it("maps kafkajs errors to the lab's codes", () => {
    const ctx = { what: 'Appending to t', brokers: ['127.0.0.1:19092'], topic: 't', group: 'g' };
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:19092'), {
      name: 'KafkaJSConnectionError',
      retriable: true,
    });
    const exhausted = Object.assign(new Error(refused.message), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
      cause: refused,
    });
    const down = toLabError(exhausted, ctx);
    expect([down.code, down.retriable, down.httpStatus]).toEqual(['LKL_ERR_LOG_UNAVAILABLE', true, 503]);
    expect(down.message).toContain('stack.sh status');
    expect(down.cause).toBe(exhausted);
    const protocol = (type: string, retriable = false) =>
      Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, retriable });
    expect(toLabError(protocol('UNKNOWN_TOPIC_OR_PARTITION', true), ctx).code).toBe(
      'LKL_ERR_LOG_TOPIC_UNKNOWN',
    );
    expect(toLabError(protocol('INVALID_PARTITIONS'), ctx).code).toBe('LKL_ERR_LOG_INVALID_ARGUMENT');
    expect(toLabError(protocol('NON_EMPTY_GROUP'), ctx).code).toBe('LKL_ERR_LOG_GROUP_ACTIVE');
    const rebalancing = toLabError(protocol('REBALANCE_IN_PROGRESS', true), ctx);
    expect([rebalancing.code, rebalancing.retriable]).toEqual(['LKL_ERR_LOG_UNAVAILABLE', true]);
    const own = new LabErrorClass('LKL_ERR_LOG_CLOSED', 'closed');
    expect(toLabError(own, ctx)).toBe(own);
  });

  it('logs kafkajs lines without handled error responses, and folds repeats', () => {
    const lines: string[] = [];
    const log = quietLogCreator((l) => lines.push(l))(kafkajs.logLevel.ERROR);
    const entry = (namespace: string, message: string) => ({
      namespace,
      level: kafkajs.logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: '', message },
    });
    log(entry('Connection', 'Response Metadata(key: 3, version: 6)'));
    for (let i = 0; i < 5; i++)
      log(entry('Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:19092'));
    expect(lines).toEqual([
      '[kafkajs] ERROR Connection: Connection error: connect ECONNREFUSED 127.0.0.1:19092\n',
    ]);
  });

  it('retry windows: append rides out ≈ 39 s of broker downtime, admin calls give up after ≈ 4 s', () => {
    expect(retryWindowMs(KAFKA_LOG_DEFAULTS.producerRetry)).toBe(38_900);
    expect(retryWindowMs(KAFKA_LOG_DEFAULTS.adminRetry)).toBe(3_750);
  });
});

describeWithKafka('kafka event log', () => {
  eventLogContract('kafka', async () => {
    let current = await openKafkaEventLog({
      brokers: brokers(),
      clientId: 'lkl-contract',
      clock: systemClock,
    });
    return {
      log: current,
      // A new client over the same cluster must see the same records and committed offsets.
      reopen: async () => {
        await current.close();
        current = await openKafkaEventLog({
          brokers: brokers(),
          clientId: 'lkl-contract',
          clock: systemClock,
        });
        return current;
      },
      cleanup: () => current.close(),
      historySource: false, // a broker's history is read through consumers
    };
  });

  it("creates the topic with the requested partitions and configs, as Kafka's own tools see them", async () => {
    const log = await open();
    const topic = await newTopic(log, 6, {
      retentionMs: 7_200_000,
      retentionBytes: 50_000_000,
      segmentBytes: 10_485_760,
    });
    const other = await newTopic(log, 2);
    const listed = await log.listTopics();
    expect(listed.find((t) => t.name === topic)).toEqual({
      name: topic,
      partitions: 6,
      retentionMs: 7_200_000,
      retentionBytes: 50_000_000,
    });
    expect(listed.find((t) => t.name === other)).toEqual({
      name: other,
      partitions: 2,
      retentionMs: undefined,
      retentionBytes: undefined,
    });
    expect(listed.map((t) => t.name)).toEqual([...listed.map((t) => t.name)].sort());
    expect((await log.listTopics()).some((t) => t.name.startsWith('__'))).toBe(false);

    // Kafka's TopicCommand (from the local stack, so only against it) reads the same partitions and overrides.
    if (!onLocalStack()) return;
    const { stdout } = await run('bash', [stackScript, 'kafka-topics', '--describe', '--topic', topic], {
      cwd: repoRoot,
    });
    expect(stdout).toMatch(/PartitionCount:\s*6/);
    expect(stdout).toMatch(/retention\.ms=7200000/);
    expect(stdout).toMatch(/retention\.bytes=50000000/);
    expect(stdout).toMatch(/segment\.bytes=10485760/);
    expect(stdout.match(/Partition: \d+/g)).toHaveLength(6);
  }, 60_000);

  it('puts keyed records on the partition Java clients (and the embedded log) choose: murmur2(key) mod partitions', async () => {
    const log = await open();
    const topic = await newTopic(log, 7);
    const keys = range(0, 200).map((i) => `user-${i}-${(i * 7919).toString(36)}`);
    keys.push('ünïcødé', '日本語のキー', '');
    const acks = await log.append(
      topic,
      keys.map((key) => ({ key, value: key })),
    );
    const records = await readAll(log, topic);
    for (const [partition, rs] of records) {
      for (const r of rs) expect([r.key, partition]).toEqual([r.key, partitionForKey(r.key!, 7)]);
    }
    expect([...records.values()].reduce((a, rs) => a + rs.length, 0)).toBe(keys.length);
    expect(acks.reduce((a, x) => a + x.count, 0)).toBe(keys.length);
    expect(acks.map((a) => a.partition)).toEqual([...acks.map((a) => a.partition)].sort((a, b) => a - b));
  }, 60_000);

  it('sends a large append in several requests and acknowledges each partition once, contiguously', async () => {
    const log = await open();
    const topic = await newTopic(log, 2);
    await log.append(topic, [{ value: 'first', partition: 1 }]);
    const value = 'x'.repeat(1000);
    // ≈ 3 MB on partition 0, ≈ 1.5 MB on partition 1: more than one ~900 KiB request part each.
    const records = range(0, 4500).map((i) => ({
      value: `${i}:${value}`,
      partition: i % 3 === 0 ? 1 : 0,
      timestamp: 1_700_000_000_000 + i,
    }));
    const acks = await log.append(topic, records);
    expect(acks).toEqual([
      { partition: 0, baseOffset: 0, count: 3000 },
      { partition: 1, baseOffset: 1, count: 1500 },
    ]);
    const read = await readAll(log, topic);
    expect(read.get(0)!.map((r) => r.value)).toEqual(
      records.filter((r) => r.partition === 0).map((r) => r.value),
    );
    expect(
      read
        .get(1)!
        .slice(1)
        .map((r) => [r.offset, r.timestamp]),
    ).toEqual(records.filter((r) => r.partition === 1).map((r, i) => [i + 1, r.timestamp]));
  }, 60_000);

  it("rejects bad arguments at once, with the lab's codes", async () => {
    const log = await open();
    const topic = await newTopic(log, 2);
    const t0 = performance.now();
    expect((await labError(log.append(`missing-${randomUUID()}`, [{ value: 'x' }]))).code).toBe(
      'LKL_ERR_LOG_TOPIC_UNKNOWN',
    );
    expect((await labError(log.offsets(`missing-${randomUUID()}`))).code).toBe('LKL_ERR_LOG_TOPIC_UNKNOWN');
    expect((await labError(log.deleteTopic(`missing-${randomUUID()}`))).code).toBe(
      'LKL_ERR_LOG_TOPIC_UNKNOWN',
    );
    expect(performance.now() - t0).toBeLessThan(3_000); // no retry loop on an unknown topic
    expect((await labError(log.append(topic, [{ value: 'x', partition: 2 }]))).code).toBe(
      'LKL_ERR_LOG_PARTITION_UNKNOWN',
    );
    const bad = await labError(log.append(topic, [{ value: 'ok' }, { value: 42 as unknown as string }]));
    expect([bad.code, bad.details]).toEqual(['LKL_ERR_LOG_INVALID_ARGUMENT', { topic, index: 1 }]);
    expect((await labError(log.ensureTopic('bad name!', { partitions: 1 }))).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect((await labError(log.ensureTopic(`t-${randomUUID()}`, { partitions: 0 }))).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect((await labError(log.commitOffsets('g', topic, [{ partition: 0, offset: -1 }]))).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect(syncLabError(() => log.consumer({ group: 'g', topic, partitions: [0] })).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect(
      (
        await labError(
          log.consumer({ group: 'g', topic: `missing-${randomUUID()}` }).run(async () => undefined),
        )
      ).code,
    ).toBe('LKL_ERR_LOG_TOPIC_UNKNOWN');
    expect(await log.offsets(topic)).toEqual([
      { partition: 0, low: 0, end: 0 },
      { partition: 1, low: 0, end: 0 },
    ]);
    await log.close();
    expect((await labError(log.listTopics())).code).toBe('LKL_ERR_LOG_CLOSED');
  }, 60_000);

  it('keeps working for other topics when another client deletes a topic this log used', async () => {
    const log = await open();
    const other = await open();
    const a = await newTopic(log, 1);
    const b = await newTopic(log, 2);
    await log.append(a, [{ value: 'a' }]);
    await log.append(b, [{ value: 'b', partition: 0 }]);
    expect(await log.offsets(a)).toEqual([{ partition: 0, low: 0, end: 1 }]);
    expect(await log.committedOffsets('g-none', a)).toEqual([{ partition: 0, offset: null }]);
    await other.deleteTopic(a);

    const t0 = performance.now();
    expect(await log.append(b, [{ value: 'b2', partition: 1 }])).toEqual([
      { partition: 1, baseOffset: 0, count: 1 },
    ]);
    expect(await log.offsets(b)).toEqual([
      { partition: 0, low: 0, end: 1 },
      { partition: 1, low: 0, end: 1 },
    ]);
    expect((await log.lag('g-none', b)).totalLag).toBe(2);
    expect((await labError(log.offsets(a))).code).toBe('LKL_ERR_LOG_TOPIC_UNKNOWN');
    expect((await labError(log.append(a, [{ value: 'x' }]))).code).toBe('LKL_ERR_LOG_TOPIC_UNKNOWN');
    expect(performance.now() - t0).toBeLessThan(15_000);
  }, 60_000);

  it('a handler error stops the consumer and reports it; the failed batch is redelivered to the next consumer', async () => {
    const log = await open();
    const topic = await newTopic(log, 1);
    const group = `g-${randomUUID()}`;
    await log.append(
      topic,
      range(0, 30).map((i) => ({ value: `v-${i}`, partition: 0 })),
    );
    const seen: number[] = [];
    const crashes: unknown[] = [];
    const off = log.on(KAFKA_LOG_EVENTS.CONSUMER_CRASH, (e) => crashes.push(e.error));
    const failing = log.consumer({ group, topic, maxBatchRecords: 10 });
    const boom = new Error('handler failed on purpose');
    await failing.run(async (b) => {
      seen.push(...b.records.map((r) => r.offset));
      if (b.records[0]!.offset === 10) throw boom;
      await failing.commit([{ partition: 0, offset: b.records[b.records.length - 1]!.offset + 1 }]);
    });
    await expect(failing.done()).rejects.toBe(boom);
    off();
    expect(crashes).toEqual([boom]);
    expect(seen).toEqual(range(0, 20));
    expect(failing.assignment()).toEqual([]);
    expect(await log.committedOffsets(group, topic)).toEqual([{ partition: 0, offset: 10 }]);

    const next: number[] = [];
    const c2 = log.consumer({ group, topic });
    await c2.run(async (b) => void next.push(...b.records.map((r) => r.offset)));
    await waitUntil(() => next.length >= 20, { what: '20 records', timeoutMs: 30_000, intervalMs: 25 });
    await sleep(300);
    await c2.stop();
    expect(next).toEqual(range(10, 30));
    await log.deleteGroup(group);
  }, 60_000);

  it('stop() while run() is still starting: run() ends quietly or rejects with LKL_ERR_LOG_CLOSED, and no rejection goes unhandled', async () => {
    const log = await open();
    const topic = await newTopic(log, 2);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // Stopped at several points of its start: before it connects, while it connects, subscribes and joins.
      const outcomes: string[] = [];
      for (const delayMs of [0, 5, 20, 50, 100, 200, 400]) {
        const consumer = log.consumer({ group: `g-${randomUUID()}`, topic });
        const running = consumer
          .run(async () => undefined)
          .then(
            () => 'ran',
            (err: unknown) => (err instanceof LabErrorClass ? err.code : String(err)),
          );
        await sleep(delayMs);
        await consumer.stop();
        outcomes.push(await running);
        expect(consumer.assignment()).toEqual([]);
      }
      expect(
        outcomes.every((o) => o === 'ran' || o === 'LKL_ERR_LOG_CLOSED'),
        outcomes.join(', '),
      ).toBe(true);
      expect(outcomes, 'no stop landed inside the start').toContain('LKL_ERR_LOG_CLOSED');
      await sleep(200); // an unhandled rejection is reported after the microtasks have run
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, 60_000);

  it('seek before run wins over the committed offset, and applies once the partition is assigned', async () => {
    const log = await open();
    const topic = await newTopic(log, 2);
    const group = `g-${randomUUID()}`;
    await log.append(
      topic,
      range(0, 40).map((i) => ({ value: `v-${i}`, partition: i % 2 })),
    );
    await log.commitOffsets(group, topic, [
      { partition: 0, offset: 5 },
      { partition: 1, offset: 5 },
    ]);
    const got: Array<[number, number]> = [];
    const consumer = log.consumer({ group, topic });
    consumer.seek(1, 15);
    await consumer.run(
      async (b) => void got.push(...b.records.map((r): [number, number] => [b.partition, r.offset])),
    );
    expect(consumer.assignment()).toEqual([0, 1]);
    await waitUntil(() => got.length >= 20, { what: '20 records', timeoutMs: 30_000, intervalMs: 25 });
    await sleep(300);
    await consumer.stop();
    expect(got.filter(([p]) => p === 0).map(([, o]) => o)).toEqual(range(5, 20));
    expect(got.filter(([p]) => p === 1).map(([, o]) => o)).toEqual(range(15, 20));
    await log.deleteGroup(group);
  }, 60_000);

  it('two consumers of one group split the partitions and together receive every record once', async () => {
    const log = await open();
    const topic = await newTopic(log, 4);
    const group = `g-${randomUUID()}`;
    const got: Array<{ who: string; partition: number; offset: number }> = [];
    const handler = (who: string) => async (b: RecordBatch) => {
      for (const r of b.records) got.push({ who, partition: b.partition, offset: r.offset });
    };
    const a = log.consumer({ group, topic, start: 'earliest' });
    await a.run(handler('a'));
    expect(a.assignment()).toEqual([0, 1, 2, 3]);
    const b = log.consumer({ group, topic, start: 'earliest' });
    await b.run(handler('b'));
    await waitUntil(() => a.assignment().length === 2 && b.assignment().length === 2, {
      what: 'a rebalance',
      timeoutMs: 30_000,
      intervalMs: 25,
    });
    expect([...a.assignment(), ...b.assignment()].sort()).toEqual([0, 1, 2, 3]);
    const acks = await log.append(
      topic,
      range(0, 200).map((i) => ({ key: `k-${i}`, value: `v-${i}` })),
    );
    await waitUntil(() => got.length >= 200, { what: '200 records', timeoutMs: 30_000, intervalMs: 25 });
    await sleep(300);
    expect(got).toHaveLength(200);
    for (const ack of acks) {
      const owner = a.assignment().includes(ack.partition) ? 'a' : 'b';
      expect(got.filter((g) => g.partition === ack.partition).map((g) => [g.who, g.offset])).toEqual(
        range(0, ack.count).map((i) => [owner, ack.baseOffset + i]),
      );
    }
    // The group has members in this log: commits go through them, with their generation.
    await log.commitOffsets(
      group,
      topic,
      acks.map((x) => ({ partition: x.partition, offset: x.baseOffset + x.count })),
    );
    expect((await log.lag(group, topic)).totalLag).toBe(0);
    await a.stop();
    await b.stop();
    await log.deleteGroup(group);
  }, 90_000);

  it("refuses to commit for, or delete, a group whose members are not this log's consumers", async () => {
    const log = await open();
    const topic = await newTopic(log, 1);
    const group = `g-${randomUUID()}`;
    const kafka = new Kafka({ brokers: brokers(), clientId: 'lkl-foreign', logLevel: logLevel.NOTHING });
    const foreign = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    await foreign.connect();
    await foreign.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => foreign.on(foreign.events.GROUP_JOIN, () => resolve()));
    await foreign.run({ autoCommit: false, eachBatch: async () => undefined });
    await joined;
    try {
      expect((await labError(log.commitOffsets(group, topic, [{ partition: 0, offset: 0 }]))).code).toBe(
        'LKL_ERR_LOG_GROUP_ACTIVE',
      );
      expect((await labError(log.deleteGroup(group))).code).toBe('LKL_ERR_LOG_GROUP_ACTIVE');
      expect(await log.listGroups()).toContain(group);
    } finally {
      await foreign.disconnect();
    }
    await log.commitOffsets(group, topic, [{ partition: 0, offset: 0 }]);
    expect(await log.committedOffsets(group, topic)).toEqual([{ partition: 0, offset: 0 }]);
    await log.deleteGroup(group);
  }, 60_000);
});
