/**
 * Runs one Kappa job (or this process's share of it): consumers in the job's group hand batches
 * to a processing engine; every `checkpointIntervalMs` a {@link CheckpointWriter} stores the
 * pre-aggregated output AND the offsets it covers in one atomic apply. On (re)start the offsets
 * are read back from the store and the consumers sought there, so a kill at any point neither
 * double counts nor loses an event. The log's group offsets are committed too, after the store,
 * for lag display only — correctness never depends on them. Per-partition positions and the
 * seek/skip rules are in {@link PartitionCursor}.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import { alignedTick } from '../../kernel/clock/every.js';
import type { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { ConsumerOptions, EventLog, LogConsumer, RecordBatch } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import { NO_EVENT_TIME } from '../operator/index.js';
import { offsetsNamespace, readMaxEventTimes } from '../state/index.js';
import { runArchivePhase } from './archive-phase.js';
import { startBulkScans } from './bulk-phase.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import { commitByOwner, consumerShares } from './consumer-shares.js';
import {
  emptyRunnerCounters,
  type ArchiveSource,
  type BulkSource,
  type JobRunnerLike,
  type KappaJobRunnerOptions,
  type KappaJobSpec,
  type RunnerCounters,
  type RunnerStats,
} from './job-runner-types.js';
import { PartitionCursor, type PartitionPosition } from './partition-cursor.js';
import { RateLimiter } from './rate-limiter.js';
import { WindowCompactor } from './window-compactor.js';

export class KappaJobRunner implements JobRunnerLike {
  private consumers: LogConsumer[] = [];
  private readonly tracks = new Map<number, PartitionCursor>();
  private readonly loading = new Map<number, Promise<PartitionCursor>>();
  private readonly owners = new Map<number, LogConsumer>();
  private readonly limiter: RateLimiter;
  private readonly writer: CheckpointWriter;
  private readonly compactor: WindowCompactor;
  private lastCompaction = 0;
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private running = false;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private bulk: Promise<void> | undefined;
  private readonly stats: RunnerCounters = emptyRunnerCounters();

  constructor(
    private readonly log: EventLog,
    private readonly store: RealtimeStore,
    deadLetters: DeadLetterWriter,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    readonly job: KappaJobSpec,
    private readonly opts: KappaJobRunnerOptions,
  ) {
    this.limiter = new RateLimiter(opts.rateLimit, clock);
    this.compactor = new WindowCompactor({
      store,
      job: job.id,
      policy: opts.engine.policy,
      partitions: async () => (await log.offsets(opts.topic)).length,
    });
    this.writer = new CheckpointWriter(
      {
        store,
        deadLetters,
        clock,
        bus,
        job,
        topic: opts.topic,
        runner: opts.runner,
        engine: opts.engine,
        stats: this.stats,
      },
      {
        cursor: (p) => this.tracks.get(p),
        cursors: () => this.tracks.values(),
        fence: (t, stored) => this.fence(t, stored),
        stored: (windows) => this.compactor.written(windows),
        engineLost: (err) => void this.recover(err),
        commitGroupOffsets: (offsets) => this.commitGroupOffsets(offsets),
      },
    );
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
    return [...this.tracks.values()].map((t) => t.position()).sort((a, b) => a.partition - b.partition);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    this.abort = new AbortController();
    if (this.opts.archive) this.startArchive(this.opts.archive);
    else if (this.opts.bulk && this.opts.engine.scan) await this.startBulk(this.opts.bulk);
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
        if (this.clock.now() - this.lastCompaction >= (this.opts.compactEveryMs ?? WINDOW_MS)) {
          this.lastCompaction = this.clock.now();
          // A failed fold changes nothing (one atomic apply) and is retried at the next run.
          this.stats.windowsFolded += await this.compactor.run().catch(() => 0);
        }
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
    return this.writer.checkpoint();
  }

  // ---- consumers ---------------------------------------------------------------------------

  private async startConsumers(): Promise<void> {
    // Self-assigned (embedded): the runner splits the partitions and starts each at the offset
    // committed with the state. Group-assigned (Kafka): the first batch of a partition is checked
    // against the store instead (a position given before the assignment could land on another member).
    const selfAssigned = this.log.capabilities.selfAssignment;
    const partitions = selfAssigned ? (await this.log.offsets(this.opts.topic)).map((p) => p.partition) : [];
    const shares = consumerShares(this.opts.consumers, partitions, selfAssigned);
    // Self-assigned, the start of every partition is known now: its cursor is loaded before the
    // first batch, so positions() reports a partition with nothing new to read as being at its
    // start. (Without it, a runner started at the log's end — the live job restarted at a
    // switchover — reported no position until a record came, and fast mode's settle, which waits
    // for every job's positions to reach the log's end while the virtual clock stands still, waited
    // for a record that only the clock's next tick would append.)
    await Promise.all(partitions.map((p) => this.tracks.get(p) ?? this.loadPartition(p)));
    const startAt = (p: number): number => this.tracks.get(p)?.next ?? 0;
    const maxBatch = this.limiter.limited
      ? Math.max(100, Math.min(this.opts.maxBatchRecords, Math.floor(this.opts.rateLimit / 10)))
      : this.opts.maxBatchRecords;
    for (const share of shares) {
      const options: ConsumerOptions = {
        group: this.job.group,
        topic: this.opts.topic,
        start: 'earliest',
        maxBatchRecords: maxBatch,
        onError: (err) => void this.recover(err),
        ...(selfAssigned
          ? {
              partitionsConsumedConcurrently: share?.length ?? Math.max(1, partitions.length),
              startOffsets: Object.fromEntries((share ?? partitions).map((p) => [p, startAt(p)])),
            }
          : {}),
        ...(share ? { partitions: share } : {}),
      };
      const consumer = this.log.consumer(options);
      this.consumers.push(consumer);
      await consumer.run((batch) => this.onBatch(consumer, batch));
    }
  }

  /** History straight from the segment files by the engine's threads, then the consumers. */
  private async startBulk(bulk: BulkSource): Promise<void> {
    const scans = await startBulkScans({
      log: this.log,
      store: this.store,
      topic: this.opts.topic,
      job: this.job.id,
      engine: this.opts.engine,
      bulk,
      cursors: this.tracks,
    });
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

  /** Kappa+: history below the cut-over from the archive, then the consumers from the cut-over on. */
  private startArchive(archive: ArchiveSource): void {
    this.bulk = this.archiveThenConsumers(archive).catch((err: unknown) => this.recover(err));
  }

  private async archiveThenConsumers(archive: ArchiveSource): Promise<void> {
    await runArchivePhase({
      engine: this.opts.engine,
      archive,
      cursor: async (p) => this.tracks.get(p) ?? (await this.loadPartition(p)),
      current: (p) => this.tracks.get(p),
      batchRecords: this.opts.maxBatchRecords,
      admit: async (p, count) => {
        await this.admit(p, count);
        return !this.stopping;
      },
      processed: (count) => this.counted(count),
      signal: this.abort.signal,
    });
    if (this.stopping) return;
    await this.checkpoint().catch(() => undefined);
    // Where the group protocol places the consumers (Kafka), the group starts at the cut-over too:
    // else it would fetch from the log's low offset only to skip up to here. Self-assigned
    // consumers start at the cursors. Best effort: the cursors decide what is processed.
    const at = archive.cutover
      .map((c) => ({ partition: c.partition, offset: this.tracks.get(c.partition)?.next ?? 0 }))
      .filter((c) => c.offset > 0);
    if (at.length > 0 && !this.log.capabilities.selfAssignment) {
      await this.log.commitOffsets(this.job.group, this.opts.topic, at).catch(() => undefined);
    }
    await this.startConsumers();
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
      this.writer.clear();
      await this.opts.engine.restart?.();
      this.stats.restarts++;
      while (!this.stopping) {
        try {
          await this.clock.sleep(this.opts.restartDelayMs ?? 1000, this.abort.signal);
          // An archive replay resumes from the archive where its stored position is below the cut-over.
          if (this.opts.archive) await this.archiveThenConsumers(this.opts.archive);
          else await this.startConsumers();
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
    const admission = t.admit(records);
    if (admission.kind === 'seek') {
      consumer.seek(p, admission.to);
      return;
    }
    if (admission.kind === 'none') return;
    const from = admission.from;
    const count = records.length - from;
    await this.admit(p, count);
    if (this.stopping || this.tracks.get(p) !== t) return; // fenced or stopping meanwhile
    // Same tick: the engine takes the records and the offset moves past them.
    this.opts.engine.process(p, records, from);
    t.advance(records[records.length - 1]!.offset, count);
    this.counted(count);
  }

  /** Waits for the rate limit and the engine's capacity before `count` records of partition `p`. */
  private async admit(p: number, count: number): Promise<void> {
    if (this.limiter.limited) await this.limiter.take(count, this.abort.signal).catch(() => undefined);
    const wait = this.opts.engine.waitForCapacity(p);
    if (wait) await wait;
  }

  /** `count` records were handed to the engine: a checkpoint is started when one is due. */
  private counted(count: number): void {
    this.stats.processed += count;
    if (!this.writer.running && this.clock.now() - this.writer.lastStart >= this.opts.checkpointIntervalMs) {
      void this.checkpoint().catch(() => undefined);
    }
  }

  private loadPartition(p: number): Promise<PartitionCursor> {
    let pending = this.loading.get(p);
    if (!pending) {
      pending = (async () => {
        const [stored, times] = await Promise.all([
          this.store.readOffsets(this.namespace),
          readMaxEventTimes(this.store, this.job.id),
        ]);
        const t = new PartitionCursor(p, stored[p]);
        this.opts.engine.init(p, times.get(p) ?? NO_EVENT_TIME);
        this.tracks.set(p, t);
        return t;
      })().finally(() => this.loading.delete(p));
      this.loading.set(p, pending);
    }
    return pending;
  }

  /** Another member checkpointed this partition: drop what we hold for it and resume from the store. */
  private async fence(t: PartitionCursor, stored: number | undefined): Promise<void> {
    const times = await readMaxEventTimes(this.store, this.job.id);
    const fresh = t.fencedAt(stored);
    this.writer.drop(t.partition);
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
  private commitGroupOffsets(offsets: Array<{ partition: number; offset: number }>): Promise<void> {
    return commitByOwner(this.owners, offsets);
  }
}
