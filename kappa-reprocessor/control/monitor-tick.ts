/**
 * One pass of the control plane's monitor: samples every running job's checkpointed progress,
 * marks a replay caught up (and switches over when kappa.autoSwitchover is on), retires a job
 * whose grace period is over, and retries pending cleanups; and the loop that runs it.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import { LAB_EVENTS, type LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { KappaSettings } from './dto.js';
import { RUNNING_STATES, transition } from './lifecycle.js';
import type { JobMonitor } from './monitor.js';
import type { Registry } from './registry.js';
import type { JobRetirement } from './retirement.js';

export interface MonitorTickDeps {
  registry: Registry;
  monitor: JobMonitor;
  retirement: JobRetirement;
  settings: KappaSettings;
  bus: LabEventBus;
  /** The automatic switchover to a replay that just caught up. */
  switchover(): Promise<unknown>;
}

export async function monitorTick(
  d: MonitorTickDeps,
  now: number,
  ends: ReadonlyArray<{ partition: number; end: number }>,
): Promise<void> {
  for (const rec of [...d.registry.jobs.values()]) {
    if (!RUNNING_STATES.has(rec.state)) continue;
    const m = await d.monitor.sample(rec, ends, now);
    if (rec.state === 'replaying' && rec.snapshot) {
      const state = d.monitor.observeCatchUp(m, now, rec.snapshot, ends);
      if (state.caughtUp) {
        await d.registry.persist([transition(rec, 'caught-up', { caughtUpAt: now })]);
        d.bus.emit(LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP, now, {
          job: rec.id,
          lag: state.lag,
          heldMs: state.heldMs,
        });
        if (d.settings.autoSwitchover) await d.switchover();
      }
    } else if (rec.state === 'grace' && rec.retireAt !== null && now >= rec.retireAt) {
      await d.retirement.end(rec, 'retired', `grace period of ${d.settings.graceMs} ms over`);
      d.bus.emit(LAB_EVENTS.KAPPA_JOB_RETIRED, now, { job: rec.id, logicVersion: rec.logicVersion });
    }
  }
  await d.retirement.retryAll();
}

/** Runs `step` every `intervalMs` until `signal` aborts (the control plane's monitor loop). */
export async function monitorLoop(
  clock: Clock,
  intervalMs: number,
  signal: AbortSignal,
  step: () => Promise<unknown>,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(intervalMs, signal);
    } catch {
      return;
    }
    await step();
  }
}
