/**
 * The embedded log's background work: fsync of the partitions written since the last fsync
 * every fsync interval (a failure is kept and fails later appends), and retention every
 * retention interval. Each task runs once at a time; errors go to `log.background_error`.
 */
import type { Clock } from '../../clock/clock.js';
import { EMBEDDED_LOG_EVENTS, type LogInstrumentation } from './instrumentation.js';
import type { TopicRegistry } from './topic-registry.js';

export class LogMaintenance {
  private readonly timers: NodeJS.Timeout[] = [];
  private retentionRun: Promise<void> | undefined;
  private syncRun: Promise<void> | undefined;
  /** The error of a failed background fsync, if any. */
  storageFailure: unknown;

  constructor(
    private readonly topics: TopicRegistry,
    private readonly clock: Clock,
    private readonly instrumentation: LogInstrumentation,
    /** The log is closed (no fsync, no retention) / is closing (no retention). */
    private readonly state: { closed(): boolean; closing(): boolean },
  ) {}

  /** Starts the timers; an interval of 0 leaves that task off. */
  start(fsyncIntervalMs: number, retentionCheckIntervalMs: number): void {
    if (fsyncIntervalMs > 0) this.startTimer(fsyncIntervalMs, () => this.backgroundSync());
    if (retentionCheckIntervalMs > 0)
      this.startTimer(retentionCheckIntervalMs, () => this.backgroundRetention());
  }

  stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** Waits for the retention and fsync runs under way. */
  async settle(): Promise<void> {
    await this.retentionRun?.catch(() => undefined);
    await this.syncRun;
  }

  /** Applies retention now (joining a run under way): drops whole sealed segments by age and size. */
  enforceRetention(): Promise<void> {
    if (this.retentionRun) return this.retentionRun;
    const run = this.applyRetention().finally(() => {
      if (this.retentionRun === run) this.retentionRun = undefined;
    });
    this.retentionRun = run;
    return run;
  }

  private startTimer(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async applyRetention(): Promise<void> {
    const now = this.clock.now();
    for (const t of this.topics.all()) {
      const spec = { retentionMs: t.meta.retentionMs, retentionBytes: t.meta.retentionBytes };
      if (spec.retentionMs === undefined && spec.retentionBytes === undefined) continue;
      for (const p of t.partitions) await p.enforceRetention(now, spec);
    }
  }

  private async backgroundRetention(): Promise<void> {
    if (this.state.closed() || this.state.closing()) return;
    try {
      await this.enforceRetention();
    } catch (error) {
      this.instrumentation.emit(EMBEDDED_LOG_EVENTS.BACKGROUND_ERROR, { task: 'retention', error });
    }
  }

  private async backgroundSync(): Promise<void> {
    if (this.state.closed() || this.syncRun) return;
    const run = this.syncDirty().finally(() => {
      if (this.syncRun === run) this.syncRun = undefined;
    });
    this.syncRun = run;
    await run;
  }

  private async syncDirty(): Promise<void> {
    try {
      await Promise.all(this.topics.all().map((t) => t.syncIfDirty()));
    } catch (error) {
      if (this.state.closed()) return;
      this.storageFailure = error;
      this.instrumentation.emit(EMBEDDED_LOG_EVENTS.BACKGROUND_ERROR, { task: 'fsync', error });
    }
  }
}
