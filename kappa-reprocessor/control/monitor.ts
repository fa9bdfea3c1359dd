/**
 * The monitor's memory per running job: catch-up detection and progress samples, fed from the
 * offsets each job checkpointed to the store (so it follows members in other processes too).
 */
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { offsetsNamespace, type KappaJobRecord } from '../state/index.js';
import { CatchUpDetector, type CatchUpState } from './catch-up.js';
import { ProgressTracker, type PartitionRate } from './progress.js';

export interface JobSample {
  detector: CatchUpDetector;
  progress: ProgressTracker;
  /** The last catch-up observation (replays). */
  last: CatchUpState | null;
  positions: Map<number, number>;
  ends: Map<number, number>;
}

export class JobMonitor {
  private readonly samples = new Map<number, JobSample>();

  constructor(
    private readonly store: RealtimeStore,
    /** Read when a job is first sampled. */
    private readonly catchUp: () => { lagThreshold: number; dwellMs: number },
  ) {}

  /** Reads the job's checkpointed offsets and records a progress sample. */
  async sample(
    rec: KappaJobRecord,
    ends: ReadonlyArray<{ partition: number; end: number }>,
    now: number,
  ): Promise<JobSample> {
    let m = this.samples.get(rec.id);
    if (!m) {
      const { lagThreshold, dwellMs } = this.catchUp();
      m = {
        detector: new CatchUpDetector(lagThreshold, dwellMs),
        progress: new ProgressTracker(),
        last: null,
        positions: new Map(),
        ends: new Map(),
      };
      this.samples.set(rec.id, m);
    }
    const stored = await this.store.readOffsets(offsetsNamespace(rec.id));
    m.positions = new Map(ends.map((e) => [e.partition, stored[e.partition] ?? 0]));
    m.ends = new Map(ends.map((e) => [e.partition, e.end]));
    m.progress.add({ at: now, positions: m.positions, ends: m.ends });
    return m;
  }

  /** Observes a replay's catch-up on its latest sample. */
  observeCatchUp(
    m: JobSample,
    now: number,
    snapshot: ReadonlyArray<{ partition: number; end: number }>,
    ends: ReadonlyArray<{ partition: number; end: number }>,
  ): CatchUpState {
    const state = m.detector.observe(now, { positions: m.positions, snapshot, ends });
    m.last = state;
    return state;
  }

  /** The last catch-up observation of a job (undefined: never sampled). */
  lastCatchUp(job: number): CatchUpState | null | undefined {
    return this.samples.get(job)?.last;
  }

  rates(job: number): PartitionRate[] {
    return this.samples.get(job)?.progress.rates() ?? [];
  }

  forget(job: number): void {
    this.samples.delete(job);
  }
}
