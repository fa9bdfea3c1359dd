import { describe, expect, it } from 'vitest';
import type { YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { KAPPA_LOGIC } from '../kappa-reprocessor/operator/index.js';
import { SPEED_LOGIC } from '../speed-layer/index.js';

/** (window, campaign) → [views, sorted distinct users] */
type Cells = Map<string, { views: number; users: Set<string> }>;
const sink = (cells: Cells) => ({
  add(window: number, campaign: string, views: number, user: string): void {
    const k = `${window}|${campaign}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { views: 0, users: new Set() }));
    c.views += views;
    c.users.add(user);
  },
});
const flat = (cells: Cells): Array<[string, number, string[]]> =>
  [...cells].map(([k, c]) => [k, c.views, [...c.users].sort()] as [string, number, string[]]).sort();

const speedWindow = (e: YsbEvent): number => Math.floor(Number(e.event_time) / 10_000) * 10_000;

describe('logic modules on equal terms', () => {
  const ref = buildReferenceData();
  const ctx = { campaignOf: ref.campaignOf, bots: new Set(ref.bots), movedAds: ref.movedAds };
  const types = ['view', 'click', 'purchase'];
  const events: YsbEvent[] = [];
  let x = 7;
  const rnd = (n: number): number => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31), x % n);
  const users = [...ref.bots, ...Array.from({ length: 50 }, (_, i) => `user-${i}`)];
  for (let i = 0; i < 5_000; i++) {
    events.push({
      user_id: users[rnd(users.length)]!,
      page_id: 'p',
      ad_id: i % 97 === 0 ? 'unknown-ad' : ref.ads[rnd(ref.ads.length)]!.ad_id,
      ad_type: 'banner',
      event_type: types[rnd(3)]!,
      event_time: String(1_700_000_000_000 + rnd(60_000)),
      ip_address: '1.2.3.4',
    } as YsbEvent);
  }

  it('speed and Kappa hold filter, join, window and aggregate themselves, and agree per version', () => {
    expect([...SPEED_LOGIC.keys()]).toEqual([...KAPPA_LOGIC.keys()]);
    const results = new Map<number, ReturnType<typeof flat>>();
    for (const [version, speed] of SPEED_LOGIC) {
      const kappa = KAPPA_LOGIC.get(version)!;
      const s: Cells = new Map();
      const k: Cells = new Map();
      const ss = sink(s);
      const ks = sink(k);
      for (const e of events) {
        const c = speed.campaignFor(e, ctx);
        if (c !== undefined) speed.aggregate(ss, speed.window(e), c, e);
        const ke = { ...e, event_time: Number(e.event_time) };
        const kc = kappa.campaignFor(ke, ctx);
        if (kc !== undefined) kappa.aggregate(ks, kappa.window(ke), kc, ke);
      }
      expect(flat(s)).toEqual(flat(k));
      results.set(version, flat(s));
    }
    // The responsibilities are the module's: v1 keeps only views of known ads in 10 s windows.
    const v1 = results.get(1)!;
    const expectedViews = events.filter((e) => e.event_type === 'view' && ref.campaignOf.has(e.ad_id)).length;
    expect(v1.reduce((n, [, views]) => n + views, 0)).toBe(expectedViews);
    for (const [key] of v1) expect(Number(key.split('|')[0]) % 10_000).toBe(0);
    // v2 drops the bots' views: fewer views, no bot among the users.
    const v2 = results.get(2)!;
    expect(v2.reduce((n, [, views]) => n + views, 0)).toBeLessThan(expectedViews);
    for (const [, , us] of v2) for (const b of ref.bots) expect(us).not.toContain(b);
    // v3 changes the join, not the filter: v2's views, the moved ads' views on their new campaign.
    const v3 = results.get(3)!;
    const total = (r: typeof v1): number => r.reduce((n, [, views]) => n + views, 0);
    expect(total(v3)).toBe(total(v2));
    const isView = (e: YsbEvent): boolean => e.event_type === 'view' && !ref.bots.includes(e.user_id);
    const movedViews = events.filter((e) => isView(e) && ref.movedAds.has(e.ad_id));
    expect(movedViews.length).toBeGreaterThan(0);
    const cellsOf = (r: typeof v1): Map<string, number> => new Map(r.map(([k, views]) => [k, views]));
    const c2 = cellsOf(v2);
    const c3 = cellsOf(v3);
    const delta = new Map<string, number>();
    for (const e of movedViews) {
      const w = speedWindow(e);
      const from = `${w}|${ref.campaignOf.get(e.ad_id)!}`;
      const to = `${w}|${ref.movedAds.get(e.ad_id)!}`;
      delta.set(from, (delta.get(from) ?? 0) - 1);
      delta.set(to, (delta.get(to) ?? 0) + 1);
    }
    for (const k of new Set([...c2.keys(), ...c3.keys()]))
      expect(c3.get(k) ?? 0, k).toBe((c2.get(k) ?? 0) + (delta.get(k) ?? 0));
  });
});
