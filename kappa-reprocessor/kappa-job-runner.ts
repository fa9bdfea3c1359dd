/**
 * Runs one Kappa job (or this process's share of it): consumers in the job's group hand batches
 * to a processing engine; every `checkpointIntervalMs` the pre-aggregated output AND the offsets
 * it covers go to the realtime store in ONE atomic apply (namespace kappa-v<N>). On (re)start the
 * offsets are read back from the store and the consumers sought there, so a kill at any point
 * neither double counts nor loses an event. The log's group offsets are committed too, after the
 * store, for lag display only — correctness never depends on them.
 *
 * Offsets the runner trusts, per partition:
 * - `next`: the next record to process. Records below it in a batch are skipped (re-deliveries
 *   after a seek or a rebalance); a batch starting above it makes the runner seek back (once: a
 *   second batch at the same place means the log has nothing in between, e.g. retention).
 * - `base`: the offset in the store when this runner last loaded or checkpointed the partition.
 *   Before applying, the runner re-reads the store's offsets; a partition whose stored offset is
 *   no longer `base` was checkpointed by another member after a rebalance: the runner drops what
 *   it holds for it and resumes from the stored offset (fencing). The apply is a compare-and-set on
 *   the offsets it read (`expected`), so another member applying in between makes it fail whole;
 *   the next checkpoint then fences or retries.
 */
import type { Clock } from '../kernel/clock/clock.js';
import { alignedTick } from '../kernel/clock/every.js';
import type { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { ConsumerOptions, EventLog, LogConsumer, RecordBatch } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import {
  addCounters,
  emptyCounters,
  type DeadLetterEntry,
  type DeltaCounters,
  NO_EVENT_TIME,
  type ProcessingEngine,
} from './operator/index.js';
import {
  deltaField,
  offsetsNamespace,
  readMaxEventTimes,
  toStoreUpdate,
  type DeltaEntry,
} from './state/index.js';
import { RateLimiter } from './rate-limiter.js';

export interface KappaJobSpec {
  id: number;
  logicVersion: number;
  group: string;
}

export interface KappaJobRunnerOptions {
  topic: string;
  checkpointIntervalMs: number;
  /** Consumers this runner starts in the job's group (embedded: partitions are split between them). */
  consumers: number;
  /** Events per second across this runner's partitions; 0 = unlimited. */
  rateLimit: number;
  maxBatchRecords: number;
  engine: ProcessingEngine;
  /** Who runs it, for the dead-letter source ("lab", "kappa-worker 1234"). */
  runner: string;
  /** Wait before restarting consumers after a failure (ms). Default 1000. */
  restartDelayMs?: number;
  /**
   * A replay on the embedded log whose engine reads segment files itself (engine.scan): history
   * up to these end offsets is read by the engine's threads, then the consumers take over.
   */
  bulk?: BulkSource;
}

export interface BulkSource {
  ends: ReadonlyArray<{ partition: number; end: number }>;
  partitionDir(partition: number): string;
  verifyChecksums: boolean;
  maxRecordBytes: number;
}

interface Track {
  partition: number;
  next: number;
  /** Stored offset when loaded or last checkpointed (undefined: the store has none). */
  base: number | undefined;
  processed: number;
  /** Offsets the log no longer had when we needed them (retention). */
  skipped: number;
  seekedTo: number;
  seekSaw: number;
  /** Read by the engine itself (bulk phase): `next` is known from drains. */
  direct: boolean;
}

export interface PartitionPosition {
  partition: number;
  /** Next offset to process. */
  next: number;
  /** Next offset as committed to the store (undefined: none yet). */
  checkpointed: number | undefined;
  processed: number;
  skipped: number;
}

export interface RunnerStats {
  running: boolean;
  engine: string;
  consumers: number;
  processed: number;
  checkpoints: number;
  checkpointErrors: number;
  lastCheckpointAt: number | null;
  lastCheckpointMs: number | null;
  fenced: number;
  restarts: number;
  lastError: string | null;
}

type ExtendedConsumerOptions = ConsumerOptions & {
  onError?: (err: unknown) => void;
  partitionsConsumedConcurrently?: number;
};

export class KappaJobRunner {
  private consumers: LogConsumer[] = [];
  private readonly tracks = new Map<number, Track>();
  private readonly loading = new Map<number, Promise<Track>>();
  private readonly owners = new Map<number, LogConsumer>();
  /** What a failed checkpoint could not store, per partition: retried with the next one (field names kept). */
  private readonly carry = new Map<
    number,
    { entries: DeltaEntry[]; counters: DeltaCounters; deadLetters: DeadLetterEntry[]; maxEventTime: number }
  >();
  private readonly limiter: RateLimiter;
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointRunning = false;
  private lastCheckpointStart = 0;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private running = false;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private bulk: Promise<void> | undefined;
  private readonly stats = {
    processed: 0,
    checkpoints: 0,
    checkpointErrors: 0,
    lastCheckpointAt: null as number | null,
    lastCheckpointMs: null as number | null,
    fenced: 0,
    restarts: 0,
    lastError: null as string | null,
  };

  constructor(
    private readonly log: EventLog,
    private readonly store: RealtimeStore,
    private readonly deadLetters: DeadLetterWriter,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    readonly job: KappaJobSpec,
    private readonly opts: KappaJobRunnerOptions,
  ) {
    this.limiter = new RateLimiter(opts.rateLimit, clock);
  }

  get namespace(): string {
    return offsetsNamespace(this.job.id);
  }

  get status(): RunnerStats {
    return {
      running: this.running,
      engine: this.opts.engine.kind,
      consumers: this.consumers.length,
      ...this.stats,
    };
  }

  positions(): PartitionPosition[] {
    return [...this.tracks.values()]
      .map((t) => ({
        partition: t.partition,
        next: t.next,
        checkpointed: t.base,
        processed: t.processed,
        skipped: t.skipped,
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    this.abort = new AbortController();
    if (this.opts.bulk && this.opts.engine.scan && this.log.kind === 'embedded')
      await this.startBulk(this.opts.bulk);
    else await this.startConsumers();
    this.running = true;
    const signal = this.abort.signal;
    this.loop = (async () => {
      // Fixed rate: a checkpoint's own duration does not stretch the interval (output latency).
      let next = alignedTick(this.clock.now(), this.opts.checkpointIntervalMs);
      while (!signal.aborted) {
        try {
          await this.clock.sleep(Math.max(0, next - this.clock.now()), signal);
        } catch {
          return;
        }
        next = alignedTick(Math.max(next, this.clock.now()), this.opts.checkpointIntervalMs);
        await this.checkpoint().catch(() => undefined);
      }
    })();
    this.bus.emit(LAB_EVENTS.KAPPA_JOB_STARTED, this.clock.now(), {
      job: this.job.id,
      logicVersion: this.job.logicVersion,
      engine: this.opts.engine.kind,
      consumers: this.consumers.length,
      runner: this.opts.runner,
    });
  }

  /** Stops the consumers (after their in-flight batch), checkpoints what was processed, closes the engine. */
  async stop(): Promise<void> {
    if (!this.running && !this.restarting) return;
    this.stopping = true;
    this.abort.abort();
    await this.restarting?.catch(() => undefined);
    await Promise.race([this.bulk?.catch(() => undefined), new Promise((r) => setTimeout(r, 0))]);
    await this.loop;
    await this.stopConsumers();
    await this.checkpoint().catch(() => undefined);
    await this.opts.engine.close();
    this.running = false;
    this.bus.emit(LAB_EVENTS.KAPPA_JOB_STOPPED, this.clock.now(), {
      job: this.job.id,
      runner: this.opts.runner,
      processed: this.stats.processed,
    });
  }

  /** Checkpoints now (also runs every checkpointIntervalMs). Serialized. */
  checkpoint(): Promise<void> {
    const run = this.checkpointChain.then(() => this.checkpointOnce());
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  // ---- consumers ---------------------------------------------------------------------------

  private async startConsumers(): Promise<void> {
    const n = Math.max(1, this.opts.consumers);
    const partitions =
      this.log.kind === 'embedded' ? (await this.log.offsets(this.opts.topic)).map((p) => p.partition) : [];
    const shares: Array<number[] | undefined> =
      this.log.kind === 'embedded' && n > 1
        ? Array.from({ length: Math.min(n, partitions.length) }, (_, i) =>
            partitions.filter((p) => p % Math.min(n, partitions.length) === i),
          )
        : Array.from({ length: n }, () => undefined);
    const stored = this.log.kind === 'embedded' ? await this.store.readOffsets(this.namespace) : {};
    const startAt = (p: number): number => this.tracks.get(p)?.next ?? stored[p] ?? 0;
    const maxBatch = this.limiter.limited
      ? Math.max(100, Math.min(this.opts.maxBatchRecords, Math.floor(this.opts.rateLimit / 10)))
      : this.opts.maxBatchRecords;
    for (const share of shares) {
      const options: ExtendedConsumerOptions = {
        group: this.job.group,
        topic: this.opts.topic,
        start: 'earliest',
        maxBatchRecords: maxBatch,
        onError: (err) => void this.recover(err),
        ...(this.log.kind === 'embedded'
          ? { partitionsConsumedConcurrently: share?.length ?? Math.max(1, partitions.length) }
          : {}),
        ...(share ? { partitions: share } : {}),
      };
      const consumer = this.log.consumer(options);
      // Embedded: start every partition at the offset committed with the state (the group's own
      // offsets are for display). Kafka: the first batch of a partition is checked against the
      // store instead (a seek given before the assignment could land on another member).
      if (this.log.kind === 'embedded') {
        for (const p of share ?? partitions) consumer.seek(p, startAt(p));
      }
      this.consumers.push(consumer);
      await consumer.run((batch) => this.onBatch(consumer, batch));
    }
  }

  /** History straight from the segment files by the engine's threads, then the consumers. */
  private async startBulk(bulk: BulkSource): Promise<void> {
    const [stored, times, offsets] = await Promise.all([
      this.store.readOffsets(this.namespace),
      readMaxEventTimes(this.store, this.job.id),
      this.log.offsets(this.opts.topic),
    ]);
    const scans: Array<Promise<void>> = [];
    for (const { partition: p, end } of bulk.ends) {
      const base = stored[p];
      let from = base ?? 0;
      if (from >= end) continue;
      const t: Track = {
        partition: p,
        next: from,
        base,
        processed: 0,
        skipped: 0,
        seekedTo: -1,
        seekSaw: -1,
        direct: true,
      };
      const low = offsets.find((o) => o.partition === p)?.low ?? 0;
      if (low > from) {
        t.skipped += low - from; // retention dropped them (a forced replay)
        from = t.next = low;
      }
      this.opts.engine.init(p, times.get(p) ?? NO_EVENT_TIME);
      this.tracks.set(p, t);
      const source = {
        dir: bulk.partitionDir(p),
        from,
        to: end,
        verifyChecksums: bulk.verifyChecksums,
        maxRecordBytes: bulk.maxRecordBytes,
      };
      scans.push(
        this.opts.engine.scan!(p, source).then((next) => {
          if (this.tracks.get(p) === t && next > t.next) t.next = next;
        }),
      );
    }
    this.bulk = Promise.all(scans).then(
      async () => {
        if (this.stopping) return;
        await this.checkpoint().catch(() => undefined);
        for (const t of this.tracks.values()) t.direct = false;
        await this.startConsumers();
      },
      (err: unknown) => this.recover(err),
    );
  }

  private async stopConsumers(): Promise<void> {
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map((c) => c.stop()));
    this.owners.clear();
  }

  /** A consumer stopped on an error: checkpoint what can be, then restart from the store's offsets. */
  private recover(err: unknown): Promise<void> {
    this.stats.lastError = err instanceof Error ? err.message : String(err);
    if (this.stopping || this.restarting) return this.restarting ?? Promise.resolve();
    this.restarting = (async () => {
      await this.stopConsumers();
      await this.checkpoint().catch(() => undefined);
      this.tracks.clear();
      this.carry.clear();
      await this.opts.engine.restart?.();
      this.stats.restarts++;
      while (!this.stopping) {
        try {
          await this.clock.sleep(this.opts.restartDelayMs ?? 1000, this.abort.signal);
          await this.startConsumers();
          return;
        } catch (e) {
          if (this.abort.signal.aborted) return;
          this.stats.lastError = e instanceof Error ? e.message : String(e);
          await this.stopConsumers();
        }
      }
    })().finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  // ---- batches -----------------------------------------------------------------------------

  private async onBatch(consumer: LogConsumer, batch: RecordBatch): Promise<void> {
    if (this.stopping) return;
    const p = batch.partition;
    this.owners.set(p, consumer);
    const t = this.tracks.get(p) ?? (await this.loadPartition(p));
    const records = batch.records;
    if (records.length === 0) return;
    const first = records[0]!.offset;
    if (first > t.next) {
      if (t.seekedTo === t.next && t.seekSaw === first) {
        // Sought back and the log still starts here: the records in between are gone (retention).
        t.skipped += first - t.next;
        t.next = first;
      } else {
        t.seekedTo = t.next;
        t.seekSaw = first;
        consumer.seek(p, t.next);
        return;
      }
    }
    let from = 0;
    if (first < t.next) {
      while (from < records.length && records[from]!.offset < t.next) from++;
      if (from === records.length) return;
    }
    const count = records.length - from;
    if (this.limiter.limited) await this.limiter.take(count, this.abort.signal).catch(() => undefined);
    const wait = this.opts.engine.waitForCapacity(p);
    if (wait) await wait;
    if (this.stopping || this.tracks.get(p) !== t) return; // fenced or stopping meanwhile
    // Same tick: the engine takes the records and the offset moves past them.
    this.opts.engine.process(p, records, from);
    t.next = records[records.length - 1]!.offset + 1;
    t.processed += count;
    this.stats.processed += count;
    if (
      !this.checkpointRunning &&
      this.clock.now() - this.lastCheckpointStart >= this.opts.checkpointIntervalMs
    ) {
      void this.checkpoint().catch(() => undefined);
    }
  }

  private loadPartition(p: number): Promise<Track> {
    let pending = this.loading.get(p);
    if (!pending) {
      pending = (async () => {
        const [stored, times] = await Promise.all([
          this.store.readOffsets(this.namespace),
          readMaxEventTimes(this.store, this.job.id),
        ]);
        const base = stored[p];
        const t: Track = {
          partition: p,
          next: base ?? 0,
          base,
          processed: 0,
          skipped: 0,
          seekedTo: -1,
          seekSaw: -1,
          direct: false,
        };
        this.opts.engine.init(p, times.get(p) ?? NO_EVENT_TIME);
        this.tracks.set(p, t);
        return t;
      })().finally(() => this.loading.delete(p));
      this.loading.set(p, pending);
    }
    return pending;
  }

  // ---- checkpoints ---------------------------------------------------------------------------

  private async checkpointOnce(): Promise<void> {
    const dirty = [...this.tracks.values()].filter(
      (t) => t.direct || t.next !== t.base || this.carry.has(t.partition),
    );
    if (dirty.length === 0) return;
    this.checkpointRunning = true;
    const started = this.clock.now();
    this.lastCheckpointStart = started;
    const t0 = performance.now();
    try {
      const stored = await this.store.readOffsets(this.namespace);
      const good: Track[] = [];
      for (const t of dirty) {
        if (this.tracks.get(t.partition) !== t) continue;
        if (stored[t.partition] !== t.base) await this.fence(t, stored[t.partition]);
        else good.push(t);
      }
      if (good.length === 0) return;
      // Offsets and drain in the same tick: the drained records are exactly those below `next`.
      const nexts = good.map((t) => t.next);
      let drained;
      try {
        drained = await this.opts.engine.drain(good.map((t) => t.partition));
      } catch (err) {
        // The engine lost what it held (a worker died): restart from the store's offsets.
        void this.recover(err);
        throw err;
      }
      const parts = good.map((t, i) => {
        const d = drained.get(t.partition);
        let next = nexts[i]!;
        if (t.direct && d?.next !== undefined) {
          // Read by the engine itself: its delta covers exactly the records below d.next.
          next = d.next;
          if (next > t.next) t.next = next;
          t.processed += d.delta.counters.processed;
          this.stats.processed += d.delta.counters.processed;
        }
        const carried = this.carry.get(t.partition) ?? {
          entries: [],
          counters: emptyCounters(),
          deadLetters: [],
          maxEventTime: NO_EVENT_TIME,
        };
        // Field names come from the checkpoint that first tries to write a delta: unique, since offsets only grow.
        if (d) {
          for (const [window, payload] of d.delta.windows)
            carried.entries.push({ window, field: deltaField(t.partition, next), payload });
          addCounters(carried.counters, d.delta.counters);
          carried.deadLetters.push(...d.delta.deadLetters);
          carried.maxEventTime = Math.max(carried.maxEventTime, d.maxEventTime);
        }
        return { t, next, ...carried };
      });
      const keep = (): void => {
        for (const p of parts)
          this.carry.set(p.t.partition, {
            entries: p.entries,
            counters: p.counters,
            deadLetters: p.deadLetters,
            maxEventTime: p.maxEventTime,
          });
      };
      const letters = parts.flatMap((p) => p.deadLetters);
      if (letters.length > 0) {
        try {
          // Before the state: a crash in between re-sends them (at-least-once) instead of losing them.
          await this.deadLetters.write(
            letters.map((l) => ({
              source: `kappa-v${this.job.id} (${this.opts.runner}) ${this.opts.topic}/${l.partition}@${l.offset}`,
              line: undefined,
              reason: l.reason,
              raw: l.raw,
            })),
          );
        } catch (err) {
          keep();
          throw err;
        }
        for (const p of parts) p.deadLetters = [];
      }
      const now = this.clock.now();
      const update = toStoreUpdate({
        job: this.job.id,
        now,
        partitions: parts.map((p) => ({
          partition: p.t.partition,
          entries: p.entries,
          counters: p.counters,
          next: p.next,
          maxEventTime: p.maxEventTime,
          expected: p.t.base ?? null,
        })),
      });
      try {
        await this.store.apply(update);
      } catch (err) {
        keep();
        throw err;
      }
      let events = 0;
      let dropped = 0;
      for (const p of parts) {
        this.carry.delete(p.t.partition);
        if (this.tracks.get(p.t.partition) === p.t) p.t.base = p.next;
        events += p.counters.processed;
        dropped += p.counters.dropped;
      }
      this.stats.checkpoints++;
      this.stats.lastCheckpointAt = now;
      this.stats.lastCheckpointMs = Math.round(performance.now() - t0);
      this.bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT, now, {
        job: this.job.id,
        events,
        partitions: parts.length,
        ms: this.stats.lastCheckpointMs,
        increments: update.increments?.length ?? 0,
        sets: update.sets?.length ?? 0,
      });
      if (dropped > 0) this.bus.emit(LAB_EVENTS.KAPPA_LATE_DROPPED, now, { job: this.job.id, dropped });
      await this.commitGroupOffsets(parts.map((p) => ({ partition: p.t.partition, offset: p.next })));
    } catch (err) {
      this.stats.checkpointErrors++;
      this.stats.lastError = err instanceof Error ? err.message : String(err);
      this.bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT_FAILED, this.clock.now(), {
        job: this.job.id,
        error: this.stats.lastError,
      });
      throw err;
    } finally {
      this.checkpointRunning = false;
    }
  }

  /** Another member checkpointed this partition: drop what we hold for it and resume from the store. */
  private async fence(t: Track, stored: number | undefined): Promise<void> {
    const times = await readMaxEventTimes(this.store, this.job.id);
    const fresh: Track = {
      partition: t.partition,
      next: stored ?? 0,
      base: stored,
      processed: t.processed,
      skipped: t.skipped,
      seekedTo: -1,
      seekSaw: -1,
      direct: false,
    };
    this.carry.delete(t.partition);
    this.opts.engine.init(t.partition, times.get(t.partition) ?? NO_EVENT_TIME);
    this.tracks.set(t.partition, fresh);
    this.owners.get(t.partition)?.seek(t.partition, fresh.next);
    this.stats.fenced++;
    this.bus.emit(LAB_EVENTS.KAPPA_PARTITION_FENCED, this.clock.now(), {
      job: this.job.id,
      partition: t.partition,
      held: t.next,
      stored: stored ?? null,
    });
  }

  /** The log's group offsets, for lag display only (best effort). */
  private async commitGroupOffsets(offsets: Array<{ partition: number; offset: number }>): Promise<void> {
    const byConsumer = new Map<LogConsumer, Array<{ partition: number; offset: number }>>();
    for (const o of offsets) {
      const c = this.owners.get(o.partition);
      if (!c) continue;
      const list = byConsumer.get(c) ?? [];
      list.push(o);
      byConsumer.set(c, list);
    }
    await Promise.all([...byConsumer].map(([c, list]) => c.commit(list).catch(() => undefined)));
  }
}
