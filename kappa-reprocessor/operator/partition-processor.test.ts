import { describe, expect, it } from 'vitest';
import { encodeEvent, type YsbEvent } from '../../kernel/events/ysb-event.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import type { EncodedDelta } from './checkpoint-delta.js';
import { foldWindow } from '../state/index.js';
import { kappaLogic } from '../logic/index.js';
import { NO_EVENT_TIME, PartitionProcessor } from './partition-processor.js';

const ref = buildReferenceData();
const ctx = { campaignOf: ref.campaignOf, bots: new Set(ref.bots), movedAds: ref.movedAds };
const ad = ref.ads[0]!;
/** Folds encoded deltas the way readers fold a window's fields: window → campaign → views, users. */
function cells(...deltas: EncodedDelta[]): Map<number, Map<string, { views: number; users: Set<string> }>> {
  const fields = new Map<number, Record<string, string>>();
  deltas.forEach((d, i) => {
    for (const [w, payload] of d.windows)
      fields.set(w, { ...fields.get(w), [`${i}`]: `{"t":${i},"c":${payload}}` });
  });
  return new Map(
    [...fields].map(([w, f]) => [
      w,
      new Map(
        [...foldWindow(f, { distinct: true })].map(([c, cell]) => [
          c,
          { views: cell.views, users: cell.users! },
        ]),
      ),
    ]),
  );
}

const view = (t: number, user = ref.userPool[0]!): string =>
  encodeEvent({
    user_id: user,
    page_id: ref.pagePool[0]!,
    ad_id: ad.ad_id,
    ad_type: 'banner',
    event_type: 'view',
    event_time: String(t),
    ip_address: '1.2.3.4',
  } satisfies YsbEvent);

describe('partition processor: windows, watermark, allowed lateness', () => {
  const policy = { maxOutOfOrderMs: 1_000, allowedLatenessMs: 5_000 };

  it('counts on-time events, revises a window for an event within the allowed lateness, dead-letters one beyond it', () => {
    const p = new PartitionProcessor(0, kappaLogic(1), ctx, policy);
    expect(p.watermark).toBe(NO_EVENT_TIME);
    p.process(view(100_000), 0); // window 100000
    p.process(view(125_000), 1); // window 120000; watermark → 124000
    expect(p.watermark).toBe(124_000);
    p.process(view(112_000), 2); // window 110000 ended at 120000 ≤ 124000 < 125000: late, still counted
    p.process(view(105_000, ref.userPool[1]!), 3); // window 100000 closed for good at 115000 ≤ 124000: dropped
    p.process(view(124_500), 4); // window 120000 still open
    const d = p.takeDelta();
    const cell = (w: number) => cells(d).get(w)?.get(ad.campaign_id);
    expect(cell(100_000)).toEqual({ views: 1, users: new Set([ref.userPool[0]]) });
    expect(cell(110_000)?.views).toBe(1);
    expect(cell(120_000)?.views).toBe(2);
    expect(d.counters).toEqual({ processed: 5, counted: 4, late: 1, dropped: 1, invalid: 0, slowPath: 0 });
    expect(d.deadLetters).toHaveLength(1);
    expect(d.deadLetters[0]).toMatchObject({ partition: 0, offset: 3, raw: view(105_000, ref.userPool[1]!) });
    expect(d.deadLetters[0]!.reason).toMatch(
      /too late: event_time 105000 is in window 100000, which closed for good when the watermark of partition 0 passed 115000/,
    );
    expect(p.takeDelta()).toMatchObject({ windows: [], deadLetters: [], counters: { processed: 0 } });
  });

  it('decides from the partition alone: a restart from the checkpointed highest event time decides the same', () => {
    const events = [100_000, 131_000, 118_000, 126_500, 119_999, 140_000, 129_000].map((t) => view(t));
    const straight = new PartitionProcessor(0, kappaLogic(1), ctx, policy);
    events.forEach((e, i) => straight.process(e, i));
    const a = straight.takeDelta();
    const first = new PartitionProcessor(0, kappaLogic(1), ctx, policy);
    events.slice(0, 3).forEach((e, i) => first.process(e, i));
    const b1 = first.takeDelta();
    const resumed = new PartitionProcessor(0, kappaLogic(1), ctx, policy, first.maxEventTime);
    events.slice(3).forEach((e, i) => resumed.process(e, i + 3));
    const b2 = resumed.takeDelta();
    expect(cells(b1, b2)).toEqual(cells(a));
    const sum = { ...b1.counters };
    for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += b2.counters[k];
    expect(sum).toEqual(a.counters);
    expect(a.counters).toMatchObject({ dropped: 3, late: 1, counted: 4 });
  });

  it('writes a user of a cell once, and forgets windows past the allowed lateness', () => {
    const p = new PartitionProcessor(0, kappaLogic(1), ctx, policy);
    p.process(view(100_000), 0);
    const first = p.takeDelta();
    p.process(view(100_500), 1); // same user, same cell: counted, but no user to write again
    p.process(view(101_000, ref.userPool[1]!), 2);
    const second = p.takeDelta();
    expect(JSON.parse(first.windows[0]![1])).toEqual([[ad.campaign_id, 1, [ref.userPool[0]]]]);
    expect(JSON.parse(second.windows[0]![1])).toEqual([[ad.campaign_id, 2, [ref.userPool[1]]]]);
    expect(cells(first, second).get(100_000)!.get(ad.campaign_id)).toEqual({
      views: 3,
      users: new Set([ref.userPool[0], ref.userPool[1]]),
    });
  });

  it('dead-letters records that are not YSB events, and v2 drops bots', () => {
    const p = new PartitionProcessor(2, kappaLogic(2), ctx, policy);
    p.process('not json', 7);
    p.process(view(100_000, ref.bots[0]!), 8);
    p.process(view(100_001), 9);
    const d = p.takeDelta();
    expect(d.counters).toMatchObject({ processed: 3, counted: 1, invalid: 1 });
    expect(d.deadLetters[0]).toMatchObject({ partition: 2, offset: 7, raw: 'not json' });
    expect(d.deadLetters[0]!.reason).toMatch(/^not a valid YSB event: not valid JSON/);
  });
});
