/**
 * The Kappa job's per-partition operator: scan → the logic's filter + join and window → watermark
 * and allowed lateness → the logic's aggregate into a pre-aggregated delta. Pure and synchronous (the same code runs on the main
 * thread and in replay worker threads).
 *
 * Watermark: per partition, the highest event time seen there minus `maxOutOfOrderMs` (Kafka
 * Streams' stream time per partition; Flink takes the minimum over its inputs). Keeping it per
 * partition makes every decision depend only on that partition's order, so a replay that runs
 * partitions at different speeds, or a job restarted after a crash, decides exactly as an
 * uninterrupted live job — required for exact answers. The highest event time is checkpointed
 * with the offsets.
 *
 * Lateness: a window [w, w + 10 s) is complete once the watermark reaches w + 10 s. A later
 * event for it is still counted (a revision of the window) while the watermark is below
 * w + 10 s + allowedLatenessMs; beyond that it is not counted but dead-lettered with the reason.
 */
import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import { CheckpointDelta, type EncodedDelta } from './checkpoint-delta.js';
import { emptyKappaEvent, scanEvent } from './event-scanner.js';
import type { KappaCells, KappaLogic, KappaLogicContext } from '../logic/kappa-logic.js';

export interface EventTimePolicy {
  /** Watermark = highest event time seen − this (ms). */
  maxOutOfOrderMs: number;
  /** How long after its end (in watermark time) a window still takes late events (ms). */
  allowedLatenessMs: number;
}

/** No event seen yet. */
export const NO_EVENT_TIME = -1;
const INTERN_LIMIT = 200_000;

export class PartitionProcessor {
  private delta = new CheckpointDelta();
  private readonly event = emptyKappaEvent();
  private readonly why = { reason: '' };
  /** Value slices keep their whole record alive; held users are copied once and shared. */
  private readonly users = new Map<string, string>();
  /**
   * (campaign, user) pairs this processor already handed over per window, so a checkpoint writes
   * only new users of a cell. Forgotten once a window is past the allowed lateness (nothing can
   * be counted there any more) and on restart (then a user may be written twice: still exact).
   */
  private readonly written = new Map<number, Set<string>>();
  /** What the logic's aggregate step adds to: this checkpoint's delta (one object, no per-event allocation). */
  private readonly cells: KappaCells = {
    add: (window, campaign, views, user) => this.delta.count(window, campaign, this.intern(user), views),
  };

  constructor(
    readonly partition: number,
    private readonly logic: KappaLogic,
    private readonly ctx: KappaLogicContext,
    private readonly policy: EventTimePolicy,
    /** Highest event time seen in this partition (NO_EVENT_TIME before the first). */
    public maxEventTime: number = NO_EVENT_TIME,
  ) {}

  /** Watermark of this partition (NO_EVENT_TIME before the first event). */
  get watermark(): number {
    return this.maxEventTime === NO_EVENT_TIME
      ? NO_EVENT_TIME
      : this.maxEventTime - this.policy.maxOutOfOrderMs;
  }

  /** Hands over what was computed since the last call, encoded per window, and starts afresh. */
  takeDelta(): EncodedDelta {
    const d = this.delta;
    this.delta = new CheckpointDelta();
    const encoded = d.encode((w, campaign, user) => {
      let seen = this.written.get(w);
      if (!seen) this.written.set(w, (seen = new Set()));
      const pair = `${campaign}\u0000${user}`;
      if (seen.has(pair)) return false;
      seen.add(pair);
      return true;
    });
    const wm = this.watermark;
    if (wm !== NO_EVENT_TIME) {
      for (const w of this.written.keys())
        if (w + WINDOW_MS + this.policy.allowedLatenessMs <= wm) this.written.delete(w);
    }
    return encoded;
  }

  /** Forgets pending work and restarts from a checkpointed event time (after a rebalance). */
  reset(maxEventTime: number): void {
    this.delta = new CheckpointDelta();
    this.written.clear();
    this.maxEventTime = maxEventTime;
  }

  process(raw: string, offset: number): void {
    const d = this.delta;
    d.counters.processed++;
    const e = this.event;
    const outcome = scanEvent(raw, e, this.why);
    if (outcome === 'invalid') {
      d.counters.invalid++;
      d.deadLetters.push({
        partition: this.partition,
        offset,
        reason: `not a valid YSB event: ${this.why.reason}`,
        raw,
      });
      return;
    }
    if (outcome === 'decoded') d.counters.slowPath++;
    const t = e.event_time;
    const logic = this.logic;
    const campaign = logic.campaignFor(e, this.ctx);
    if (campaign !== undefined) {
      const w = logic.window(e);
      const end = w + WINDOW_MS;
      const wm =
        this.maxEventTime === NO_EVENT_TIME
          ? Number.NEGATIVE_INFINITY
          : this.maxEventTime - this.policy.maxOutOfOrderMs;
      if (end + this.policy.allowedLatenessMs <= wm) {
        d.counters.dropped++;
        d.deadLetters.push({
          partition: this.partition,
          offset,
          reason: `too late: event_time ${t} is in window ${w}, which closed for good when the watermark of partition ${this.partition} passed ${end + this.policy.allowedLatenessMs} (window end + kappa.allowedLatenessMs ${this.policy.allowedLatenessMs} ms); the watermark is ${wm}`,
          raw,
        });
      } else {
        if (end <= wm) d.counters.late++;
        d.counters.counted++;
        logic.aggregate(this.cells, w, campaign, e);
      }
    }
    if (t > this.maxEventTime) this.maxEventTime = t;
  }

  private intern(user: string): string {
    const held = this.users.get(user);
    if (held !== undefined) return held;
    if (this.users.size >= INTERN_LIMIT) this.users.clear();
    const copy = flatCopy(user);
    this.users.set(copy, copy);
    return copy;
  }
}

/** A copy that does not reference the string it was sliced from (JSON.parse makes a fresh, flat one). */
function flatCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
