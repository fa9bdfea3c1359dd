import { BATCH_QUEUE } from '../batch-layer/index.js';
import type { ScenarioLab } from './scenario-lab.js';
import type { VirtualClock } from '../kernel/clock/virtual-clock.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { measurementOf } from './lab-probe.js';
import { RunControl } from './run-control.js';
import type { TruthTracker } from './truth-tracker.js';

/**
 * Moves a scenario's time. Fast mode steps a virtual clock one generator tick at a time and, after
 * each step, waits (in real time) until every consumer — truth oracle, speed layer, Kappa jobs —
 * has processed everything in the log and a running batch run has finished. So each flush,
 * checkpoint and batch run sees the same data at the same virtual time on every run: the run is
 * deterministic for a seed. (The price: processing takes no virtual time, so fast mode shows no
 * backlog; live mode does.) Live mode just lets the system clock run.
 */
export interface ScenarioDriver {
  readonly mode: 'fast' | 'live';
  /** clock ms of scenario time 0 */
  readonly startedAt: number;
  /** the scenario's clock: the lab's clock, minus the time a live run spent paused */
  now(): number;
  /** the scenario clock's reading at a reading `clockMs` of the lab's clock (an event's time) */
  scenarioClock(clockMs: number): number;
  /** Lets scenario time run to `ms` (clock ms). */
  runTo(ms: number): Promise<void>;
  /** Lets time run until `cond` holds, at most `maxMs` of scenario time; returns whether it held. */
  waitFor(cond: () => Promise<boolean> | boolean, maxMs: number): Promise<boolean>;
  /** Waits until the consumers have caught up (fast mode; a no-op live). */
  settle(): Promise<void>;
}

const REAL_TIMEOUT_MS = 120_000;
/** A live run sleeps at most this long (ms) before it checks whether it was paused. */
const PAUSE_SLICE_MS = 250;
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FastDriver implements ScenarioDriver {
  readonly mode = 'fast';

  constructor(
    private readonly lab: ScenarioLab,
    private readonly clock: VirtualClock,
    private readonly truth: TruthTracker,
    private readonly tickMs: number,
    readonly startedAt: number,
    /** a cancelled run (DELETE /api/scenarios/runs/:runId, shutdown) stops within one tick */
    private readonly signal?: AbortSignal,
  ) {}

  now(): number {
    return this.clock.now();
  }

  scenarioClock(clockMs: number): number {
    return clockMs;
  }

  async runTo(ms: number): Promise<void> {
    while (this.clock.now() < ms) {
      this.signal?.throwIfAborted();
      const next = Math.min(
        ms,
        this.startedAt + (Math.floor((this.clock.now() - this.startedAt) / this.tickMs) + 1) * this.tickMs,
      );
      await this.clock.runUntil(next);
      await this.settle();
    }
  }

  async waitFor(cond: () => Promise<boolean> | boolean, maxMs: number): Promise<boolean> {
    const until = this.clock.now() + maxMs;
    for (;;) {
      if (await cond()) return true;
      if (this.clock.now() >= until) return false;
      await this.runTo(Math.min(until, this.clock.now() + this.tickMs));
    }
  }

  async settle(): Promise<void> {
    const s = this.lab.services;
    await this.truth.drain(REAL_TIMEOUT_MS);
    // The measurement's truth oracle reads the log in its own consumer: it must have read (and
    // stored) every record before a sample reads its watermark and closed windows.
    await measurementOf(this.lab)?.sync?.(REAL_TIMEOUT_MS);
    if (s.speed.status.running) await s.speed.waitProcessed(REAL_TIMEOUT_MS);
    await this.kappaCaughtUp();
    await this.batchSettled();
  }

  /** Every running Kappa job has processed (not necessarily checkpointed) up to the log end. */
  private async kappaCaughtUp(): Promise<void> {
    const s = this.lab.services;
    const ends = await s.log.offsets(AD_EVENTS_TOPIC);
    const view = await s.kappa.view();
    const started = performance.now();
    for (const job of view.jobs) {
      if (!['live', 'replaying', 'caught-up', 'grace'].includes(job.state)) continue;
      // A rate-limited replay is paced by the clock: it reaches the log's end only as virtual time
      // moves, so waiting for it here (with the clock stopped) would wait forever.
      if (job.state === 'replaying' && (s.kappa.job(job.id)?.rateLimit ?? 0) > 0) continue;
      for (;;) {
        const runner = s.kappa.runner(job.id);
        if (!runner) break;
        const pos = runner.positions();
        const behind = ends.filter((e) => {
          if (e.end <= e.low) return false;
          const p = pos.find((x) => x.partition === e.partition);
          return !p || p.next < e.end;
        });
        if (behind.length === 0) break;
        if (performance.now() - started > REAL_TIMEOUT_MS)
          throw new Error(
            `Kappa job ${job.id} did not process the log to its end within ${REAL_TIMEOUT_MS} ms`,
          );
        await realSleep(5);
      }
    }
  }

  /** A running batch run has finished, or waits for a retry's backoff (which needs the clock to move). */
  private async batchSettled(): Promise<void> {
    const s = this.lab.services;
    const started = performance.now();
    for (;;) {
      const run = s.batch.listRuns()[0];
      if (!run || run.state === 'completed' || run.state === 'failed') return;
      if (run.state === 'map' || run.state === 'reduce') {
        const c = await s.queue.counts(BATCH_QUEUE);
        if (c.active === 0 && c.waiting === 0 && c.delayed > 0) return;
      }
      if (performance.now() - started > REAL_TIMEOUT_MS)
        throw new Error(`batch run ${run.id} still ${run.state} after ${REAL_TIMEOUT_MS} ms`);
      await realSleep(5);
    }
  }
}

export class LiveDriver implements ScenarioDriver {
  readonly mode = 'live';
  private readonly control: RunControl;

  constructor(
    private readonly lab: ScenarioLab,
    readonly startedAt: number,
    private readonly signal: AbortSignal,
    control?: RunControl,
  ) {
    this.control = control ?? new RunControl();
  }

  /** Scenario time on the lab's clock: the system clock minus the time spent paused. */
  now(): number {
    return this.lab.services.clock.now() - this.control.pausedMs();
  }

  scenarioClock(clockMs: number): number {
    return clockMs - this.control.pausedMs();
  }

  async runTo(ms: number): Promise<void> {
    for (;;) {
      await this.untilResumed();
      const left = ms - this.now();
      if (left <= 0) return;
      // in slices, so that a pause takes effect within one
      await this.lab.services.clock.sleep(Math.min(left, PAUSE_SLICE_MS), this.signal);
    }
  }

  async waitFor(cond: () => Promise<boolean> | boolean, maxMs: number): Promise<boolean> {
    const until = this.now() + maxMs;
    for (;;) {
      if (await cond()) return true;
      if (this.now() >= until) return false;
      await this.runTo(Math.min(until, this.now() + 200));
    }
  }

  async settle(): Promise<void> {}

  private async untilResumed(): Promise<void> {
    this.signal.throwIfAborted();
    if (!this.control.paused) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(this.signal.reason);
      this.signal.addEventListener('abort', onAbort, { once: true });
      void this.control.whileRunning().then(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
