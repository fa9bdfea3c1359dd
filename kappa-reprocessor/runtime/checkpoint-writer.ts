/**
 * One Kappa checkpoint: the engine's pre-aggregated output for the dirty partitions AND the
 * offsets it covers go to the realtime store in ONE atomic apply (namespace kappa-v<N>), so a
 * kill at any point neither double counts nor loses an event.
 *
 * Before applying, the writer re-reads the store's offsets; a partition whose stored offset is no
 * longer its cursor's `base` was checkpointed by another member after a rebalance: the runner is
 * asked to fence it (drop what it holds, resume from the stored offset). The apply is a
 * compare-and-set on the offsets it read (`expected`), so another member applying in between makes
 * it fail whole; what could not be stored is carried to the next checkpoint (its field names kept,
 * so a retried delta never lands twice). The log's group offsets are committed after the store,
 * for lag display only.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import type { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import {
  addCounters,
  emptyCounters,
  NO_EVENT_TIME,
  type DeadLetterEntry,
  type DeltaCounters,
  type ProcessingEngine,
} from '../operator/index.js';
import { deltaField, offsetsNamespace, toStoreUpdate, type DeltaEntry } from '../state/index.js';
import type { KappaJobSpec, RunnerCounters } from './job-runner-types.js';
import type { PartitionCursor } from './partition-cursor.js';

/** What a failed checkpoint could not store for a partition. */
interface Carried {
  entries: DeltaEntry[];
  counters: DeltaCounters;
  deadLetters: DeadLetterEntry[];
  maxEventTime: number;
}

export interface CheckpointWriterDeps {
  store: RealtimeStore;
  deadLetters: DeadLetterWriter;
  clock: Clock;
  bus: LabEventBus;
  job: KappaJobSpec;
  topic: string;
  /** Who runs the job, for the dead-letter source. */
  runner: string;
  engine: ProcessingEngine;
  /** The runner's counters; the writer updates the checkpoint ones (and `processed` for direct reads). */
  stats: RunnerCounters;
}

/** The runner's side of a checkpoint. */
export interface CheckpointHooks {
  /** The cursor currently held for a partition (a checkpoint only writes for current cursors). */
  cursor(partition: number): PartitionCursor | undefined;
  /** Every cursor held now. */
  cursors(): Iterable<PartitionCursor>;
  /** Another member stored `stored` for the cursor's partition: drop it and resume from there. */
  fence(cursor: PartitionCursor, stored: number | undefined): Promise<void>;
  /** The engine lost what it held (e.g. a worker died): restart from the store's offsets. */
  engineLost(err: unknown): void;
  /** A checkpoint stored deltas of these windows. */
  stored(windows: Iterable<number>): void;
  /** Best-effort commit of the log's group offsets. */
  commitGroupOffsets(offsets: Array<{ partition: number; offset: number }>): Promise<void>;
}

export class CheckpointWriter {
  private readonly carry = new Map<number, Carried>();
  private chain: Promise<void> = Promise.resolve();
  /** A checkpoint is being written. */
  running = false;
  /** Clock time the last checkpoint (that had something to write) started. */
  lastStart = 0;

  constructor(
    private readonly deps: CheckpointWriterDeps,
    private readonly hooks: CheckpointHooks,
  ) {}

  get namespace(): string {
    return offsetsNamespace(this.deps.job.id);
  }

  /** Checkpoints now. Serialized: a call waits for the one before it. */
  checkpoint(): Promise<void> {
    const run = this.chain.then(() => this.writeOnce());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Forgets what earlier checkpoints could not store for a partition (fenced). */
  drop(partition: number): void {
    this.carry.delete(partition);
  }

  /** Forgets everything carried (restart from the store). */
  clear(): void {
    this.carry.clear();
  }

  private async writeOnce(): Promise<void> {
    const { store, clock, bus, job, stats } = this.deps;
    const dirty = [...this.hooks.cursors()].filter((t) => t.dirty(this.carry.has(t.partition)));
    if (dirty.length === 0) return;
    this.running = true;
    const started = clock.now();
    this.lastStart = started;
    const t0 = performance.now();
    try {
      const stored = await store.readOffsets(this.namespace);
      const good: PartitionCursor[] = [];
      for (const t of dirty) {
        if (this.hooks.cursor(t.partition) !== t) continue;
        if (stored[t.partition] !== t.base) await this.hooks.fence(t, stored[t.partition]);
        else good.push(t);
      }
      if (good.length === 0) return;
      // Offsets and drain in the same tick: the drained records are exactly those below `next`.
      const nexts = good.map((t) => t.next);
      let drained;
      try {
        drained = await this.deps.engine.drain(good.map((t) => t.partition));
      } catch (err) {
        this.hooks.engineLost(err);
        throw err;
      }
      const parts = good.map((t, i) => {
        const d = drained.get(t.partition);
        let next = nexts[i]!;
        if (t.direct && d?.next !== undefined) {
          // Read by the engine itself: its delta covers exactly the records below d.next.
          next = d.next;
          t.advanceDirect(next, d.delta.counters.processed);
          stats.processed += d.delta.counters.processed;
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
          await this.deps.deadLetters.write(
            letters.map((l) => ({
              source: `kappa-v${job.id} (${this.deps.runner}) ${this.deps.topic}/${l.partition}@${l.offset}`,
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
      const now = clock.now();
      const update = toStoreUpdate({
        job: job.id,
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
        await store.apply(update);
      } catch (err) {
        keep();
        throw err;
      }
      this.hooks.stored(parts.flatMap((p) => p.entries.map((e) => e.window)));
      let events = 0;
      let dropped = 0;
      for (const p of parts) {
        this.carry.delete(p.t.partition);
        if (this.hooks.cursor(p.t.partition) === p.t) p.t.checkpointed(p.next);
        events += p.counters.processed;
        dropped += p.counters.dropped;
      }
      stats.checkpoints++;
      stats.lastCheckpointAt = now;
      stats.lastCheckpointMs = Math.round(performance.now() - t0);
      bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT, now, {
        job: job.id,
        events,
        partitions: parts.length,
        ms: stats.lastCheckpointMs,
        increments: update.increments?.length ?? 0,
        sets: update.sets?.length ?? 0,
      });
      if (dropped > 0) bus.emit(LAB_EVENTS.KAPPA_LATE_DROPPED, now, { job: job.id, dropped });
      await this.hooks.commitGroupOffsets(parts.map((p) => ({ partition: p.t.partition, offset: p.next })));
    } catch (err) {
      stats.checkpointErrors++;
      stats.lastError = err instanceof Error ? err.message : String(err);
      bus.emit(LAB_EVENTS.KAPPA_CHECKPOINT_FAILED, clock.now(), { job: job.id, error: stats.lastError });
      throw err;
    } finally {
      this.running = false;
    }
  }
}
