import { LAB_EVENTS, type LabEvent, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type {
  ArchName,
  InterferenceFigures,
  LatencyFigures,
  ReplayInterferenceFigures,
} from './measurement-api.js';

/** How far back before a replay's start its baseline reaches (ms): six of YSB's 10 s windows. */
export const BASELINE_MS = 60_000;
/** Span of the current replay rate (ms). */
const RATE_SPAN_MS = 5_000;
/** Replays remembered (newest kept). */
const KEEP_REPLAYS = 10;

/** A replay as it is followed: the figures it reports without the derived ones, and its recent checkpoints. */
type Replay = Pick<
  ReplayInterferenceFigures,
  'job' | 'logicVersion' | 'rateLimit' | 'startedAt' | 'endedAt' | 'ended' | 'events'
> & {
  /** (time, events) of the job's recent checkpoints, for the current rate. */
  recent: Array<[number, number]>;
};

/** Final-event figures of windows that ended in [from, to), per architecture. */
export type LatencyBetween = (arch: ArchName, from: number, to: number) => LatencyFigures;

/**
 * The replay interference meter (issue 16 item 4): while Kappa job N+1 replays the log, what
 * happens to the readers' latency? For each replay it keeps the replay rate (events the new job
 * checkpointed per second: over the whole replay, and over the last 5 s while it runs) and the
 * final-event latency of the speed layer (Lambda) and of the active Kappa job N for the windows that
 * ended during the replay, beside the same figures for the minute before it started (the baseline).
 * Both architectures' readers share the process (and the machine) with the replay, so the ratio
 * during/before is the price of replaying at that rate.
 */
export class ReplayInterference {
  private readonly replays: Replay[] = [];
  private unsubscribe: (() => void) | undefined;

  attach(bus: LabEventBus): void {
    for (const e of bus.recent(1000)) this.observe(e);
    const off = [
      bus.on(LAB_EVENTS.KAPPA_REPLAY_STARTED, (e) => this.observe(e)),
      bus.on(LAB_EVENTS.KAPPA_CHECKPOINT, (e) => this.observe(e)),
      bus.on(LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP, (e) => this.observe(e)),
      bus.on(LAB_EVENTS.KAPPA_REPLAY_ABORTED, (e) => this.observe(e)),
    ];
    this.unsubscribe = () => off.forEach((f) => f());
  }

  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  observe(e: LabEvent): void {
    const job = Number(e.payload.job);
    if (!Number.isFinite(job)) return;
    if (e.name === LAB_EVENTS.KAPPA_REPLAY_STARTED) {
      const rateLimit = Number(e.payload.rateLimit);
      const version = Number(e.payload.logicVersion);
      this.replays.push({
        job,
        logicVersion: Number.isFinite(version) ? version : null,
        rateLimit: Number.isFinite(rateLimit) ? rateLimit : null,
        startedAt: e.at,
        endedAt: null,
        ended: null,
        events: 0,
        recent: [],
      });
      if (this.replays.length > KEEP_REPLAYS) this.replays.shift();
      return;
    }
    const r = this.replays.findLast((x) => x.job === job && x.endedAt === null);
    if (!r) return;
    if (e.name === LAB_EVENTS.KAPPA_CHECKPOINT) {
      const n = Number(e.payload.events);
      if (!(n > 0)) return;
      r.events += n;
      r.recent.push([e.at, n]);
      while (r.recent.length > 0 && r.recent[0]![0] <= e.at - RATE_SPAN_MS) r.recent.shift();
    } else if (e.name === LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP || e.name === LAB_EVENTS.KAPPA_REPLAY_ABORTED) {
      r.endedAt = e.at;
      r.ended = e.name === LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP ? 'caught-up' : 'aborted';
      r.recent = [];
    }
  }

  /** The figures at `now`, newest replay first. */
  figures(now: number, latency: LatencyBetween): InterferenceFigures {
    const replays = [...this.replays].reverse().map((r) => replayFigures(r, now, latency));
    const current = replays.find((r) => r.endedAt === null);
    return { replaying: current ? current.job : null, replays };
  }
}

function replayFigures(r: Replay, now: number, latency: LatencyBetween): ReplayInterferenceFigures {
  const end = r.endedAt ?? now;
  const seconds = Math.max(0.001, (end - r.startedAt) / 1000);
  const recentEvents = r.recent.filter(([t]) => t > now - RATE_SPAN_MS).reduce((a, [, n]) => a + n, 0);
  const arch = (a: ArchName): ReplayInterferenceFigures['lambda'] => {
    const before = latency(a, r.startedAt - BASELINE_MS, r.startedAt);
    const during = latency(a, r.startedAt, end);
    return {
      before,
      during,
      p99Ratio: before.p99 !== null && during.p99 !== null && before.p99 > 0 ? during.p99 / before.p99 : null,
    };
  };
  return {
    job: r.job,
    logicVersion: r.logicVersion,
    rateLimit: r.rateLimit,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    ended: r.ended,
    events: r.events,
    replayRate: Math.round(r.events / seconds),
    currentRate: r.endedAt === null ? Math.round(recentEvents / (RATE_SPAN_MS / 1000)) : null,
    lambda: arch('lambda'),
    kappa: arch('kappa'),
  };
}
