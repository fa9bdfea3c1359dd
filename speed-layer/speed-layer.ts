import type { Clock } from '../kernel/clock/clock.js';
import { alignedTick } from '../kernel/clock/every.js';
import { WINDOW_MS, type YsbEvent } from '../kernel/events/ysb-event.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog, LogConsumer, RecordBatch } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import { speedLogic } from './logic/index.js';
import type { LogicContext, StreamLogic, WindowCells } from './logic/speed-logic.js';
import { BATCH_META_KEY, CONTROL_KEY, flushUpdate, SPEED_STATUS_KEY } from './realtime-views.js';
import { waitUntil } from '../kernel/util/wait-until.js';

export interface SpeedLayerOptions {
  topic: string;
  group: string;
  flushIntervalMs: number;
  logicVersion: number;
}

/** Non-negative epoch milliseconds, as YSB writes them (the decoder's rule, checked cheaply). */
const EVENT_TIME_RE = /^\d{1,16}$/;
/** Where a simulated crash happens relative to the flush and the offset commit. */
export type CrashPoint = 'after-flush-before-commit' | 'before-flush';

interface Pending {
  views: number;
  users: Set<string>;
}

/** Final-event latency of one campaign window (YSB: time_updated − window_start − 10 s). */
export interface WindowLatency {
  window: number;
  campaign: string;
  latencyMs: number;
}

/**
 * The speed layer: YSB over the log with low latency, approximate on purpose. Pre-aggregates in
 * memory, flushes one update per key per interval to the realtime store, then commits offsets:
 * at-least-once, so a crash between flush and commit double counts after restart (shown, not hidden).
 */
export class SpeedLayer {
  private consumer: LogConsumer | undefined;
  private pending = new Map<number, Map<string, Pending>>();
  /** Offsets (next) of records folded into `pending`, per partition. */
  private pendingOffsets = new Map<number, number>();
  private readonly flushedOffsets = new Map<number, number>();
  private logic: StreamLogic;
  private readonly ctx: LogicContext;
  /** What the logic's aggregate step adds to: the pending cells (one object, no per-event allocation). */
  private readonly cells: WindowCells = {
    add: (window, campaign, views, user) => {
      let byCampaign = this.pending.get(window);
      if (!byCampaign) this.pending.set(window, (byCampaign = new Map()));
      let p = byCampaign.get(campaign);
      if (!p) byCampaign.set(campaign, (p = { views: 0, users: new Set() }));
      p.views += views;
      p.users.add(user);
    },
  };
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** window → campaign → last time_updated (YSB measures final-event latency per campaign window). */
  private readonly lastUpdate = new Map<number, Map<string, number>>();
  private readonly latencies: WindowLatency[] = [];
  private boundary = 0;
  private running = false;
  private stats = { processed: 0, invalid: 0, flushes: 0, flushErrors: 0, lastFlushMs: 0, crashes: 0 };
  lastError: string | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly store: RealtimeStore,
    reference: ReferenceData,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    private readonly options: SpeedLayerOptions,
  ) {
    this.logic = speedLogic(options.logicVersion);
    this.ctx = {
      campaignOf: reference.campaignOf,
      bots: new Set(reference.bots),
      movedAds: reference.movedAds,
    };
  }

  get logicVersion(): number {
    return this.logic.version;
  }

  get status(): Record<string, unknown> {
    return {
      running: this.running,
      logicVersion: this.logic.version,
      boundary: this.boundary,
      ...this.stats,
      lastError: this.lastError,
      at: this.clock.now(),
    };
  }

  /**
   * Next offset the speed layer will read in a partition (folded into memory or flushed) while it
   * runs here; undefined otherwise (back-pressure then reads the group's committed offset).
   */
  position(partition: number): number | undefined {
    if (!this.running) return undefined;
    return this.pendingOffsets.get(partition) ?? this.flushedOffsets.get(partition);
  }

  /** Final-event latencies of windows closed so far (and forgets them when `drain`). */
  windowLatencies(drain = false): WindowLatency[] {
    const out = [...this.latencies];
    if (drain) this.latencies.length = 0;
    return out;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.readControl().catch(() => undefined);
    this.consumer = this.log.consumer({
      group: this.options.group,
      topic: this.options.topic,
      start: 'earliest',
    });
    await this.consumer.run((batch) => this.onBatch(batch));
    this.running = true;
    const abort = (this.abort = new AbortController());
    this.loop = (async () => {
      // Fixed rate: a flush's own duration does not stretch the interval (YSB flushes every 1 s).
      let next = alignedTick(this.clock.now(), this.options.flushIntervalMs);
      while (!abort.signal.aborted) {
        try {
          await this.clock.sleep(Math.max(0, next - this.clock.now()), abort.signal);
        } catch {
          return;
        }
        next = alignedTick(Math.max(next, this.clock.now()), this.options.flushIntervalMs);
        await this.readControl().catch((err: Error) => (this.lastError = err.message));
        await this.flush();
        await this.store
          .apply({ sets: [{ key: SPEED_STATUS_KEY, field: 'json', value: JSON.stringify(this.status) }] })
          .catch(() => undefined);
      }
    })();
  }

  /** Picks up the batch boundary and a logic version deployed from another process. */
  private async readControl(): Promise<void> {
    const [meta, control] = await this.store.getManyFields([BATCH_META_KEY, CONTROL_KEY]);
    if (meta?.boundary !== undefined) this.boundary = Number(meta.boundary);
    const wanted = control?.speedLogicVersion === undefined ? undefined : Number(control.speedLogicVersion);
    if (wanted !== undefined && wanted !== this.logic.version) await this.deploy(wanted);
  }

  private async stopLoop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
  }

  /** Stops cleanly: flush, commit, close. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.stopLoop();
    await this.consumer?.stop();
    await this.flush();
    this.running = false;
  }

  /** Simulates a crash at a point of the flush/commit cycle; in-memory state is lost. */
  async crash(point: CrashPoint): Promise<void> {
    await this.stopLoop();
    await this.consumer?.stop();
    await this.flushing;
    if (point === 'after-flush-before-commit') await this.writePending();
    this.pending = new Map();
    this.pendingOffsets = new Map();
    this.flushedOffsets.clear();
    this.running = false;
    this.stats.crashes++;
    this.bus.emit(LAB_EVENTS.SPEED_CRASH, this.clock.now(), { point });
  }

  /**
   * Deploys a logic version to the speed layer wherever it runs: the desired version goes to the
   * store's control key (a speed layer in another process picks it up at its next flush) and is
   * applied at once when the speed layer runs here.
   */
  async requestDeploy(version: number): Promise<void> {
    speedLogic(version); // validates
    await this.store.apply({ sets: [{ key: CONTROL_KEY, field: 'speedLogicVersion', value: version }] });
    if (this.running) await this.deploy(version);
    else this.logic = speedLogic(version);
  }

  /** Status of the speed layer: this process's, or the last one a speed layer elsewhere published. */
  async currentStatus(): Promise<Record<string, unknown>> {
    if (this.running) return this.status;
    const [published] = await this.store.getManyFields([SPEED_STATUS_KEY]);
    return published?.json
      ? { ...(JSON.parse(published.json) as Record<string, unknown>), host: 'remote' }
      : { running: false, logicVersion: this.logic.version };
  }

  /** Switches the running logic (a TS module); the batch layer is deployed separately. */
  private async deploy(version: number): Promise<void> {
    const next = speedLogic(version);
    if (next === this.logic) return;
    await this.flush();
    this.logic = next;
    this.bus.emit(LAB_EVENTS.LOGIC_DEPLOYED, this.clock.now(), { layer: 'speed', logicVersion: version });
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    const logic = this.logic;
    for (const r of batch.records) {
      let e: YsbEvent;
      try {
        e = JSON.parse(r.value) as YsbEvent;
      } catch {
        this.stats.invalid++;
        continue;
      }
      // Ingest validated what came through the lab; a foreign producer on the log may not have: a
      // record without a usable event time or ids would land in window NaN or a negative one.
      if (
        typeof e !== 'object' ||
        e === null ||
        typeof e.event_time !== 'string' ||
        !EVENT_TIME_RE.test(e.event_time) ||
        typeof e.ad_id !== 'string' ||
        typeof e.user_id !== 'string'
      ) {
        this.stats.invalid++;
        continue;
      }
      const campaign = logic.campaignFor(e, this.ctx);
      if (campaign !== undefined) logic.aggregate(this.cells, logic.window(e), campaign, e);
    }
    this.stats.processed += batch.records.length;
    const last = batch.records.at(-1);
    if (last) this.pendingOffsets.set(batch.partition, last.offset + 1);
  }

  /** Waits until everything appended to the log so far has been processed, then flushes. */
  async sync(timeoutMs: number): Promise<void> {
    await this.waitProcessed(timeoutMs);
    await this.flush();
  }

  /** Waits until everything appended to the log so far has been folded into memory (no flush). */
  async waitProcessed(timeoutMs: number): Promise<void> {
    const ends = await this.log.offsets(this.options.topic);
    const started = performance.now();
    const committed = await this.log.committedOffsets(this.options.group, this.options.topic);
    const position = (p: number): number =>
      this.pendingOffsets.get(p) ??
      this.flushedOffsets.get(p) ??
      committed.find((c) => c.partition === p)?.offset ??
      0;
    await waitUntil(() => !ends.some((p) => p.end > 0 && position(p.partition) < p.end), {
      what: 'the speed layer to catch up with the log',
      timeoutMs: Math.max(0, timeoutMs - (performance.now() - started)),
      intervalMs: 10,
    });
  }

  /** Flush then commit (at-least-once). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const offsets = new Map(this.pendingOffsets);
      try {
        await this.writePending();
        // The embedded store is durable at its checkpoints: make the flush durable before the
        // commit, so that a crash re-counts (at-least-once) rather than loses counts.
        if (offsets.size) await (this.store as { checkpoint?: () => Promise<void> }).checkpoint?.();
        if (offsets.size && this.consumer) {
          await this.consumer.commit([...offsets].map(([partition, offset]) => ({ partition, offset })));
          for (const [p, o] of offsets) this.flushedOffsets.set(p, o);
          for (const [p, o] of offsets) if (this.pendingOffsets.get(p) === o) this.pendingOffsets.delete(p);
        }
        this.lastError = undefined;
      } catch (err) {
        this.stats.flushErrors++;
        this.lastError = (err as Error).message;
      }
    });
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    const now = this.clock.now();
    const update = flushUpdate(pending, now, this.boundary, this.logic.version);
    try {
      await this.store.apply(update);
    } catch (err) {
      // Keep the counts for the next flush: the store was not changed (apply is atomic).
      for (const [w, byCampaign] of pending) {
        const cur = this.pending.get(w) ?? new Map<string, Pending>();
        for (const [c, p] of byCampaign) {
          const q = cur.get(c);
          if (q) {
            q.views += p.views;
            for (const u of p.users) q.users.add(u);
          } else cur.set(c, p);
        }
        this.pending.set(w, cur);
      }
      throw err;
    }
    this.stats.flushes++;
    this.stats.lastFlushMs = this.clock.now() - now;
    for (const [w, byCampaign] of pending) {
      let m = this.lastUpdate.get(w);
      if (!m) this.lastUpdate.set(w, (m = new Map()));
      for (const c of byCampaign.keys()) m.set(c, now);
    }
    // Windows closed for a few flushes: their last update is final (YSB's final-event latency).
    for (const [w, byCampaign] of this.lastUpdate) {
      if (now - (w + WINDOW_MS) <= 5 * this.options.flushIntervalMs || pending.has(w)) continue;
      for (const [campaign, t] of byCampaign)
        this.latencies.push({ window: w, campaign, latencyMs: t - (w + WINDOW_MS) });
      this.lastUpdate.delete(w);
    }
    if (this.latencies.length > 100_000) this.latencies.splice(0, this.latencies.length - 100_000);
    this.bus.emit(LAB_EVENTS.SPEED_FLUSH, now, {
      keys: update.increments!.length,
      ms: this.stats.lastFlushMs,
    });
  }
}
