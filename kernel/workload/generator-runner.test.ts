/**
 * The live generator when an append is only partly written (a producer pool whose one thread
 * failed): it resends the records the error names in details.unwritten, and only those, so the
 * log holds the seed's stream once, in order per partition.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openEmbeddedEventLog } from '../adapters/embedded-log/embedded-event-log.js';
import { systemClock } from '../clock/system-clock.js';
import { LabError } from '../errors/lab-error.js';
import { DeadLetterWriter } from '../ingest/dead-letter.js';
import type { AppendRecord } from '../ports/event-log.js';
import { GeneratorRunner } from './generator-runner.js';
import { buildReferenceData } from './reference-data.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('resends only the records a partly written append names as unwritten', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lkl-genrun-'));
  const log = await openEmbeddedEventLog({ dataDir, clock: systemClock });
  cleanups.push(async () => {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await log.ensureTopic('ad-events', { partitions: 1 });
  const dead = new DeadLetterWriter(log, systemClock);
  await dead.ensureTopic();
  const attempts: string[][] = [];
  // The first append writes its even-indexed records and fails for the odd ones, like a pool
  // with one failed thread; the next appends go through.
  const producer = {
    append: async (topic: string, records: AppendRecord[]) => {
      attempts.push(records.map((r) => r.value));
      if (attempts.length > 1) return log.append(topic, records);
      await log.append(
        topic,
        records.filter((_, i) => i % 2 === 0),
      );
      throw new LabError('LKL_ERR_LOG_UNAVAILABLE', 'one producer thread failed', {
        details: { unwritten: records.map((_, i) => i).filter((i) => i % 2 === 1) },
      });
    },
  };
  const gen = new GeneratorRunner(producer, dead, buildReferenceData(), systemClock, {
    rate: 2_000,
    mode: 'live',
    seed: 7,
    tickMs: 20,
    knobs: {},
  });
  gen.start();
  await systemClock.sleep(300);
  await gen.stop();
  expect(gen.status.appendErrors).toBe(1);
  const first = attempts[0]!;
  const second = attempts[1]!;
  // The retry starts with the odd records of the failed append, in order.
  expect(second.slice(0, Math.floor(first.length / 2))).toEqual(first.filter((_, i) => i % 2 === 1));
  const written: string[] = [];
  const c = log.consumer({ group: 'g', topic: 'ad-events', start: 'earliest' });
  const end = (await log.offsets('ad-events')).reduce((s, p) => s + p.end, 0);
  await c.run(async (b) => {
    written.push(...b.records.map((r) => r.value));
  });
  while (written.length < end) await systemClock.sleep(10);
  await c.stop();
  expect(new Set(written).size).toBe(written.length);
  expect(written.length).toBe(gen.status.produced);
  expect(new Set(written)).toEqual(
    new Set(
      attempts
        .slice(1)
        .flat()
        .concat(first.filter((_, i) => i % 2 === 0)),
    ),
  );
});
