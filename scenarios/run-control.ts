import type { Clock } from '../kernel/clock/clock.js';
import { LabError } from '../kernel/errors/lab-error.js';

/** What pausing does to the run's lab (the runner stops the generator and starts it again). */
export interface PauseHooks {
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * Pauses and resumes a live scenario run (POST /api/scenarios/runs/:runId/pause, /resume). While a
 * run is paused its scenario time stands still: no action, beat or sample comes due, and the
 * generator produces nothing. The lab's own components keep running on the system clock, so they
 * drain what the log holds. Time spent paused is left out of the run's seconds. A fast run cannot
 * be paused: it runs on a virtual clock in seconds, deterministically.
 */
export class RunControl {
  private clock: Clock | undefined;
  private hooks: PauseHooks | undefined;
  private since: number | null = null;
  private total = 0;
  private waiters: Array<() => void> = [];
  /** called after a pause or a resume took effect */
  onChange: ((paused: boolean) => void) | undefined;

  private requested = false;
  private detached = false;

  /** @param live a live run's control: a pause asked for while its lab is starting takes effect once it runs */
  constructor(private readonly live = false) {}

  /** The live runner hands over its clock and what a pause does; detach() when the run ends. */
  async attach(clock: Clock, hooks: PauseHooks): Promise<void> {
    this.clock = clock;
    this.hooks = hooks;
    if (this.requested) {
      this.requested = false;
      this.since = clock.now();
      await hooks.pause();
      this.onChange?.(true);
    }
  }

  detach(): void {
    this.detached = true;
    this.hooks = undefined;
    this.release();
  }

  get paused(): boolean {
    return this.since !== null || this.requested;
  }

  /** Clock ms spent paused so far (including a pause in progress). */
  pausedMs(): number {
    return this.total + (this.since !== null && this.clock ? this.clock.now() - this.since : 0);
  }

  /** Pauses the run; false when it was paused already. */
  async pause(runId: string): Promise<boolean> {
    if (this.live && !this.hooks && !this.detached) {
      const first = !this.requested;
      this.requested = true;
      return first;
    }
    const hooks = this.pausable(runId, 'pause');
    if (this.since !== null) return false;
    this.since = this.clock!.now();
    await hooks.pause();
    this.onChange?.(true);
    return true;
  }

  /** Resumes a paused run; false when it was not paused. */
  async resume(runId: string): Promise<boolean> {
    if (this.live && !this.hooks && !this.detached) {
      const was = this.requested;
      this.requested = false;
      return was;
    }
    const hooks = this.pausable(runId, 'resume');
    if (this.since === null) return false;
    this.total += this.clock!.now() - this.since;
    this.since = null;
    await hooks.resume();
    this.release();
    this.onChange?.(false);
    return true;
  }

  /** Resolves at once when the run is not paused, else when it is resumed (or detached). */
  whileRunning(): Promise<void> {
    if (this.since === null || !this.hooks) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private pausable(runId: string, what: 'pause' | 'resume'): PauseHooks {
    if (!this.hooks || !this.clock)
      throw new LabError(
        'LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE',
        `Scenario run "${runId}" cannot ${what}: only a live run that is still running can be paused and resumed (a fast run takes seconds on a virtual clock). Start a live run with POST /api/scenarios/:id/runs {"fast": false}.`,
        { details: { runId } },
      );
    return this.hooks;
  }

  private release(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
