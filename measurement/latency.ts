import { readActive, readKappaWindows } from '../kappa-reprocessor/index.js';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { readWindowUpdateTimes } from '../speed-layer/index.js';
import type { ArchLatency, ArchName, LatencyFigures } from './measurement-api.js';
import { SampleRing, latencyFigures } from './latency-figures.js';

/** Most windows read per architecture and sampling round. */
const MAX_WINDOWS_PER_ROUND = 200;
/** A window nobody wrote this long after it became final is given up (ms). */
const GIVE_UP_MS = 60_000;

/** Samples kept with their window's end per architecture (about 30 min of YSB's 100 campaigns). */
const TIMED_KEEP = 20_000;

/** Called once per (campaign, window) sample, with its latency in ms, as the sample is taken. */
export type FinalEventLatencyListener = (arch: ArchName, latencyMs: number) => void;

/** A listener's failure never changes what is sampled. */
function notify(listener: FinalEventLatencyListener, arch: ArchName, ms: number): void {
  try {
    listener(arch, ms);
  } catch {
    // the listener's own concern (an exporter); the sample is kept either way
  }
}

/**
 * YSB's final-event latency per architecture, read from what each architecture wrote:
 * `time_updated` of a (campaign, window) − window end, once the window is final (its end plus a
 * settle time has passed on the lab's clock, so no further update is expected). Lambda: the speed
 * layer's realtime views (the time updated of each campaign, written at every flush). Kappa: the active
 * job's table (the latest checkpoint that touched the cell). Each cell is sampled once; the newest
 * samples are kept.
 */
export class FinalEventLatency {
  private readonly samples: Record<ArchName, SampleRing>;
  /** The newest samples with their window's end, for figures over a span of time (replay interference). */
  private readonly timed: Record<ArchName, SampleRing<{ end: number; ms: number }>>;
  private readonly done: Record<ArchName, Set<number>> = { lambda: new Set(), kappa: new Set() };
  private readonly listeners = new Set<FinalEventLatencyListener>();

  constructor(
    private readonly store: RealtimeStore,
    private readonly settleMs: number,
    keep = 100_000,
  ) {
    this.samples = { lambda: new SampleRing(keep), kappa: new SampleRing(keep) };
    this.timed = { lambda: new SampleRing(TIMED_KEEP), kappa: new SampleRing(TIMED_KEEP) };
  }

  /** Final-event figures of the windows that ended in [from, to) (ms of the lab's clock). */
  between(arch: ArchName, from: number, to: number): LatencyFigures {
    return latencyFigures(
      this.timed[arch]
        .values()
        .filter((s) => s.end >= from && s.end < to)
        .map((s) => s.ms),
    );
  }

  /** Calls `listener` with every sample taken from now on (the Prometheus histogram); returns the unsubscribe. */
  onSample(listener: FinalEventLatencyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Samples the windows (from the truth oracle's list) that have become final by `now`. */
  async sample(windows: readonly number[], now: number): Promise<void> {
    await this.sampleArch('lambda', windows, now, (ws) => readWindowUpdateTimes(this.store, ws));
    const active = await readActive(this.store);
    if (!active) return;
    await this.sampleArch('kappa', windows, now, async (ws) => {
      const rows = await readKappaWindows(this.store, active.job, ws, { distinct: false });
      return ws.map((w) => rows.filter((r) => r.window === w).map((r) => r.timeUpdated));
    });
  }

  private async sampleArch(
    arch: ArchName,
    windows: readonly number[],
    now: number,
    read: (ws: number[]) => Promise<number[][]>,
  ): Promise<void> {
    const done = this.done[arch];
    const due = windows
      .filter((w) => !done.has(w) && w + WINDOW_MS + this.settleMs <= now)
      .slice(-MAX_WINDOWS_PER_ROUND);
    if (due.length === 0) return;
    const updated = await read(due);
    due.forEach((w, i) => {
      const times = updated[i] ?? [];
      for (const t of times) {
        if (t <= 0) continue;
        const ms = t - (w + WINDOW_MS);
        this.samples[arch].add(ms);
        this.timed[arch].add({ end: w + WINDOW_MS, ms });
        for (const listener of this.listeners) notify(listener, arch, ms);
      }
      if (times.length > 0 || w + WINDOW_MS + this.settleMs + GIVE_UP_MS <= now) done.add(w);
    });
  }

  figures(): ArchLatency[] {
    return (['lambda', 'kappa'] as const).map((arch) => ({
      arch,
      finalEvent: latencyFigures(this.samples[arch].values()),
    }));
  }
}
