import { describe, expect, it } from 'vitest';
import { WINDOW_MS, encodeEvent } from '../kernel/events/ysb-event.js';
import { catchUpEvents, ref, T0 } from '../test-support/kappa-harness.js';
import { recount } from '../test-support/recount.js';
import { lateness, toTruthEvent, TruthCounter, truthCellKey } from './truth-count.js';
import { TRUTH_LOGIC, truthLogicVersions, truthSqlCampaign, truthSqlPredicate } from './truth-logic.js';

describe('truth count (the oracle and the scenarios count with it)', () => {
  it('reads a YSB event, and refuses a record that is not one', () => {
    const e = {
      user_id: 'u1',
      page_id: 'p',
      ad_id: 'a1',
      ad_type: 'banner',
      event_type: 'view',
      event_time: String(T0 + 12_345),
      ip_address: '1.2.3.4',
    };
    expect(toTruthEvent(e)).toEqual({
      time: T0 + 12_345,
      window: T0 + 10_000,
      adId: 'a1',
      userId: 'u1',
      type: 'view',
    });
    for (const bad of [
      null,
      5,
      'x',
      [],
      { ...e, event_time: 12 },
      { ...e, event_time: 'soon' },
      { ...e, ad_id: 1 },
      { ...e, user_id: undefined },
      { ...e, event_type: null },
    ])
      expect(toTruthEvent(bad)).toBeUndefined();
  });

  it('marks an event late once the watermark passed its window, dropped past the allowed lateness', () => {
    const w = T0;
    expect(lateness(w, w + WINDOW_MS - 1, 5_000)).toEqual({ late: false, dropped: false });
    expect(lateness(w, w + WINDOW_MS, 5_000)).toEqual({ late: true, dropped: false });
    expect(lateness(w, w + WINDOW_MS + 4_999, 5_000)).toEqual({ late: true, dropped: false });
    expect(lateness(w, w + WINDOW_MS + 5_000, 5_000)).toEqual({ late: true, dropped: true });
  });

  it('counts every logic version the truth states, each as the independent recount does', () => {
    const events = [...catchUpEvents(7, 20_000, T0, { botShare: 0.1 })];
    const counter = new TruthCounter(ref);
    for (const e of events) counter.add(toTruthEvent(JSON.parse(encodeEvent(e)))!);
    expect(counter.events).toBe(events.length);
    expect(counter.versions()).toEqual(truthLogicVersions());
    for (const v of truthLogicVersions()) {
      const { excludeBots, joinMovedAds } = TRUTH_LOGIC.get(v)!;
      const expected = recount(events, ref, { excludeBots, joinMovedAds });
      const cells = counter.cells(v)!;
      expect(cells.size).toBe(expected.views.size);
      for (const [key, views] of expected.views) {
        expect(cells.get(key)?.views, key).toBe(views);
        expect(cells.get(key)?.users.size, key).toBe(expected.distinct.get(key)!.size);
      }
    }
    // v2 leaves the bots out: fewer views than v1, on the same cells
    const sum = (v: number): number => [...counter.cells(v)!.values()].reduce((s, c) => s + c.views, 0);
    expect(sum(2)).toBeLessThan(sum(1));
    expect(sum(2)).toBeGreaterThan(0);
  });

  it("v3 counts a moved ad's views for its new campaign, from a known input", () => {
    const counter = new TruthCounter(ref);
    const [moved, newCampaign] = [...ref.movedAds][0]!;
    const oldCampaign = ref.campaignOf.get(moved)!;
    expect(newCampaign).not.toBe(oldCampaign);
    const stay = ref.ads.find((a) => a.campaign_id === oldCampaign && !ref.movedAds.has(a.ad_id))!.ad_id;
    const bot = ref.bots[0]!;
    const view = (adId: string, userId: string, time = T0) =>
      counter.add({ time, window: T0, adId, userId, type: 'view' });
    view(moved, 'u1');
    view(moved, 'u2');
    view(moved, bot);
    view(stay, 'u1');
    view(stay, bot);
    counter.add({ time: T0, window: T0, adId: moved, userId: 'u3', type: 'click' });
    const at = (v: number, campaign: string) => counter.cells(v)!.get(truthCellKey(campaign, T0));
    // v1: every view for the old campaign; v2: without the bot; v3: without the bot, the moved ad's
    // two views on the new campaign
    expect(at(1, oldCampaign)?.views).toBe(5);
    expect(at(1, newCampaign)).toBeUndefined();
    expect(at(2, oldCampaign)?.views).toBe(3);
    expect(at(3, oldCampaign)?.views).toBe(1);
    expect([...at(3, newCampaign)!.users].sort()).toEqual(['u1', 'u2']);
    expect(at(3, newCampaign)?.views).toBe(2);
    // the reorganisation moves one ad of every campaign, each to the next campaign
    expect(ref.movedAds.size).toBe(ref.campaigns.length);
    expect(new Set(ref.movedAds.values()).size).toBe(ref.campaigns.length);
  });

  it('counts only the versions asked for, and refuses one the truth does not state', () => {
    const counter = new TruthCounter(ref, [2]);
    expect(counter.cells(1)).toBeUndefined();
    expect(() => new TruthCounter(ref, [1, 99])).toThrow(/logic v99/);
    const [ad] = ref.ads;
    const campaign = ref.campaignOf.get(ad!.ad_id)!;
    counter.add({ time: T0, window: T0, adId: ad!.ad_id, userId: 'u', type: 'view' });
    counter.add({ time: T0, window: T0, adId: ad!.ad_id, userId: 'u', type: 'click' });
    counter.add({ time: T0, window: T0, adId: 'unknown-ad', userId: 'u', type: 'view' });
    expect(counter.events).toBe(3);
    expect([...counter.cells(2)!.keys()]).toEqual([truthCellKey(campaign, T0)]);
  });

  it('states each version once, as SQL for the oracle', () => {
    expect(truthSqlPredicate(TRUTH_LOGIC.get(1)!)).toBe('TRUE');
    expect(truthSqlPredicate(TRUTH_LOGIC.get(2)!)).toBe('p.user_id NOT IN (SELECT user_id FROM bots)');
    expect(truthSqlPredicate(TRUTH_LOGIC.get(3)!)).toBe('p.user_id NOT IN (SELECT user_id FROM bots)');
    expect(truthSqlCampaign(TRUTH_LOGIC.get(2)!)).toBe('a.campaign_id');
    expect(truthSqlCampaign(TRUTH_LOGIC.get(3)!)).toBe('coalesce(m.campaign_id, a.campaign_id)');
  });
});
