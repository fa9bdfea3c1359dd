import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../kernel/adapters/embedded-log/embedded-event-log.js';
import {
  openEmbeddedRealtimeStore,
  type EmbeddedRealtimeStore,
} from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import {
  appendCatchUp,
  catchUpEvents,
  catchUpRange,
  kappaSettings,
  ref,
  servedKappa,
  startKappa,
  type KappaRig,
} from '../test-support/kappa-harness.js';
import { expectAllCorrect } from '../test-support/expect-all-correct.js';
import { recount } from '../test-support/recount.js';

const N = Number(process.env.LKLAB_KAPPA_TEST_EVENTS ?? 1_000_000);
const TOPIC = 'ad-events';

describe(`Kappa on the embedded log and store: catch-up of ${N.toLocaleString('en')} YSB events`, () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let store: EmbeddedRealtimeStore;
  let rig: KappaRig;
  const { from, to } = catchUpRange(N);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
    await log.ensureTopic(TOPIC, { partitions: 4 });
    store = await openEmbeddedRealtimeStore({ dir: join(dir, 'store'), clock: systemClock });
    await appendCatchUp(log, TOPIC, 7, N);
    rig = await startKappa(log, store, TOPIC, kappaSettings({ checkpointIntervalMs: 500 }));
  }, 180_000);
  afterAll(async () => {
    await rig?.kappa.stop();
    await store?.close();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the live job answers 100 % CORRECT views and exact distinct users for every window', async () => {
    const t0 = performance.now();
    await rig.kappa.sync(1, 150_000);
    const ms = performance.now() - t0;
    const truth = recount(catchUpEvents(7, N), ref);
    const views = await servedKappa(store, 'views', from, to);
    expectAllCorrect(views.values, truth.views, from, to);
    expect([...views.sources]).toEqual(['kappa']);
    expect([...views.jobs]).toEqual([1]);
    const distinct = await servedKappa(store, 'distinct_users', from, to);
    expectAllCorrect(distinct.values, truth.distinct, from, to);
    expect(truth.views.size).toBeGreaterThan(N / 100);
    const job = (await rig.kappa.view()).jobs.find((j) => j.id === 1)!;
    expect(job.counters.processed).toBe(N);
    expect(job.counters.invalid).toBe(0);
    expect(job.counters.dropped).toBe(0);
    expect(job.lag).toBe(0);
    console.log(
      `[kappa] live job: ${N} events in ${ms.toFixed(0)} ms (${Math.round((N / ms) * 1000)} events/s incl. checkpoints)`,
    );
  }, 200_000);
});
