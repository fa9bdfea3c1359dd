import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../kernel/clock/clock.js';
import type { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { JobQueue } from '../kernel/ports/job-queue.js';
import { writeFileAtomic } from '../kernel/util/atomic-file.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import type { HistoryArchive } from '../kernel/ports/history-archive.js';
import { AnalyticDb } from './analytic-db.js';
import { BatchIngestor } from './batch-ingestor.js';
import { executeBatchRun, type BatchRunRecord } from './batch-run.js';
import { BatchViews, type BatchViewMeta } from './batch-views.js';
import { startBatchWorker } from './batch-worker.js';
import { availableBatchLogicVersions } from './logic/batch-logic.js';
import { MasterArchive } from './master-archive.js';
import { MasterDataset } from './master-dataset.js';

export interface BatchLayerOptions {
  dataDir: string;
  topic: string;
  /** Recompute every this many ms (0 = only on demand). */
  intervalMs: number;
  ingestIntervalMs: number;
  maxSplitEvents: number;
  reducers: number;
  keepVersions: number;
  /** In-process worker concurrency; 0 = no in-process worker (distributed: `lklab batch-worker`). */
  localWorkers: number;
  taskAttempts: number;
  taskTimeoutMs: number;
  logicVersion: number;
  /** Threads and memory cap of the batch layer's DuckDB (defaults: 2, no cap). */
  duckdbThreads?: number;
  duckdbMemoryLimit?: string;
}

const KEEP_RUNS = 50;

/**
 * The batch layer: exactly-once ingest into the master dataset, MapReduce runs over it through the
 * job queue, versioned views with an atomic swap, a schedule, and its own deployable logic version.
 */
export class BatchLayer {
  readonly master: MasterDataset;
  /** The master dataset as the Kappa archive replay's history (kernel/ports/history-archive.ts). */
  readonly archive: HistoryArchive;
  readonly views: BatchViews;
  private ingestor!: BatchIngestor;
  private db!: AnalyticDb;
  private worker: { close(): Promise<void> } | undefined;
  private runs: BatchRunRecord[] = [];
  private active: Promise<void> | undefined;
  private queued: BatchRunRecord | undefined;
  private abort = new AbortController();
  private scheduleLoop: Promise<void> | undefined;
  private logic: number;
  private faults: { failMapUntilAttempt?: number | undefined } = {};
  /** Awaited after each published view version. */
  onPublished: ((view: BatchViewMeta) => Promise<void>) | undefined;
  /** Total events read by map tasks over all runs (work amplification). */
  eventsProcessed = 0;
  computeMs = 0;

  constructor(
    private readonly log: EventLog,
    private readonly queue: JobQueue,
    private readonly reference: ReferenceData,
    private readonly deadLetters: DeadLetterWriter,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    private readonly options: BatchLayerOptions,
  ) {
    this.master = new MasterDataset(options.dataDir, options.topic);
    this.archive = new MasterArchive(this.master, () => this.db as AnalyticDb | undefined);
    this.views = new BatchViews(options.dataDir, options.keepVersions);
    this.logic = this.readState().logicVersion ?? options.logicVersion;
    this.runs = this.readState().runs ?? [];
    for (const r of this.runs)
      if (r.state !== 'completed' && r.state !== 'failed')
        Object.assign(r, { state: 'failed', error: 'interrupted by a restart' });
  }

  get logicVersion(): number {
    return this.logic;
  }

  /** Next offset batch ingest reads in a partition, while it runs in this process (back-pressure). */
  ingestPosition(partition: number): number | undefined {
    return this.ingestor ? this.ingestor.position(partition) : undefined;
  }

  async start(): Promise<void> {
    this.db = await this.openDb();
    await this.views.restore(this.db);
    this.ingestor = new BatchIngestor(
      this.log,
      this.master,
      this.db,
      this.deadLetters,
      this.clock,
      this.bus,
      {
        topic: this.options.topic,
        group: 'lklab-batch-ingest',
        intervalMs: this.options.ingestIntervalMs,
        maxSplitEvents: this.options.maxSplitEvents,
      },
    );
    await this.ingestor.start();
    if (this.options.localWorkers > 0)
      this.worker = await startBatchWorker(this.queue, this.db, this.clock, this.options.localWorkers);
    if (this.options.intervalMs > 0) this.scheduleLoop = this.schedule(this.abort.signal);
  }

  /** Serves the published views without ingesting or running (a process that only answers queries). */
  async startReadOnly(): Promise<void> {
    this.db = await this.openDb();
    await this.views.restore(this.db);
  }

  private openDb(): Promise<AnalyticDb> {
    return AnalyticDb.open(this.reference, {
      ...(this.options.duckdbThreads ? { threads: this.options.duckdbThreads } : {}),
      ...(this.options.duckdbMemoryLimit
        ? {
            memoryLimit: this.options.duckdbMemoryLimit,
            tempDirectory: join(this.options.dataDir, 'batch', 'tmp'),
          }
        : {}),
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.scheduleLoop;
    await this.active;
    await this.ingestor?.stop();
    await this.worker?.close();
    this.db?.close();
  }

  /** Deploys a logic version (an SQL file) for the next runs; the speed layer is deployed separately. */
  deploy(version: number): void {
    if (!availableBatchLogicVersions().includes(version)) {
      throw new RangeError(
        `batch logic v${version} does not exist (available: ${availableBatchLogicVersions().join(', ')})`,
      );
    }
    this.logic = version;
    this.saveState();
    this.bus.emit(LAB_EVENTS.LOGIC_DEPLOYED, this.clock.now(), { layer: 'batch', logicVersion: version });
  }

  /** Makes the next runs' map tasks fail on their first attempts (fault injection for scenarios/tests). */
  injectMapFailures(failUntilAttempt: number | undefined): void {
    this.faults.failMapUntilAttempt = failUntilAttempt;
  }

  listRuns(): BatchRunRecord[] {
    return [...this.runs].reverse();
  }

  getRun(id: number): BatchRunRecord | undefined {
    return this.runs.find((r) => r.id === id);
  }

  get ingestError(): string | undefined {
    return this.ingestor?.lastError;
  }

  /** Requests a run; coalesces with one already waiting. Resolves with the run record at once. */
  requestRun(trigger: string): BatchRunRecord {
    if (this.queued) return this.queued;
    const run: BatchRunRecord = {
      id: (this.runs.at(-1)?.id ?? 0) + 1,
      state: 'queued',
      trigger,
      logicVersion: this.logic,
      requestedAt: this.clock.now(),
      startedAt: undefined,
      finishedAt: undefined,
      phases: {},
      splits: 0,
      events: 0,
      mapTasks: 0,
      reduceTasks: 0,
      mapRows: 0,
      shuffleBytes: 0,
      retries: 0,
      boundary: undefined,
      viewVersion: undefined,
      error: undefined,
    };
    this.runs.push(run);
    if (this.runs.length > KEEP_RUNS) this.runs.splice(0, this.runs.length - KEEP_RUNS);
    this.queued = run;
    this.saveState();
    void this.drain();
    return run;
  }

  /** Resolves when the run has finished (completed or failed). */
  async waitForRun(id: number, timeoutMs = 600_000): Promise<BatchRunRecord> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const run = this.getRun(id);
      if (!run) throw new RangeError(`batch run ${id} does not exist`);
      if (run.state === 'completed' || run.state === 'failed') return run;
      if (this.clock.now() > deadline)
        throw new Error(`batch run ${id} still ${run.state} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async drain(): Promise<void> {
    if (this.active) return;
    while (this.queued) {
      const run = this.queued;
      this.queued = undefined;
      run.logicVersion = this.logic;
      this.active = (async () => {
        // Include everything the log holds now: ingest catches up, then the run snapshots the dataset.
        try {
          await this.ingestor
            .sync(Math.min(this.options.taskTimeoutMs, 120_000))
            .catch(() => this.ingestor.flush());
        } catch (err) {
          // The master dataset cannot be written (disk full, folder gone): this run fails with the
          // reason, the ingestor keeps what it read, and the next run tries again.
          run.state = 'failed';
          run.error = `batch ingest cannot write the master dataset: ${(err as Error).message}`;
          run.finishedAt = this.clock.now();
          this.bus.emit(LAB_EVENTS.BATCH_RUN_FAILED, run.finishedAt, { run: run.id, error: run.error });
          this.saveState();
          return;
        }
        const t = this.clock.now();
        await executeBatchRun(
          {
            master: this.master,
            views: this.views,
            db: this.db,
            queue: this.queue,
            clock: this.clock,
            bus: this.bus,
            dataDir: this.options.dataDir,
            reducers: this.options.reducers,
            taskAttempts: this.options.taskAttempts,
            taskTimeoutMs: this.options.taskTimeoutMs,
            mapInputEvents: this.options.maxSplitEvents,
            failMapUntilAttempt: this.faults.failMapUntilAttempt,
            onPublished: this.onPublished,
          },
          run,
          () => this.saveState(),
        );
        this.computeMs += this.clock.now() - t;
        if (run.state === 'completed') this.eventsProcessed += run.events;
      })();
      try {
        await this.active;
      } finally {
        this.active = undefined;
      }
    }
  }

  private async schedule(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.clock.sleep(this.options.intervalMs, signal);
      } catch {
        return;
      }
      this.requestRun('schedule');
    }
  }

  private get statePath(): string {
    return join(this.options.dataDir, 'batch', 'state.json');
  }

  private readState(): { logicVersion?: number; runs?: BatchRunRecord[] } {
    return existsSync(this.statePath) ? JSON.parse(readFileSync(this.statePath, 'utf8')) : {};
  }

  private saveState(): void {
    writeFileAtomic(this.statePath, JSON.stringify({ logicVersion: this.logic, runs: this.runs }));
  }
}
