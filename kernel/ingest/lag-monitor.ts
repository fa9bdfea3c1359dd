/**
 * Back-pressure: how far the lab's consumers are behind the log, and whether producers must wait.
 *
 * Each consumer that bounds the lab's latency registers a source. A source running in this
 * process gives its in-memory position (records read and folded, not yet flushed: what it will
 * process next); one running elsewhere (distributed topology) is read from its group's committed
 * offsets. The monitor refreshes on a timer, so the checks on the producers' hot paths
 * (`saturated()`) are a field read. Producers — the generator, POST /api/events, `lklab import`,
 * `lklab produce` — wait (or answer 429 with Retry-After) while the slowest source is more than
 * `maxLagEvents` behind, so past capacity the lab slows its inputs down instead of piling up an
 * unbounded backlog (docs/capacity.md).
 */
import type { Clock } from '../clock/clock.js';
import type { EventLog, PartitionOffsets } from '../ports/event-log.js';

export interface LagSource {
  /** Shown in /api/status and on the dashboard ("speed layer", "kappa job 2", "batch ingest"). */
  name: string;
  /**
   * The consumer group, for the committed-offset fallback; undefined = none at the moment. May be
   * read from elsewhere (a Kappa job's group from the registry in the store, when the job runs in
   * another process): it is awaited once per refresh, off the producers' hot path.
   */
  group(): string | undefined | Promise<string | undefined>;
  /**
   * Next offset this consumer will process in a partition when it runs in this process;
   * undefined when it does not (then the group's committed offset counts).
   */
  position?(partition: number): number | undefined;
  /** Whether the source runs here (in-memory positions) at the moment. */
  local?(): boolean;
}

export interface ConsumerLag {
  name: string;
  group: string | undefined;
  /** Events between the consumer's position and the log's end, over all partitions. */
  lag: number;
  /** Where the position came from. */
  from: 'memory' | 'committed' | 'none';
}

export interface LagSnapshot {
  /** Clock time of the refresh (ms). */
  at: number;
  /** Consumer lag (events) past which producers wait; 0 = back-pressure off. */
  limit: number;
  /** Lag of the slowest source (events). */
  maxLag: number;
  /** True while maxLag > limit (producers wait). */
  saturated: boolean;
  consumers: ConsumerLag[];
  /** Times producers were told to wait since start. */
  throttled: number;
}

export interface LagMonitorOptions {
  /** Consumer lag in events past which producers wait; 0 turns back-pressure off. */
  maxLagEvents: number;
  /** Refresh interval (ms). */
  refreshMs: number;
}

export class LagMonitor {
  private readonly sources: LagSource[] = [];
  private snapshot: LagSnapshot;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<LagSnapshot> | undefined;
  private throttled = 0;

  constructor(
    private readonly log: EventLog,
    private readonly topic: string,
    private readonly clock: Clock,
    private readonly options: LagMonitorOptions,
  ) {
    this.snapshot = {
      at: clock.now(),
      limit: options.maxLagEvents,
      maxLag: 0,
      saturated: false,
      consumers: [],
      throttled: 0,
    };
  }

  get limit(): number {
    return this.options.maxLagEvents;
  }

  add(source: LagSource): void {
    this.sources.push(source);
  }

  /** Refreshes on a timer until stop(); the first refresh runs at once. */
  start(): void {
    if (this.timer || this.options.maxLagEvents <= 0) return;
    void this.refresh().catch(() => undefined);
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last refresh. */
  get current(): LagSnapshot {
    return { ...this.snapshot, throttled: this.throttled };
  }

  /** True while producers must wait (a field read; the timer keeps it fresh). */
  saturated(): boolean {
    return this.snapshot.saturated;
  }

  /** Counts one wait a producer was told to make (shown as `throttled`). */
  noteThrottled(): void {
    this.throttled++;
  }

  /** Seconds a producer told to wait should wait before it tries again: one refresh, at least 1 s. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.min(30, Math.ceil(this.options.refreshMs / 1000)));
  }

  refresh(): Promise<LagSnapshot> {
    this.refreshing ??= this.measure().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async measure(): Promise<LagSnapshot> {
    const ends = await this.log.offsets(this.topic);
    const consumers: ConsumerLag[] = [];
    for (const s of this.sources) consumers.push(await this.lagOf(s, ends));
    const maxLag = consumers.reduce((m, c) => Math.max(m, c.lag), 0);
    const limit = this.options.maxLagEvents;
    // A committed offset trails the consumer by up to one flush or checkpoint of events: a consumer
    // read that way gets the limit again as slack, so a healthy one never throttles.
    const over = consumers.some((c) => c.lag > (c.from === 'committed' ? 2 * limit : limit));
    this.snapshot = {
      at: this.clock.now(),
      limit,
      maxLag,
      saturated: limit > 0 && over,
      consumers,
      throttled: this.throttled,
    };
    return this.snapshot;
  }

  private async lagOf(s: LagSource, ends: PartitionOffsets[]): Promise<ConsumerLag> {
    const group = await s.group();
    if (s.position && (s.local?.() ?? true)) {
      let lag = 0;
      let known = false;
      for (const p of ends) {
        const at = s.position(p.partition);
        if (at === undefined) continue;
        known = true;
        lag += Math.max(0, p.end - Math.max(at, p.low));
      }
      if (known) return { name: s.name, group, lag, from: 'memory' };
    }
    if (group === undefined) return { name: s.name, group, lag: 0, from: 'none' };
    const committed = await this.log.committedOffsets(group, this.topic);
    if (committed.every((c) => c.offset === null)) return { name: s.name, group, lag: 0, from: 'none' };
    let lag = 0;
    for (const p of ends) {
      const c = committed.find((x) => x.partition === p.partition)?.offset ?? p.low;
      lag += Math.max(0, p.end - Math.max(c, p.low));
    }
    return { name: s.name, group, lag, from: 'committed' };
  }
}
