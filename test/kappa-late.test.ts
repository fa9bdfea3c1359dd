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
import { encodeEvent } from '../kernel/events/ysb-event.js';
import { LAB_EVENTS } from '../kernel/instrumentation/lab-events.js';
import { kappaSettings, ref, servedKappa, startKappa, type KappaRig } from '../test-support/kappa-harness.js';
import { cellKey } from '../test-support/recount.js';

const TOPIC = 'late-events';
const B = 1_800_000_000_000; // a window start (multiple of 10 s)
const ad = ref.ads[5]!;
const campaign = ad.campaign_id;
const view = (t: number, user = 0): string =>
  encodeEvent({
    user_id: ref.userPool[user]!,
    page_id: ref.pagePool[0]!,
    ad_id: ad.ad_id,
    ad_type: 'mail',
    event_type: 'view',
    event_time: String(t),
    ip_address: '1.2.3.4',
  });

describe('Kappa late events (embedded): allowed lateness revises a window, beyond it the event is counted as dropped and dead-lettered', () => {
  let dir: string;
  let log: EmbeddedEventLog;
  let store: EmbeddedRealtimeStore;
  let rig: KappaRig;
  const settings = kappaSettings({
    maxOutOfOrderMs: 1_000,
    allowedLatenessMs: 5_000,
    checkpointIntervalMs: 100,
  });
  const append = (values: string[]) =>
    log.append(
      TOPIC,
      values.map((value) => ({ value, partition: 0 })),
    );
  const served = async () => (await servedKappa(store, 'views', B, B + 100_000)).values;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-kappa-late-'));
    log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
    await log.ensureTopic(TOPIC, { partitions: 1 });
    store = await openEmbeddedRealtimeStore({ clock: systemClock });
    rig = await startKappa(log, store, TOPIC, settings);
  });
  afterAll(async () => {
    await rig?.kappa.stop();
    await store?.close();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('revises a closed window within the allowed lateness and drops (dead-letters) an event beyond it', async () => {
    const dropped: unknown[] = [];
    rig.bus.on(LAB_EVENTS.KAPPA_LATE_DROPPED, (e) => dropped.push(e.payload));
    await append([view(B + 1_000), view(B + 2_000, 1), view(B + 25_000)]); // watermark B + 24 000
    await rig.kappa.sync(1, 10_000);
    expect(await served()).toEqual(
      new Map([
        [cellKey(campaign, B), 2],
        [cellKey(campaign, B + 20_000), 1],
      ]),
    );

    // Window B+10 000 ended at B+20 000 ≤ watermark, but B+25 000 (end + lateness) is not reached: a revision.
    // Window B ended at B+10 000; B+15 000 ≤ watermark: closed for good.
    await append([view(B + 12_000, 2), view(B + 3_000, 3)]);
    await rig.kappa.sync(1, 10_000);
    expect(await served()).toEqual(
      new Map([
        [cellKey(campaign, B), 2],
        [cellKey(campaign, B + 10_000), 1],
        [cellKey(campaign, B + 20_000), 1],
      ]),
    );
    const job = (await rig.kappa.view()).jobs[0]!;
    expect(job.counters).toMatchObject({ processed: 5, counted: 4, late: 1, dropped: 1, invalid: 0 });
    expect(dropped).toEqual([{ job: 1, dropped: 1 }]);
    const letters = await log.read(`${TOPIC}-dead-letter`, 0, 0, 10);
    expect(letters).toHaveLength(1);
    const letter = JSON.parse(letters[0]!.value);
    expect(letter.raw).toBe(view(B + 3_000, 3));
    expect(letter.reason).toMatch(
      /^too late: event_time \d+ is in window \d+, which closed for good when the watermark of partition 0 passed \d+ \(window end \+ kappa.allowedLatenessMs 5000 ms\)/,
    );
    expect(letter.source).toMatch(/^kappa-v1 \(lab\) late-events\/0@4$/);
  });

  it('keeps the watermark across a restart: the highest event time is checkpointed with the offsets', async () => {
    await rig.kappa.stop();
    rig = await startKappa(log, store, TOPIC, settings);
    // Had the watermark restarted from nothing, this would count; the restored one (B+24 000) drops it.
    await append([view(B + 4_000, 4), view(B + 26_000, 4)]);
    await rig.kappa.sync(1, 10_000);
    expect(await served()).toEqual(
      new Map([
        [cellKey(campaign, B), 2],
        [cellKey(campaign, B + 10_000), 1],
        [cellKey(campaign, B + 20_000), 2],
      ]),
    );
    const job = (await rig.kappa.view()).jobs[0]!;
    expect(job.counters).toMatchObject({ processed: 7, counted: 5, late: 1, dropped: 2 });
    expect(await log.read(`${TOPIC}-dead-letter`, 0, 0, 10)).toHaveLength(2);
  });

  it('dead-letters records that are not YSB events, with the reason', async () => {
    await log.append(TOPIC, [{ value: '{"user_id":"broken"', partition: 0 }]);
    await rig.kappa.sync(1, 10_000);
    const letters = await log.read(`${TOPIC}-dead-letter`, 0, 0, 10);
    expect(letters).toHaveLength(3);
    expect(JSON.parse(letters[2]!.value)).toMatchObject({ raw: '{"user_id":"broken"' });
    expect(JSON.parse(letters[2]!.value).reason).toMatch(/^not a valid YSB event: not valid JSON/);
    expect((await rig.kappa.view()).jobs[0]!.counters.invalid).toBe(1);
  });
});
