import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisRealtimeStore } from '../kernel/adapters/redis-store/redis-realtime-store.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { describeWithRedis, redisUrl } from '../test-support/infra.js';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import {
  FOLDED_FIELD,
  foldCacheOf,
  listWindows,
  readKappaWindows,
  tablePrefix,
  windowKey,
} from '../kappa-reprocessor/state/index.js';
import { WindowCompactor } from '../kappa-reprocessor/runtime/index.js';
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

const N = 200_000;
const TOPIC = 'ad-events';

interface StoreUnderTest {
  open(dir: string): Promise<RealtimeStore>;
  /** The same store opened again (a restart). */
  reopen(dir: string): Promise<RealtimeStore>;
  /** Checkpoints what the store holds in memory before a reopen. */
  persist(store: RealtimeStore): Promise<void>;
}

const embedded: StoreUnderTest = {
  open: (dir) => openEmbeddedRealtimeStore({ dir: join(dir, 'store'), clock: systemClock }),
  reopen: (dir) => openEmbeddedRealtimeStore({ dir: join(dir, 'store'), clock: systemClock }),
  persist: (store) => (store as Awaited<ReturnType<typeof openEmbeddedRealtimeStore>>).checkpoint(),
};

const prefix = `lklab-test-fold-${randomUUID().slice(0, 8)}:`;
const redis: StoreUnderTest = {
  open: () => openRedisRealtimeStore({ url: redisUrl()!, prefix }),
  reopen: () => openRedisRealtimeStore({ url: redisUrl()!, prefix }),
  persist: async () => undefined,
};

describe('Kappa final windows folded into one field each (embedded store)', () => foldSuite(embedded));
describeWithRedis('Kappa final windows folded into one field each (Redis store)', () => foldSuite(redis));

function foldSuite(sut: StoreUnderTest): void {
  let dir: string;
  let log: EmbeddedEventLog;
  let store: RealtimeStore;
  let rig: KappaRig;
  const { from, to } = catchUpRange(N);
  const settings = kappaSettings({ checkpointIntervalMs: 500 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-fold-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
    await log.ensureTopic(TOPIC, { partitions: 4 });
    store = await sut.open(dir);
    await appendCatchUp(log, TOPIC, 11, N);
    rig = await startKappa(log, store, TOPIC, settings);
    await rig.kappa.sync(1, 60_000);
  }, 120_000);
  afterAll(async () => {
    await rig?.kappa.stop();
    await store?.deleteByPrefix('');
    await store?.close();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('folds every window past every partition’s watermark + allowed lateness, and the answers stay exact', async () => {
    const truth = recount(catchUpEvents(11, N), ref);
    const bytesBefore = (await store.memoryBytes?.(tablePrefix(1))) ?? 0;
    const compactor = new WindowCompactor({
      store,
      job: 1,
      policy: { maxOutOfOrderMs: settings.maxOutOfOrderMs, allowedLatenessMs: settings.allowedLatenessMs },
      partitions: async () => 4,
      maxWindowsPerRun: 50,
    });
    // A reader that reads the windows before they are folded (views only, as final-event latency
    // does) fills this store's fold cache with the delta fields; folding a window forgets them.
    const all = (await listWindows(store, 1)).sort((a, b) => a - b);
    await readKappaWindows(store, 1, all, { distinct: false });
    const cachedBefore = foldCacheOf(store).size;
    expect(cachedBefore).toBeGreaterThanOrEqual(all.length);
    let runs = 0;
    let byCompactor = 0;
    for (let n; (n = await compactor.run()) > 0; runs++) byCompactor += n;
    expect(foldCacheOf(store).size).toBeLessThanOrEqual(cachedBefore - byCompactor);
    expect(runs).toBeGreaterThan(1); // bounded per run
    const windows = (await listWindows(store, 1)).sort((a, b) => a - b);
    const last = (N - 1) * 10 + from; // the newest event time
    // The stream's order is event-time order, so every partition's watermark ends near `last`.
    const openFrom = last - settings.maxOutOfOrderMs - settings.allowedLatenessMs - 2 * WINDOW_MS;
    let folded = 0;
    for (const w of windows) {
      const names = Object.keys(await store.getFields(windowKey(1, w)));
      if (w + WINDOW_MS + settings.allowedLatenessMs <= openFrom) {
        expect(names, `window ${w}`).toEqual([FOLDED_FIELD]);
        folded++;
      } else if (names.includes(FOLDED_FIELD)) folded++;
    }
    expect(folded).toBeGreaterThan(windows.length - 10);
    // The job's own runner folds too (32 windows every 10 s) while this compactor runs beside it:
    // two members folding one table, which the folded field's offsets make safe.
    const runner = (await rig.kappa.view()).jobs.find((j) => j.id === 1)!.runner!;
    expect(byCompactor).toBeGreaterThan(0);
    expect(byCompactor + runner.windowsFolded).toBeGreaterThanOrEqual(folded);
    const bytesAfter = (await store.memoryBytes?.(tablePrefix(1))) ?? 0;
    expect(bytesAfter).toBeLessThan(bytesBefore / 3);

    const views = await servedKappa(store, 'views', from, to);
    expectAllCorrect(views.values, truth.views, from, to);
    const distinct = await servedKappa(store, 'distinct_users', from, to);
    expectAllCorrect(distinct.values, truth.distinct, from, to);

    // Survives a restart of the store: the fold was journaled.
    await rig.kappa.stop();
    await sut.persist(store);
    const reopened = await sut.reopen(dir);
    const again = await servedKappa(reopened, 'distinct_users', from, to);
    expectAllCorrect(again.values, truth.distinct, from, to);
    await reopened.close();
    console.log(
      `[kappa fold] ${folded} of ${windows.length} windows folded in ${runs} runs; table ${Math.round(bytesBefore / 1024)} KB → ${Math.round(bytesAfter / 1024)} KB`,
    );
  }, 120_000);
}
