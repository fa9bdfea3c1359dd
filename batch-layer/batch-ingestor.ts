import type { Clock } from '../kernel/clock/clock.js';
import { decodeEvent } from '../kernel/events/event-decoder.js';
import type { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog, LogConsumer, RecordBatch } from '../kernel/ports/event-log.js';
import type { AnalyticDb } from './analytic-db.js';
import type { MasterDataset, SplitInfo } from './master-dataset.js';
import { stagingLine, writeSplit } from './split-writer.js';

export interface IngestorOptions {
  topic: string;
  group: string;
  /** Close a split at least this often when data is waiting, in ms. */
  intervalMs: number;
  /** Close a split when it holds this many events. */
  maxSplitEvents: number;
}

/**
 * Append-only ingest from the log into the master dataset. The manifest's offsets are the cursor:
 * on start the consumer seeks to them, so a crash anywhere re-reads exactly what no committed split
 * holds (exactly-once). The group's commit only mirrors the cursor for lag reporting.
 */
export class BatchIngestor {
  private consumer: LogConsumer | undefined;
  /**
   * The staging lines read since the last split, one string per consumer batch (its lines joined):
   * a line kept on its own keeps the record's decoded string alive under it and costs four heap
   * objects for the ~15 s it waits, long enough for every one of them to reach the old generation.
   */
  private parts: string[] = [];
  private buffered = 0;
  private ranges = new Map<number, { from: number; to: number }>();
  private maxTimes = new Map<number, number>();
  private minTime = Number.POSITIVE_INFINITY;
  private maxTime = 0;
  private rejected = 0;
  private lastFlush: number;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly master: MasterDataset,
    private readonly db: AnalyticDb,
    private readonly deadLetters: DeadLetterWriter,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    private readonly options: IngestorOptions,
  ) {
    this.lastFlush = clock.now();
  }

  get lastError(): string | undefined {
    return this.failure?.message;
  }

  async start(): Promise<void> {
    const consumer = this.log.consumer({
      group: this.options.group,
      topic: this.options.topic,
      start: 'earliest',
    });
    this.consumer = consumer;
    await consumer.run((batch) => this.serial(() => this.onBatch(batch)));
    const offsets = this.master.snapshot.offsets;
    for (const p of await this.log.offsets(this.options.topic))
      consumer.seek(p.partition, Math.max(p.low, offsets[String(p.partition)] ?? 0));
    const signal = this.abort.signal;
    const tick = Math.max(100, Math.floor(this.options.intervalMs / 4));
    this.loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.clock.sleep(tick, signal);
        } catch {
          return;
        }
        await this.serial(() => this.maybeFlush(false)).catch(() => undefined);
      }
    })();
  }

  /** Next offset this ingestor has read (committed split or buffered), per partition. */
  position(partition: number): number {
    return this.ranges.get(partition)?.to ?? this.master.snapshot.offsets[String(partition)] ?? 0;
  }

  /** Waits until everything appended to the log so far has been read, then writes it out as a split. */
  async sync(timeoutMs: number): Promise<void> {
    const ends = await this.log.offsets(this.options.topic);
    const deadline = this.clock.now() + timeoutMs;
    const started = performance.now();
    while (ends.some((p) => this.position(p.partition) < p.end)) {
      if (this.failure) throw this.failure;
      if (performance.now() - started > timeoutMs && this.clock.now() >= deadline) {
        throw new Error(`batch ingest did not catch up with the log within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.flush();
  }

  /** Writes out whatever is buffered now (used before an on-demand batch run and at stop). */
  flush(): Promise<void> {
    return this.serial(() => this.maybeFlush(true));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.consumer?.stop();
    await this.flush();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch((err: Error) => {
      this.failure = err;
    });
    return next;
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    const cursor = this.master.snapshot.offsets[String(batch.partition)] ?? 0;
    const range = this.ranges.get(batch.partition);
    const dead = [];
    const lines: string[] = [];
    for (const r of batch.records) {
      // Never ingest an offset twice: skip what a committed split already holds.
      if (r.offset < cursor || (range && r.offset < range.to)) continue;
      const d = decodeEvent(r.value);
      if (!d.ok) {
        dead.push({
          source: `batch-ingest ${this.options.topic}/${batch.partition}@${r.offset}`,
          line: undefined,
          reason: d.reason,
          raw: r.value,
        });
        this.rejected++;
      } else {
        lines.push(stagingLine(r.value, batch.partition, r.offset));
        const t = Number(d.event.event_time);
        if (t < this.minTime) this.minTime = t;
        if (t > this.maxTime) this.maxTime = t;
        if (t > (this.maxTimes.get(batch.partition) ?? 0)) this.maxTimes.set(batch.partition, t);
      }
      const cur = this.ranges.get(batch.partition);
      if (cur) cur.to = r.offset + 1;
      else this.ranges.set(batch.partition, { from: r.offset, to: r.offset + 1 });
    }
    if (lines.length) {
      this.parts.push(lines.join('\n'));
      this.buffered += lines.length;
    }
    if (dead.length) await this.deadLetters.write(dead);
    // A split that cannot be written (disk full, folder gone) must not stop the consumer: the records
    // stay buffered, the error is reported (lastError), and the timer retries the write.
    await this.maybeFlush(false).catch((err: Error) => {
      this.failure = err;
    });
  }

  private async maybeFlush(force: boolean): Promise<void> {
    if (this.ranges.size === 0) return;
    const due =
      force ||
      this.buffered >= this.options.maxSplitEvents ||
      this.clock.now() - this.lastFlush >= this.options.intervalMs;
    if (!due) return;
    const id = this.master.nextSplitId;
    const name = `split-${String(id).padStart(6, '0')}.parquet`;
    const started = this.clock.now();
    const bytes = this.buffered > 0 ? await writeSplit(this.db, this.master.splitsDir, name, this.parts) : 0;
    const split: SplitInfo = {
      id,
      file: bytes > 0 ? `splits/${name}` : '',
      events: this.buffered,
      bytes,
      minEventTime: this.buffered ? this.minTime : 0,
      maxEventTime: this.maxTime,
      partitions: Object.fromEntries([...this.ranges].map(([p, r]) => [String(p), { ...r }])),
      createdAt: this.clock.now(),
      logPositions: true,
    };
    this.master.commitSplit(
      split,
      Object.fromEntries([...this.maxTimes].map(([p, t]) => [String(p), t])),
      this.rejected,
    );
    await this.consumer
      ?.commit([...this.ranges].map(([partition, r]) => ({ partition, offset: r.to })))
      .catch(() => undefined);
    this.bus.emit(LAB_EVENTS.BATCH_INGEST_SPLIT, this.clock.now(), {
      split: id,
      events: split.events,
      bytes,
      ms: this.clock.now() - started,
    });
    this.parts = [];
    this.buffered = 0;
    this.ranges = new Map();
    this.maxTimes = new Map();
    this.minTime = Number.POSITIVE_INFINITY;
    this.maxTime = 0;
    this.rejected = 0;
    this.lastFlush = this.clock.now();
    this.failure = undefined; // written out: an earlier write error is over
  }
}
