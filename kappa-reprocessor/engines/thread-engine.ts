/**
 * Replay engine on the embedded log: the main thread reads record values from the log (the
 * consumer) and hands each partition's batches to the worker thread that owns the partition;
 * the workers scan, apply the logic and aggregate. The main thread keeps offsets and checkpoints.
 * Used when kappa.replayParallelism (default: one per core) is above 1; measured against the
 * inline engine in bench/kappa-replay-bench.ts (docs/kappa.md).
 */
import type { Worker } from 'node:worker_threads';
import type { LogRecord } from '../../kernel/ports/event-log.js';
import type { EngineRequest } from './engine-request.js';
import type { DrainedPartition, EventTimePolicy, ProcessingEngine, ScanSource } from '../operator/index.js';
import { spawnThread } from '../../kernel/util/spawn-thread.js';
import type { FromThread, ReplayThreadData, ToThread } from './thread-protocol.js';

/** Batches a worker may hold before the reader waits for it. */
const MAX_IN_FLIGHT = 4;

interface Slot {
  worker: Worker;
  inFlight: number;
  waiters: Array<() => void>;
}

export class ThreadEngine implements ProcessingEngine {
  readonly kind = 'worker-threads' as const;
  private slots: Slot[];
  private readonly drains = new Map<
    number,
    {
      pending: number;
      results: Map<number, DrainedPartition>;
      resolve: (r: Map<number, DrainedPartition>) => void;
      reject: (e: Error) => void;
    }
  >();
  private nextDrain = 1;
  private readonly scans = new Map<number, { resolve: (next: number) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;

  get policy(): EventTimePolicy {
    return this.data.policy;
  }

  constructor(
    private readonly data: ReplayThreadData,
    private readonly workers: number,
  ) {
    this.slots = this.spawn();
  }

  private spawn(): Slot[] {
    return Array.from({ length: Math.max(1, this.workers) }, () => {
      const slot: Slot = {
        worker: spawnThread(
          new URL(`./replay-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
          { workerData: this.data },
        ),
        inFlight: 0,
        waiters: [],
      };
      slot.worker.on('message', (m: FromThread) => this.onMessage(slot, m));
      slot.worker.on('error', (err) => this.fail(err));
      slot.worker.on('exit', (code) => {
        if (!this.closed && this.slots.includes(slot))
          this.fail(new Error(`replay worker thread exited with code ${code}`));
      });
      return slot;
    });
  }

  async restart(): Promise<void> {
    const old = this.slots;
    this.scans.clear();
    this.slots = this.spawn();
    this.failure = undefined;
    await Promise.all(old.map((s) => s.worker.terminate()));
  }

  private slot(partition: number): Slot {
    return this.slots[partition % this.slots.length]!;
  }

  private post(slot: Slot, m: ToThread): void {
    if (this.failure) throw this.failure;
    slot.worker.postMessage(m);
  }

  init(partition: number, maxEventTime: number): void {
    this.post(this.slot(partition), { type: 'init', partition, maxEventTime });
  }

  waitForCapacity(partition: number): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slot(partition);
    if (slot.inFlight < MAX_IN_FLIGHT) return undefined;
    return new Promise((resolve) => slot.waiters.push(resolve));
  }

  process(partition: number, records: readonly LogRecord[], from: number): void {
    const n = records.length - from;
    const lengths = new Uint32Array(n);
    const values = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const v = records[from + i]!.value;
      values[i] = v;
      lengths[i] = v.length;
    }
    const slot = this.slot(partition);
    slot.inFlight++;
    this.post(slot, {
      type: 'batch',
      partition,
      firstOffset: records[from]!.offset,
      text: values.join(''),
      lengths,
    });
  }

  scan(partition: number, source: ScanSource): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.scans.set(partition, { resolve, reject });
      this.post(this.slot(partition), { type: 'scan', partition, ...source });
    });
  }

  drain(partitions: readonly number[]): Promise<Map<number, DrainedPartition>> {
    if (this.failure) return Promise.reject(this.failure);
    const bySlot = new Map<Slot, number[]>();
    for (const p of partitions) {
      const s = this.slot(p);
      bySlot.set(s, [...(bySlot.get(s) ?? []), p]);
    }
    const id = this.nextDrain++;
    return new Promise((resolve, reject) => {
      if (bySlot.size === 0) return resolve(new Map());
      this.drains.set(id, { pending: bySlot.size, results: new Map(), resolve, reject });
      for (const [slot, ps] of bySlot) this.post(slot, { type: 'drain', id, partitions: ps });
    });
  }

  private onMessage(slot: Slot, m: FromThread): void {
    if (m.type === 'ack') {
      slot.inFlight--;
      slot.waiters.shift()?.();
    } else if (m.type === 'drained') {
      const d = this.drains.get(m.id);
      if (!d) return;
      for (const r of m.results)
        d.results.set(r.partition, {
          maxEventTime: r.maxEventTime,
          delta: r.delta,
          ...(r.next === undefined ? {} : { next: r.next }),
        });
      if (--d.pending === 0) {
        this.drains.delete(m.id);
        d.resolve(d.results);
      }
    } else if (m.type === 'scanned') {
      this.scans.get(m.partition)?.resolve(m.next);
      this.scans.delete(m.partition);
    } else {
      this.fail(new Error(`replay worker thread failed: ${m.message}`));
    }
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    for (const d of this.drains.values()) d.reject(err);
    this.drains.clear();
    for (const sc of this.scans.values()) sc.reject(err);
    this.scans.clear();
    for (const s of this.slots) for (const w of s.waiters.splice(0)) w();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sc of this.scans.values()) sc.reject(new Error('the replay engine was closed'));
    this.scans.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** The replay engine the lab uses on the embedded log: `parallelism` worker threads. */
export function createReplayEngine(req: EngineRequest): ProcessingEngine {
  const data: ReplayThreadData = {
    logicVersion: req.job.logicVersion,
    ads: [...req.logicContext.campaignOf],
    bots: [...req.logicContext.bots],
    movedAds: [...req.logicContext.movedAds],
    policy: {
      maxOutOfOrderMs: req.settings.maxOutOfOrderMs,
      allowedLatenessMs: req.settings.allowedLatenessMs,
    },
  };
  return new ThreadEngine(data, req.parallelism);
}
