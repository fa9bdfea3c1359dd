/**
 * A Kappa job run by N worker threads, each a member of the job's consumer group with its own
 * Kafka client and Redis connection (thread-job.ts). Each member checkpoints its own partitions;
 * the lab follows progress through the store's offsets like for any other member.
 */
import type { Worker } from 'node:worker_threads';
import type { LabConfig } from '../../kernel/config/defaults.js';
import type { JobRunnerLike, KappaJobSpec, PartitionPosition, RunnerStats } from '../runtime/index.js';
import { spawnThread } from '../../kernel/util/spawn-thread.js';
import type { FromThreadJob, ThreadJobData } from './thread-job.js';

/** Young generation per thread (MiB): kafkajs allocates a lot of short-lived objects. */
const YOUNG_GENERATION_MB = 64;

interface Member {
  worker: Worker;
  status: RunnerStats | undefined;
  positions: PartitionPosition[];
  exited: Promise<void>;
}

export class ThreadedJobRunner implements JobRunnerLike {
  private members: Member[] = [];
  private nextCheckpoint = 1;
  private readonly waiting = new Map<number, { left: number; resolve: () => void }>();
  lastError: string | undefined;

  constructor(
    readonly job: KappaJobSpec,
    private readonly options: {
      config: LabConfig;
      threads: number;
      topic: string;
      deadLetterTopic: string;
      rateLimit: number;
      runner: string;
    },
  ) {}

  get status(): RunnerStats {
    const s = this.members.map((m) => m.status).filter((x): x is RunnerStats => x !== undefined);
    const sum = (
      k: 'processed' | 'checkpoints' | 'checkpointErrors' | 'fenced' | 'restarts' | 'windowsFolded',
    ): number => s.reduce((a, x) => a + x[k], 0);
    return {
      running: this.members.length > 0,
      engine: `worker-threads (${this.options.threads} Kafka consumers)`,
      consumers: this.members.length,
      processed: sum('processed'),
      checkpoints: sum('checkpoints'),
      checkpointErrors: sum('checkpointErrors'),
      lastCheckpointAt: Math.max(0, ...s.map((x) => x.lastCheckpointAt ?? 0)) || null,
      lastCheckpointMs: Math.max(0, ...s.map((x) => x.lastCheckpointMs ?? 0)) || null,
      fenced: sum('fenced'),
      restarts: sum('restarts'),
      windowsFolded: sum('windowsFolded'),
      lastError: this.lastError ?? s.find((x) => x.lastError)?.lastError ?? null,
    };
  }

  positions(): PartitionPosition[] {
    const byPartition = new Map<number, PartitionPosition>();
    for (const m of this.members)
      for (const p of m.positions)
        if (!byPartition.has(p.partition) || byPartition.get(p.partition)!.next < p.next)
          byPartition.set(p.partition, p);
    return [...byPartition.values()].sort((a, b) => a.partition - b.partition);
  }

  async start(): Promise<void> {
    const n = Math.max(1, this.options.threads);
    const started: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) {
      const data: ThreadJobData = {
        config: this.options.config,
        job: this.job,
        topic: this.options.topic,
        deadLetterTopic: this.options.deadLetterTopic,
        rateLimit: this.options.rateLimit > 0 ? Math.max(1, Math.floor(this.options.rateLimit / n)) : 0,
        runner: `${this.options.runner} thread ${i + 1}/${n}`,
      };
      const worker = spawnThread(
        new URL(`./thread-job${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
        { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } },
      );
      let ready!: () => void;
      let failed!: (e: Error) => void;
      started.push(new Promise<void>((res, rej) => ((ready = res), (failed = rej))));
      const member: Member = {
        worker,
        status: undefined,
        positions: [],
        exited: new Promise((r) => worker.once('exit', () => r())),
      };
      worker.on('message', (m: FromThreadJob | { type: 'checkpointed'; id: number }) => {
        if (m.type === 'started') ready();
        else if (m.type === 'status' || m.type === 'stopped') {
          member.status = m.status;
          member.positions = m.positions;
        } else if (m.type === 'checkpointed') {
          const w = this.waiting.get(m.id);
          if (w && --w.left === 0) {
            this.waiting.delete(m.id);
            w.resolve();
          }
        } else {
          this.lastError = m.message;
          failed(new Error(`Kappa job ${this.job.id} thread failed: ${m.message}`));
        }
      });
      worker.on('error', (err) => {
        this.lastError = err.message;
        failed(err);
      });
      this.members.push(member);
    }
    try {
      await Promise.all(started);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Every member checkpoints now. */
  checkpoint(): Promise<void> {
    const id = this.nextCheckpoint++;
    if (this.members.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.set(id, { left: this.members.length, resolve });
      for (const m of this.members) m.worker.postMessage({ type: 'checkpoint', id });
    });
  }

  /** Each member stops its consumer, checkpoints and leaves the group. */
  async stop(): Promise<void> {
    const members = this.members;
    for (const m of members) m.worker.postMessage({ type: 'stop' });
    await Promise.race([
      Promise.all(members.map((m) => m.exited)),
      new Promise((r) => setTimeout(r, 60_000)),
    ]);
    await Promise.all(members.map((m) => m.worker.terminate()));
    this.members = [];
  }
}
