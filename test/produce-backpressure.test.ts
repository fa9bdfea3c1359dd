import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { systemClock } from '../kernel/clock/system-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { describeDistributed, kafkaBrokers, redisUrl } from '../test-support/infra.js';

const LIMIT = 5_000;
const RATE = 20_000;

describeDistributed('lklab produce waits on the lag of a Kappa live job that runs in another process', () => {
  it('stops appending while the live job (its group named by the registry in the store) is past 2 × maxLagEvents behind, and resumes once it catches up', async () => {
    const { createEventLog } = await import('../kernel/adapters/event-log-factory.js');
    const { createRealtimeStore } = await import('../kernel/adapters/store-factory.js');
    const { newJobRecord } = await import('../kappa-reprocessor/control/index.js');
    const { saveRegistry } = await import('../kappa-reprocessor/state/index.js');
    const { spawnTsChild } = await import('../test-support/child-process.js');
    const namespace = `bp${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), 'lkl-produce-bp-'));
    const configFile = join(dir, 'lab.json');
    writeFileSync(configFile, JSON.stringify({ backpressure: { maxLagEvents: LIMIT } }));
    const env = {
      KAFKA_BROKERS: kafkaBrokers()!.join(','),
      REDIS_URL: redisUrl()!,
      LKLAB_NAMESPACE: namespace,
      LKLAB_DATA_DIR: dir,
      LKLAB_CONFIG: configFile,
      LKLAB_PARTITIONS: '4',
    };
    const config = loadConfig({ env });
    const log = await createEventLog(config, systemClock);
    const store = await createRealtimeStore(config, systemClock);
    const group = 'lklab-kappa-v1';
    // The lab's registry as a lab with its Kappa jobs in `lklab kappa-worker` processes leaves it:
    // job 1 live. Its group committed at 0 everywhere: a worker that has not read anything yet.
    const job = newJobRecord({ id: 1, logicVersion: 1, group, state: 'live', kind: 'initial', createdAt: 0 });
    await saveRegistry(store, [job], { job: 1, logicVersion: 1, previous: null, switchedAt: null });
    await log.ensureTopic(AD_EVENTS_TOPIC, { partitions: 4 });
    const commitAtEnd = async (): Promise<void> => {
      const ends = await log.offsets(AD_EVENTS_TOPIC);
      await log.commitOffsets(
        group,
        AD_EVENTS_TOPIC,
        ends.map((p) => ({ partition: p.partition, offset: p.end })),
      );
    };
    await commitAtEnd();
    const end = async (): Promise<number> =>
      (await log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0);
    const producer = spawnTsChild('test/fixtures/lklab-cli.ts', ['produce', '--rate', String(RATE)], env);
    try {
      await waitUntil(async () => (await end()) > 2 * LIMIT, {
        what: () => `the producer to pass 2 × maxLagEvents: ${producer.stderr()}`,
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      // Saturated from the next refresh (1 s on Kafka) on: the end stands still.
      await new Promise((r) => setTimeout(r, 3_000));
      const held = await end();
      await new Promise((r) => setTimeout(r, 3_000));
      const after = await end();
      console.log(
        `[produce-bp] held at ${held} events, ${after - held} more in 3 s (unthrottled: ${3 * RATE})`,
      );
      // Bounded: the limit with its slack, plus what one refresh interval lets through at the rate.
      expect(held).toBeLessThanOrEqual(2 * LIMIT + 2 * RATE);
      expect(after - held).toBeLessThan(RATE / 10);
      // The worker catches up (commits the end): the producer resumes.
      await commitAtEnd();
      await waitUntil(async () => (await end()) > after + 2 * LIMIT, {
        what: () => `the producer to resume: ${producer.stderr()}`,
        timeoutMs: 15_000,
        intervalMs: 100,
      });
    } finally {
      producer.proc.kill('SIGTERM');
      await producer.exited;
      await store.deleteByPrefix('');
      await store.close();
      await log.deleteGroup(group).catch(() => undefined);
      await log.deleteTopic(AD_EVENTS_TOPIC).catch(() => undefined);
      await log.deleteTopic(`${AD_EVENTS_TOPIC}-dead-letter`).catch(() => undefined);
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
