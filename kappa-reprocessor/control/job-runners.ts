/** The runners of the jobs this process runs, one per job, started with the engine each job gets. */
import type { JobRunnerLike } from '../runtime/index.js';
import type { KappaJobRecord } from '../state/index.js';
import { selectRunner, type EngineSelectionDeps } from './engine-selection.js';

export class JobRunners {
  private readonly runners = new Map<number, JobRunnerLike>();

  constructor(private readonly engines: EngineSelectionDeps) {}

  get(id: number): JobRunnerLike | undefined {
    return this.runners.get(id);
  }

  /** Starts the job's runner unless it runs already; a runner whose start fails is dropped. */
  async start(rec: KappaJobRecord): Promise<void> {
    if (this.runners.has(rec.id)) return;
    const selected = selectRunner(rec, this.engines);
    this.runners.set(rec.id, selected.runner);
    try {
      await selected.runner.start();
    } catch (err) {
      this.runners.delete(rec.id);
      await selected.onStartFailure();
      throw err;
    }
  }

  /** Stops and forgets the job's runner (it checkpoints what it processed). */
  async stop(id: number): Promise<void> {
    const runner = this.runners.get(id);
    this.runners.delete(id);
    await runner?.stop();
  }

  /** Restarts the job's runner with the engine its current state gets. */
  async restart(rec: KappaJobRecord): Promise<void> {
    const runner = this.runners.get(rec.id);
    if (runner) {
      await runner.stop(); // still listed while it stops: its positions keep back-pressure going
      this.runners.delete(rec.id);
    }
    await this.start(rec);
  }

  /** Next offset the job's runner processes in a partition, when it runs here. */
  position(id: number, partition: number): number | undefined {
    return this.runners
      .get(id)
      ?.positions()
      .find((p) => p.partition === partition)?.next;
  }

  async checkpointAll(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.checkpoint()));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }
}
