import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../events/event-decoder.js';
import { buildReferenceData } from './reference-data.js';
import { YsbGenerator } from './ysb-generator.js';

const ref = buildReferenceData();

describe('reference data', () => {
  it('has 100 campaigns x 10 ads, each ad in exactly one campaign, stable for the seed', () => {
    expect(ref.campaigns).toHaveLength(100);
    expect(ref.ads).toHaveLength(1000);
    expect(new Set(ref.ads.map((a) => a.ad_id)).size).toBe(1000);
    const perCampaign = new Map<string, number>();
    for (const a of ref.ads) perCampaign.set(a.campaign_id, (perCampaign.get(a.campaign_id) ?? 0) + 1);
    expect([...perCampaign.values()].every((n) => n === 10)).toBe(true);
    expect(buildReferenceData().ads).toEqual(ref.ads);
    expect(buildReferenceData({ seed: 2 }).ads[0]).not.toEqual(ref.ads[0]);
  });
});

describe('YSB generator statistics over 1 M events', () => {
  const N = 1_000_000;
  const gen = new YsbGenerator(ref, { seed: 7, mode: 'catch-up', rate: 0, startTime: 1_700_000_000_000 });
  const records = gen.take(N);

  it('produces valid YSB events, about 1/3 views, each campaign 1 % ± 0.2 %', () => {
    let views = 0;
    const perCampaign = new Map<string, number>();
    for (const r of records) {
      const e = r.event!;
      if (e.event_type === 'view') views++;
      const c = ref.campaignOf.get(e.ad_id)!;
      perCampaign.set(c, (perCampaign.get(c) ?? 0) + 1);
    }
    expect(records).toHaveLength(N);
    expect(Math.abs(views / N - 1 / 3)).toBeLessThan(0.01);
    expect(perCampaign.size).toBe(100);
    for (const n of perCampaign.values()) expect(Math.abs(n / N - 0.01)).toBeLessThanOrEqual(0.002);
    // Every record decodes with the same validator ingest uses.
    for (let i = 0; i < N; i += 9973) expect(decodeEvent(records[i]!.value).ok).toBe(true);
  });

  it('spaces catch-up event times exactly 10 ms apart', () => {
    for (let i = 1; i < N; i++) {
      const d = Number(records[i]!.event!.event_time) - Number(records[i - 1]!.event!.event_time);
      if (d !== 10) expect.fail(`event ${i} is ${d} ms after the previous one`);
    }
    expect(records[0]!.event!.event_time).toBe('1700000000000');
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = new YsbGenerator(ref, {
      seed: 7,
      mode: 'catch-up',
      rate: 0,
      startTime: 1_700_000_000_000,
    }).take(1000);
    expect(again.map((r) => r.value)).toEqual(records.slice(0, 1000).map((r) => r.value));
    const other = new YsbGenerator(ref, {
      seed: 8,
      mode: 'catch-up',
      rate: 0,
      startTime: 1_700_000_000_000,
    }).take(10);
    expect(other.map((r) => r.value)).not.toEqual(records.slice(0, 10).map((r) => r.value));
  });
});

describe('live and skew modes', () => {
  it('paces live mode at the target rate with event_time = scheduled emit time', () => {
    const g = new YsbGenerator(ref, { seed: 1, mode: 'live', rate: 50_000, startTime: 0 });
    const first = g.until(1000);
    expect(first).toHaveLength(50_000);
    expect(first.every((r) => Number(r.event!.event_time) === r.scheduledTime)).toBe(true);
    expect(g.until(1500)).toHaveLength(25_000);
  });

  it('skews by at most ±50 ms except about 1 in 100 000 late by up to 60 s', () => {
    const g = new YsbGenerator(ref, { seed: 3, mode: 'skew', rate: 100_000, startTime: 100_000 });
    const recs = g.until(100_000 + 10_000); // 1 M events
    let late = 0;
    let minLate = 0;
    let maxJitter = 0;
    for (const r of recs) {
      const d = Number(r.event!.event_time) - r.scheduledTime;
      if (d < -50) {
        late++;
        minLate = Math.min(minLate, d);
      } else maxJitter = Math.max(maxJitter, Math.abs(d));
    }
    expect(recs).toHaveLength(1_000_000);
    expect(maxJitter).toBe(50);
    expect(minLate).toBeGreaterThanOrEqual(-60_050);
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThan(40);
  });
});

describe('extra knobs (off by default)', () => {
  const base = { seed: 11, mode: 'catch-up' as const, rate: 0, startTime: 1_000_000 };

  it('emits duplicates, malformed records, bots and a hot campaign at the requested shares', () => {
    const g = new YsbGenerator(ref, {
      ...base,
      knobs: { duplicateFraction: 0.1, malformedFraction: 0.05, botShare: 0.2, hotCampaignShare: 0.5 },
    });
    const recs = g.take(200_000);
    const malformed = recs.filter((r) => !r.event);
    expect(malformed.length / recs.length).toBeGreaterThan(0.04);
    expect(malformed.length / recs.length).toBeLessThan(0.06);
    expect(malformed.every((r) => !decodeEvent(r.value).ok)).toBe(true);
    let dups = 0;
    for (let i = 1; i < recs.length; i++) if (recs[i]!.value === recs[i - 1]!.value) dups++;
    expect(dups / g.produced).toBeGreaterThan(0.08);
    expect(dups / g.produced).toBeLessThan(0.12);
    const valid = recs.filter((r) => r.event).map((r) => r.event!);
    const bots = new Set(ref.bots);
    const botShare = valid.filter((e) => bots.has(e.user_id)).length / valid.length;
    expect(botShare).toBeGreaterThan(0.18);
    expect(botShare).toBeLessThan(0.22);
    const hot = valid.filter((e) => ref.campaignOf.get(e.ad_id) === ref.campaigns[0]).length / valid.length;
    expect(hot).toBeGreaterThan(0.49); // 0.5 + 0.5 × 1 %
    expect(hot).toBeLessThan(0.52);
  });

  it('makes late events late by at most maxLatenessMs, and bursts out of order', () => {
    const g = new YsbGenerator(ref, {
      ...base,
      knobs: { lateFraction: 0.1, maxLatenessMs: 5000, outOfOrderEvery: 100, outOfOrderBurst: 10 },
    });
    const recs = g.take(100_000);
    let late = 0;
    let inversions = 0;
    for (let i = 0; i < recs.length; i++) {
      const d = r(i) - recs[i]!.scheduledTime;
      if (d < 0) {
        late++;
        expect(d).toBeGreaterThanOrEqual(-5000);
      }
      if (i > 0 && recs[i]!.scheduledTime < recs[i - 1]!.scheduledTime) inversions++;
    }
    function r(i: number): number {
      return Number(recs[i]!.event!.event_time);
    }
    expect(late / recs.length).toBeGreaterThan(0.09);
    expect(late / recs.length).toBeLessThan(0.11);
    expect(inversions).toBeGreaterThan((100_000 / 110) * 8);
  });
});
