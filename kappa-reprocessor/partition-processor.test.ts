import { describe, expect, it } from 'vitest';
import { encodeEvent, type YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { kappaLogic } from './logic/index.js';
import { NO_EVENT_TIME, PartitionProcessor } from './partition-processor.js';

const ref = buildReferenceData();
const ctx = { campaignOf: ref.campaignOf, bots: new Set(ref.bots) };
const ad = ref.ads[0]!;
const view = (t: number, user = ref.userPool[0]!): string =>
  encodeEvent({ user_id: user, page_id: ref.pagePool[0]!, ad_id: ad.ad_id, ad_type: 'banner', event_type: 'view', event_time: String(t), ip_address: '1.2.3.4' } satisfies YsbEvent);

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
    const cell = (w: number) => d.windows.get(w)?.get(ad.campaign_id);
    expect(cell(100_000)).toEqual({ views: 1, users: new Set([ref.userPool[0]]) });
    expect(cell(110_000)?.views).toBe(1);
    expect(cell(120_000)?.views).toBe(2);
    expect(d.counters).toEqual({ processed: 5, counted: 4, late: 1, dropped: 1, invalid: 0, slowPath: 0 });
    expect(d.deadLetters).toHaveLength(1);
    expect(d.deadLetters[0]).toMatchObject({ partition: 0, offset: 3, raw: view(105_000, ref.userPool[1]!) });
    expect(d.deadLetters[0]!.reason).toMatch(/too late: event_time 105000 is in window 100000, which closed for good when the watermark of partition 0 passed 115000/);
    expect(p.takeDelta().isEmpty).toBe(true);
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
    b1.merge(b2);
    expect(b1.counters).toEqual(a.counters);
    expect(b1.serialize().cells.sort()).toEqual(a.serialize().cells.sort());
    expect(a.counters).toMatchObject({ dropped: 3, late: 1, counted: 4 });
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
