import { AD_TYPES, EVENT_TYPES, encodeEvent, type YsbEvent } from '../events/ysb-event.js';
import { SeededRandom } from '../util/random.js';
import type { ReferenceData } from './reference-data.js';

/**
 * The YSB data generator (yahoo/streaming-benchmarks data/src/setup/core.clj), plus knobs YSB
 * lacks, all off by default so the default stream is YSB's.
 */
export interface GeneratorKnobs {
  /** Share of events made late by up to maxLatenessMs (0..1). */
  lateFraction: number;
  maxLatenessMs: number;
  /** Every `outOfOrderEvery` events, the next `outOfOrderBurst` events are emitted in reverse order (0 = off). */
  outOfOrderEvery: number;
  outOfOrderBurst: number;
  /** Share of events emitted twice (0..1). */
  duplicateFraction: number;
  /** Share of records that are not valid YSB events (0..1). */
  malformedFraction: number;
  /** Share of events that go to one hot campaign (the first), on top of the uniform choice (0..1). */
  hotCampaignShare: number;
  /** Share of events whose user_id is a bot (0..1). */
  botShare: number;
}

export const DEFAULT_KNOBS: GeneratorKnobs = {
  lateFraction: 0,
  maxLatenessMs: 0,
  outOfOrderEvery: 0,
  outOfOrderBurst: 0,
  duplicateFraction: 0,
  malformedFraction: 0,
  hotCampaignShare: 0,
  botShare: 0,
};

export type GeneratorMode = 'live' | 'skew' | 'catch-up';

export interface GeneratorOptions {
  seed: number;
  mode: GeneratorMode;
  /** live/skew: events per second (event_time = scheduled emit time). */
  rate: number;
  /** First event time, epoch ms. */
  startTime: number;
  knobs?: Partial<GeneratorKnobs>;
}

/** YSB skew mode: ±50 ms jitter, and 1 event in 100 000 late by up to 60 s. */
const SKEW_JITTER_MS = 50;
const SKEW_LATE_ONE_IN = 100_000;
const SKEW_MAX_LATE_MS = 60_000;
/** Catch-up mode spacing: event_time = start + n × 10 ms. */
export const CATCH_UP_SPACING_MS = 10;

/** One generated record: a valid event, or a malformed line (when the malformed knob is on). */
export interface GeneratedRecord {
  /** The line as it goes to the log. */
  value: string;
  /** The event (undefined for a malformed record). */
  event: YsbEvent | undefined;
  /** Scheduled emit time (before skew/lateness), epoch ms. */
  scheduledTime: number;
}

export class YsbGenerator {
  private readonly rnd: SeededRandom;
  private readonly knobs: GeneratorKnobs;
  private readonly hotAds: string[];
  private n = 0;
  /** ms the live schedule was moved forward by skipBehind(). */
  private shift = 0;
  private readonly pending: GeneratedRecord[] = [];

  constructor(
    private readonly ref: ReferenceData,
    private readonly options: GeneratorOptions,
  ) {
    this.rnd = new SeededRandom(options.seed);
    this.knobs = { ...DEFAULT_KNOBS, ...options.knobs };
    const hotCampaign = ref.campaigns[0];
    this.hotAds = ref.ads.filter((a) => a.campaign_id === hotCampaign).map((a) => a.ad_id);
    if (options.mode !== 'catch-up' && !(options.rate > 0)) {
      throw new RangeError(
        `generator rate must be > 0 events/s in ${options.mode} mode, got ${options.rate}`,
      );
    }
  }

  /** Number of events scheduled so far. */
  get produced(): number {
    return this.n;
  }

  /** Scheduled time of event number `n`. */
  scheduledTime(n: number): number {
    if (this.options.mode === 'catch-up') return this.options.startTime + n * CATCH_UP_SPACING_MS;
    return this.options.startTime + Math.floor((n * 1000) / this.options.rate + this.shift);
  }

  /** Produces the records whose scheduled time is < `untilMs` (live/skew pacing). */
  until(untilMs: number, max = Number.POSITIVE_INFINITY): GeneratedRecord[] {
    const out: GeneratedRecord[] = [];
    while (out.length < max && (this.pending.length > 0 || this.scheduledTime(this.n) < untilMs))
      this.emitInto(out);
    return out;
  }

  /**
   * Skips the events scheduled before `timeMs` that were not produced yet (the stream continues
   * with the same draws, its schedule moved to `timeMs`); returns how many it skipped.
   */
  skipBehind(timeMs: number): number {
    if (this.options.mode === 'catch-up' || this.pending.length > 0) return 0;
    const next = this.scheduledTime(this.n);
    if (next >= timeMs) return 0;
    const skipped = Math.floor(((timeMs - next) * this.options.rate) / 1000);
    if (skipped <= 0) return 0;
    this.shift += (skipped * 1000) / this.options.rate;
    return skipped;
  }

  /** Puts records back at the head of the stream (after a failed append), in their order. */
  unshift(records: GeneratedRecord[]): void {
    this.pending.unshift(...records);
  }

  /** Produces the next `count` records (catch-up). */
  take(count: number): GeneratedRecord[] {
    const out: GeneratedRecord[] = [];
    while (out.length < count) this.emitInto(out);
    return out;
  }

  private emitInto(out: GeneratedRecord[]): void {
    if (this.pending.length > 0) {
      out.push(this.pending.shift() as GeneratedRecord);
      return;
    }
    const k = this.knobs;
    if (k.outOfOrderEvery > 0 && k.outOfOrderBurst > 1 && this.n > 0 && this.n % k.outOfOrderEvery === 0) {
      const burst: GeneratedRecord[] = [];
      for (let i = 0; i < k.outOfOrderBurst; i++) burst.push(...this.nextRecords());
      burst.reverse();
      out.push(burst.shift() as GeneratedRecord);
      this.pending.push(...burst);
      return;
    }
    out.push(...this.nextRecords());
  }

  private nextRecords(): GeneratedRecord[] {
    const n = this.n++;
    const scheduledTime = this.scheduledTime(n);
    const k = this.knobs;
    const rnd = this.rnd;
    // Draw order is fixed so that a stream is reproducible for a seed.
    const ad_id =
      k.hotCampaignShare > 0 && rnd.next() < k.hotCampaignShare
        ? rnd.pick(this.hotAds)
        : rnd.pick(this.ref.ads).ad_id;
    const user_id =
      k.botShare > 0 && rnd.next() < k.botShare ? rnd.pick(this.ref.bots) : rnd.pick(this.ref.userPool);
    const page_id = rnd.pick(this.ref.pagePool);
    const ad_type = rnd.pick(AD_TYPES);
    const event_type = rnd.pick(EVENT_TYPES);
    let time = scheduledTime;
    if (this.options.mode === 'skew') {
      time += rnd.int(2 * SKEW_JITTER_MS + 1) - SKEW_JITTER_MS;
      if (rnd.int(SKEW_LATE_ONE_IN) === 0) time -= rnd.int(SKEW_MAX_LATE_MS + 1);
    }
    if (k.lateFraction > 0 && rnd.next() < k.lateFraction) time -= 1 + rnd.int(Math.max(1, k.maxLatenessMs));
    time = Math.max(0, time);
    if (k.malformedFraction > 0 && rnd.next() < k.malformedFraction) {
      return [{ value: this.malformed(rnd.int(4), user_id, ad_id, time), event: undefined, scheduledTime }];
    }
    const event: YsbEvent = {
      user_id,
      page_id,
      ad_id,
      ad_type,
      event_type,
      event_time: String(time),
      ip_address: '1.2.3.4',
    };
    const record = { value: encodeEvent(event), event, scheduledTime };
    if (k.duplicateFraction > 0 && rnd.next() < k.duplicateFraction) return [record, { ...record }];
    return [record];
  }

  private malformed(kind: number, user: string, ad: string, time: number): string {
    switch (kind) {
      case 0:
        return `{"user_id":"${user}","ad_id":"${ad}","event_type":"view"`; // truncated JSON
      case 1:
        return `{"user_id":"${user}","page_id":"${user}","ad_id":"${ad}","ad_type":"banner","event_type":"view","event_time":${time},"ip_address":"1.2.3.4"}`; // number, not string
      case 2:
        return `{"user_id":"${user}","page_id":"${user}","ad_id":"${ad}","ad_type":"banner","event_type":"view","ip_address":"1.2.3.4"}`; // missing event_time
      default:
        return `{"user_id":"${user}","page_id":"${user}","ad_id":"${ad}","ad_type":"billboard","event_type":"view","event_time":"${time}","ip_address":"1.2.3.4"}`; // unknown ad_type
    }
  }
}
