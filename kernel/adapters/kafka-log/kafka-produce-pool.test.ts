/**
 * The producer pool against a real broker (KAFKA_BROKERS): N threads, each an idempotent
 * producer, write every record once, on the partition KafkaEventLog.append() would choose, in
 * append order per partition; a bad append is refused before anything is sent.
 */
import { afterEach, expect, it } from 'vitest';
import { describeWithKafka } from '../../../test-support/infra.js';
import { brokers, labError, newTopic, open, readAll } from '../../../test-support/kafka-test-support.js';
import { systemClock } from '../../clock/system-clock.js';
import { partitionForKey } from '../embedded-log/partitioner.js';
import { openKafkaProducePool, type KafkaProducePool } from './kafka-produce-pool.js';

const pools: KafkaProducePool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
}, 60_000);

async function pool(workers: number): Promise<KafkaProducePool> {
  const p = await openKafkaProducePool({
    brokers: brokers(),
    clientId: 'lkl-test-pool',
    clock: systemClock,
    workers,
  });
  pools.push(p);
  return p;
}

describeWithKafka('Kafka producer pool (worker threads)', () => {
  it('writes every record exactly once, keyed like append(), in order per partition', async () => {
    const log = await open();
    const topic = await newTopic(log, 4);
    const p = await pool(3);
    expect(p.workers).toBe(3);
    const n = 6_000;
    let seq = 0;
    for (let b = 0; b < 3; b++) {
      const records = Array.from({ length: n / 3 }, () => {
        const i = seq++;
        return { key: `ad-${i % 97}`, value: JSON.stringify({ i }), timestamp: 1_700_000_000_000 + i };
      });
      const acks = await p.append(topic, records);
      expect(acks.reduce((a, x) => a + x.count, 0)).toBe(records.length);
      expect(acks.map((a) => a.partition)).toEqual([...acks.map((a) => a.partition)].sort());
    }
    const got = await readAll(log, topic);
    const seen = new Set<number>();
    for (const [partition, recs] of got) {
      let last = -1;
      for (const r of recs) {
        const { i } = JSON.parse(r.value) as { i: number };
        expect(seen.has(i)).toBe(false);
        seen.add(i);
        expect(partition).toBe(partitionForKey(`ad-${i % 97}`, 4));
        expect(r.timestamp).toBe(1_700_000_000_000 + i);
        expect(i).toBeGreaterThan(last);
        last = i;
      }
    }
    expect(seen.size).toBe(n);
  });

  it('refuses an invalid append before sending anything, and a pool of 0 workers', async () => {
    const log = await open();
    const topic = await newTopic(log, 2);
    const p = await pool(2);
    const err = await labError(p.append(topic, [{ value: 'ok' }, { value: 'x', partition: 7 }]));
    expect(err.code).toMatch(/^LKL_ERR_LOG_/);
    const offsets = await log.offsets(topic);
    expect(offsets.reduce((a, o) => a + o.end, 0)).toBe(0);
    const bad = await labError(
      openKafkaProducePool({ brokers: brokers(), clientId: 'x', clock: systemClock, workers: 0 }),
    );
    expect(bad.code).toBe('LKL_ERR_LOG_INVALID_ARGUMENT');
    expect(bad.message).toContain('1 to 64 workers');
  });
});
