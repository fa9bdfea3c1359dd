/**
 * What bench/kafka-bench.ts produces and how it consumes: the YSB events to append, and one round
 * of our consumer from the earliest offset (group join, fetch, decode, JSON.parse).
 */
import { randomUUID } from 'node:crypto';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import { YsbGenerator } from '../../kernel/workload/ysb-generator.js';
import { type KafkaEventLog } from '../../kernel/adapters/kafka-log/kafka-event-log.js';
import { timed } from './measure.js';

/** N YSB events as the lab's generator appends them: values, their keys (ad_id) and the views among them. */
export function generateEvents(n: number): { keys: string[]; values: string[]; views: number } {
  const gen = new YsbGenerator(buildReferenceData(), {
    seed: 42,
    mode: 'catch-up',
    rate: 0,
    startTime: 1_700_000_000_000,
  });
  const keys = new Array<string>(n);
  const values = new Array<string>(n);
  let views = 0;
  for (let i = 0; i < n;) {
    for (const r of gen.take(Math.min(50_000, n - i))) {
      keys[i] = r.event!.ad_id;
      values[i++] = r.value;
      if (r.event?.event_type === 'view') views++;
    }
  }
  return { keys, values, views };
}

export interface ConsumeRound {
  /** From run() to the last record handled: join + fetch + decode + JSON.parse. */
  eventsPerSec: number;
  /** From the first batch to the last (like ConsumerPerformance's fetch.nMsg.sec). */
  fetchEventsPerSec: number;
  cpuEventsPerSec: number;
  joinMs: number;
  views: number;
}

export async function consumeAll(log: KafkaEventLog, topic: string, n: number): Promise<ConsumeRound> {
  const group = `bench-${randomUUID()}`;
  let count = 0;
  let views = 0;
  let firstBatchAt = 0;
  let lastAt = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const consumer = log.consumer({ group, topic, start: 'earliest' });
  const t = await timed(async () => {
    const t0 = performance.now();
    await consumer.run(async (batch) => {
      if (firstBatchAt === 0) firstBatchAt = performance.now();
      for (const r of batch.records) {
        const e = JSON.parse(r.value) as { event_type: string };
        if (e.event_type === 'view') views++;
      }
      count += batch.records.length;
      if (count >= n) {
        lastAt = performance.now();
        finish();
      }
    });
    const joinMs = performance.now() - t0;
    await done;
    return { t0, joinMs };
  });
  await consumer.stop();
  await log.deleteGroup(group).catch(() => undefined);
  if (count !== n) throw new Error(`consumed ${count} events, expected ${n}`);
  const perSec = (ms: number): number => Math.round(n / (ms / 1000));
  return {
    eventsPerSec: perSec(lastAt - t.value.t0),
    fetchEventsPerSec: perSec(lastAt - firstBatchAt),
    cpuEventsPerSec: perSec(t.cpuMs),
    joinMs: Math.round(t.value.joinMs),
    views,
  };
}
