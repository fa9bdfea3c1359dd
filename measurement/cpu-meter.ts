import { LAB_EVENTS, type LabEvent, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog, LogConsumer, RecordBatch } from '../kernel/ports/event-log.js';
import { CpuSampler } from './cpu-sampler.js';

/** Ticks (of ~1 s) between two harvests of the main-thread sampling profile. */
const HARVEST_TICKS = 10;

/** The component a consumer group belongs to. */
export function componentOfGroup(group: string): string {
  if (group === 'lklab-speed') return 'speed-layer';
  if (group === 'lklab-batch-ingest') return 'batch-ingest';
  if (group === 'lklab-truth') return 'truth-oracle';
  const kappa = /^lklab-kappa-v(\d+)$/.exec(group);
  if (kappa) return `kappa-job-${kappa[1]}`;
  return group;
}

/** Which architecture a component's compute counts for (undefined: neither, e.g. the oracle). */
export function archOfComponent(component: string): 'lambda' | 'kappa' | undefined {
  if (component === 'speed-layer' || component.startsWith('batch-')) return 'lambda';
  if (component.startsWith('kappa-')) return 'kappa';
  return undefined;
}

/**
 * CPU time per component of this process, measured, not estimated:
 *
 * 1. Log consumers: every batch a component's consumer hands to its handler is timed with
 *    performance.now() around the handler's synchronous part (where the speed layer and the
 *    stream jobs do their per-event work). The main thread runs such a section on the CPU from
 *    start to end unless it is preempted, so its wall time is its CPU time; at each tick the
 *    sections' sum is capped by the process CPU of that tick (scaled down when preemption made it
 *    larger), so they never claim more than the process used. process.cpuUsage() around each
 *    section (a getrusage over all threads) cost more than much of what it measured: 0.7 % of a
 *    core at 1,000 events/s, 400 sections a second.
 * 2. The rest of the process's CPU in each tick (process.cpuUsage delta − what 1 attributed) goes to
 *    the background work running in that tick, known from the instrumentation events: a batch run
 *    (MapReduce in DuckDB's threads) → batch-mapreduce; a Kappa replay (worker threads) →
 *    kappa-replay; both → split evenly.
 * 3. Neither: the rest is split by a sampling profile of the main thread (CpuSampler, every
 *    HARVEST_TICKS ticks): each sampled stack belongs to the component whose source folder its
 *    innermost own frame is in (event-log reads and appends, the generator, the realtime store's
 *    checkpoints, the serving layer, the truth oracle, the measurement, ...; V8's GC is v8-gc, the
 *    runtime's own work node-runtime). The CPU of the process's other threads (libuv's file I/O,
 *    DuckDB's threads, GC helpers) goes with these shares: it is issued by that main-thread work.
 *    Without samples (sampler off or not started) the rest is `other`.
 * 4. measure() times a named synchronous section the same way.
 */
export class CpuMeter {
  private readonly totals = new Map<string, number>();
  /** Wall ms of the sections measured since the last tick, per component (committed at the tick). */
  private readonly sections = new Map<string, number>();
  private last = process.cpuUsage();
  private batchRunning = 0;
  private replayJobs = new Set<number>();
  private batchSeen = false;
  private replaySeen = false;
  private readonly running = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private sampler: CpuSampler | undefined;
  /** CPU ms waiting for the next harvest's shares. */
  private pool = 0;
  private ticks = 0;

  /** Starts the main-thread sampling profile (point 3 above); a failure leaves the rest as `other`. */
  async startSampling(intervalUs?: number): Promise<void> {
    const sampler = new CpuSampler(intervalUs);
    try {
      await sampler.start();
      this.sampler = sampler;
    } catch {
      this.sampler = undefined;
    }
  }

  stopSampling(): void {
    this.sampler?.stop();
    this.sampler = undefined;
    if (this.pool > 0) this.add('other', this.pool);
    this.pool = 0;
  }

  attach(bus: LabEventBus): void {
    this.unsubscribe = bus.on('*', (e: LabEvent) => this.onEvent(e));
  }

  detach(): void {
    this.unsubscribe?.();
  }

  private onEvent(e: LabEvent): void {
    switch (e.name) {
      case LAB_EVENTS.BATCH_RUN_STARTED:
        this.batchRunning++;
        this.batchSeen = true;
        break;
      case LAB_EVENTS.BATCH_RUN_FINISHED:
      case LAB_EVENTS.BATCH_RUN_FAILED:
        this.batchRunning = Math.max(0, this.batchRunning - 1);
        this.batchSeen = true;
        break;
      case LAB_EVENTS.KAPPA_REPLAY_STARTED:
        this.replayJobs.add(Number(e.payload.job));
        this.replaySeen = true;
        break;
      case LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP:
      case LAB_EVENTS.KAPPA_REPLAY_ABORTED:
        this.replayJobs.delete(Number(e.payload.job));
        this.replaySeen = true;
        break;
      default:
    }
  }

  /** Adds `ms` of CPU to a component. */
  add(component: string, ms: number): void {
    this.totals.set(component, (this.totals.get(component) ?? 0) + ms);
  }

  /** Runs fn and attributes its synchronous part's CPU to `component` (at the next tick). */
  measure<T>(component: string, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.sections.set(component, (this.sections.get(component) ?? 0) + performance.now() - t0);
    }
  }

  /**
   * Wraps a log so that every consumer it creates is metered per consumer group. Everything else
   * is the log itself (methods bound to it).
   */
  wrapLog(log: EventLog): EventLog {
    return new Proxy(log, {
      get: (target, prop) => {
        if (prop === 'consumer') {
          return (options: Parameters<EventLog['consumer']>[0]): LogConsumer => {
            const consumer = target.consumer(options);
            const component = componentOfGroup(options.group);
            return new Proxy(consumer, {
              get: (c, p) => {
                if (p === 'run') {
                  return (handler: (batch: RecordBatch) => Promise<void>) => {
                    this.running.set(component, (this.running.get(component) ?? 0) + 1);
                    return c.run((batch) => this.measure(component, () => handler(batch)));
                  };
                }
                if (p === 'stop') {
                  return async () => {
                    const n = this.running.get(component) ?? 0;
                    if (n <= 1) this.running.delete(component);
                    else this.running.set(component, n - 1);
                    await c.stop();
                  };
                }
                const v = Reflect.get(c, p, c) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(c) : v;
              },
            });
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** Components with a running log consumer in this process. */
  runningConsumers(): string[] {
    return [...this.running.keys()].sort();
  }

  /** Attributes the process CPU since the last tick that consumers did not account for. */
  async tick(): Promise<void> {
    const now = process.cpuUsage();
    const cpu = (now.user - this.last.user + now.system - this.last.system) / 1000;
    this.last = now;
    // Wall time exceeds CPU time only where the thread was preempted: never claim more than the
    // process used in the tick.
    let handled = 0;
    if (cpu > 0) {
      // A tick that saw no process CPU (the kernel accounts it in ticks) leaves the sections for
      // the next one rather than scale them to nothing.
      for (const ms of this.sections.values()) handled += ms;
      const scale = handled > cpu ? cpu / handled : 1;
      for (const [component, ms] of this.sections) this.add(component, ms * scale);
      this.sections.clear();
      handled *= scale;
    }
    const rest = Math.max(0, cpu - handled);
    const targets: string[] = [];
    if (this.batchRunning > 0 || this.batchSeen) targets.push('batch-mapreduce');
    if (this.replayJobs.size > 0 || this.replaySeen) targets.push('kappa-replay');
    this.batchSeen = false;
    this.replaySeen = false;
    if (targets.length > 0) for (const t of targets) this.add(t, rest / targets.length);
    else if (this.sampler) this.pool += rest;
    else this.add('other', rest);
    if (this.sampler && ++this.ticks % HARVEST_TICKS === 0) await this.harvest(this.sampler);
  }

  private async harvest(sampler: CpuSampler): Promise<void> {
    let shares: Map<string, number>;
    try {
      shares = await sampler.harvest();
    } catch {
      shares = new Map();
    }
    const pool = this.pool;
    this.pool = 0;
    const total = [...shares.values()].reduce((a, b) => a + b, 0);
    if (total <= 0) {
      this.add('other', pool);
      return;
    }
    for (const [component, ms] of shares) this.add(component, (pool * ms) / total);
  }

  /** CPU ms per component since the meter was created (sections since the last tick as measured). */
  totalsMs(): Record<string, number> {
    const out = new Map(this.totals);
    for (const [k, ms] of this.sections) out.set(k, (out.get(k) ?? 0) + ms);
    return Object.fromEntries([...out].map(([k, v]) => [k, Math.round(v * 10) / 10]));
  }
}
