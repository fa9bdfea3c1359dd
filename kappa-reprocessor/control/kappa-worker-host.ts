/**
 * Runs Kappa job consumers in a process that is not the lab (`lklab kappa-worker`): it follows
 * the job registry the lab keeps in the store (polled), joins the consumer group of every
 * running job, and leaves a job's group when the lab retires or aborts it. Each member
 * checkpoints its own partitions (state + offsets in one apply), so adding or killing workers
 * never changes the answers — Kafka rebalances the partitions, the store's offsets fence stale
 * members. Needs Kafka and Redis: the embedded log and store belong to the lab's process.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import type { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import type { LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import type { ReferenceData } from '../../kernel/workload/reference-data.js';
import { loadRegistry, RUNNING_STATES, type KappaJobRecord } from '../state/index.js';
import { KappaJobRunner } from '../runtime/index.js';
import type { KappaSettings } from './dto.js';
import { InlineEngine, kappaLogic } from '../operator/index.js';

export interface KappaWorkerHostOptions {
  topic: string;
  settings: KappaSettings;
  /** Which jobs to help: all running jobs, or only replays. */
  jobs: 'all' | 'replays';
  /** Consumers this process runs per job. */
  consumersPerJob: number;
  /** How often the registry is read (ms). */
  pollMs: number;
  runner: string;
  onChange?: (message: string) => void;
}

export class KappaWorkerHost {
  private readonly runners = new Map<number, KappaJobRunner>();
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  lastError: string | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly store: RealtimeStore,
    private readonly deadLetters: DeadLetterWriter,
    private readonly reference: ReferenceData,
    private readonly clock: Clock,
    private readonly bus: LabEventBus,
    private readonly options: KappaWorkerHostOptions,
  ) {}

  /** Jobs this process currently consumes for. */
  get jobs(): number[] {
    return [...this.runners.keys()].sort((a, b) => a - b);
  }

  runner(id: number): KappaJobRunner | undefined {
    return this.runners.get(id);
  }

  async start(): Promise<void> {
    await this.reconcile();
    const signal = this.abort.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        try {
          await this.clock.sleep(this.options.pollMs, signal);
        } catch {
          return;
        }
        await this.reconcile().catch((err: Error) => {
          this.lastError = err.message;
          this.options.onChange?.(`registry read failed: ${err.message}`);
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }

  /** Starts runners for running jobs, stops those of jobs that ended. */
  async reconcile(): Promise<void> {
    const { jobs } = await loadRegistry(this.store);
    const wanted = new Map<number, KappaJobRecord>();
    for (const rec of jobs.values()) {
      if (!RUNNING_STATES.has(rec.state)) continue;
      if (this.options.jobs === 'replays' && rec.state !== 'replaying') continue;
      // An archive replay reads the archive in the lab; a member here would start from the log below the cut-over.
      if (rec.state === 'replaying' && rec.source === 'archive') continue;
      wanted.set(rec.id, rec);
    }
    for (const [id, runner] of [...this.runners]) {
      if (wanted.has(id)) continue;
      this.runners.delete(id);
      await runner.stop();
      this.options.onChange?.(
        `left job ${id} (${jobs.get(id)?.state ?? 'gone'}) after processing ${runner.status.processed} events`,
      );
    }
    for (const rec of wanted.values()) {
      if (this.runners.has(rec.id)) continue;
      const s = this.options.settings;
      const runner = new KappaJobRunner(
        this.log,
        this.store,
        this.deadLetters,
        this.clock,
        this.bus,
        { id: rec.id, logicVersion: rec.logicVersion, group: rec.group },
        {
          topic: this.options.topic,
          checkpointIntervalMs: s.checkpointIntervalMs,
          consumers: this.options.consumersPerJob,
          rateLimit: rec.state === 'replaying' ? rec.rateLimit : 0,
          maxBatchRecords: s.maxBatchRecords,
          engine: new InlineEngine(
            kappaLogic(rec.logicVersion),
            {
              campaignOf: this.reference.campaignOf,
              bots: new Set(this.reference.bots),
              movedAds: this.reference.movedAds,
            },
            { maxOutOfOrderMs: s.maxOutOfOrderMs, allowedLatenessMs: s.allowedLatenessMs },
          ),
          runner: this.options.runner,
        },
      );
      this.runners.set(rec.id, runner);
      await runner.start();
      this.options.onChange?.(
        `joined job ${rec.id} (logic v${rec.logicVersion}, ${rec.state}, group ${rec.group})`,
      );
    }
  }
}
