import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { encodeEvent, WINDOW_MS } from '../kernel/events/ysb-event.js';
import { appendCatchUp, catchUpEvents, ref, T0 } from '../test-support/kappa-harness.js';
import { cellKey, recount } from '../test-support/recount.js';
import { TruthOracle } from './truth-oracle.js';

const TOPIC = 'ad-events';
const N = 20_000; // 200 s of event time: 20 windows

function oracle(log: EmbeddedEventLog, group: string): TruthOracle {
  return new TruthOracle(log, ref, systemClock, {
    topic: TOPIC,
    group,
    path: undefined,
    maxOutOfOrderMs: 1_000,
    allowedLatenessMs: 60_000,
    flushIntervalMs: 60_000,
  });
}

const view = (t: number, user: string): { key: string; value: string } => {
  const ad = ref.ads[0]!;
  return {
    key: ad.ad_id,
    value: encodeEvent({
      user_id: user,
      page_id: ref.pagePool[0]!,
      ad_id: ad.ad_id,
      ad_type: 'banner',
      event_type: 'view',
      event_time: String(t),
      ip_address: '1.2.3.4',
    }),
  };
};

describe('truth oracle: answers of unchanged windows kept between queries', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let cached: TruthOracle;
  const from = T0;
  const to = T0 + N * 10 + WINDOW_MS;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-truth-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
    await log.ensureTopic(TOPIC, { partitions: 4 });
    await appendCatchUp(log, TOPIC, 3, N);
    cached = oracle(log, 'truth-cached');
    await cached.start();
    await cached.sync(30_000);
  }, 60_000);
  afterAll(async () => {
    await cached?.stop();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers what a fresh oracle and the recount answer, before and after rows land in a closed window', async () => {
    const truth = recount(catchUpEvents(3, N), ref);
    const first = await cached.cells(from, to);
    // Cells of v1 (a cell that exists only under v3's join has no v1 views).
    const v1 = [...first.values()].filter((c) => c.views[1]! > 0);
    expect(v1.length).toBe(truth.views.size);
    for (const cell of v1) {
      const key = cellKey(cell.campaign, cell.window);
      expect(cell.views[1], key).toBe(truth.views.get(key));
      expect(cell.users[1], key).toBe(truth.distinct.get(key)?.size);
    }
    // A narrower range and a second query come from the kept answers, and agree.
    const inner = await cached.cells(from + 5 * WINDOW_MS, from + 9 * WINDOW_MS);
    expect([...inner.values()]).toEqual(
      [...first.values()].filter((c) => c.window >= from + 5 * WINDOW_MS && c.window < from + 9 * WINDOW_MS),
    );
    expect(await cached.cells(from, to)).toEqual(first);

    // A view far too late for the first window (dropped) and a new user in the last one.
    const last = T0 + (N - 1) * 10;
    await log.append(TOPIC, [view(T0 + 1, 'late-user'), view(last, 'new-user')]);
    await cached.sync(30_000);
    const after = await cached.cells(from, to);
    const fresh = oracle(log, 'truth-fresh');
    await fresh.start();
    await fresh.sync(30_000);
    try {
      expect(after).toEqual(await fresh.cells(from, to));
    } finally {
      await fresh.stop();
    }
    const campaign = ref.ads[0]!.campaign_id;
    const changed = [...after.values()].filter((c) => c.campaign === campaign && c.window === T0);
    expect(changed).toHaveLength(1);
    const before = [...first.values()].find((c) => c.campaign === campaign && c.window === T0);
    expect(changed[0]!.views[1]).toBe((before?.views[1] ?? 0) + 1);
    expect(changed[0]!.dropped[1]).toBe((before?.dropped[1] ?? 0) + 1);
  }, 60_000);
});
