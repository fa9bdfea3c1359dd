/**
 * The ETA/progress read model: a job's state with lag, rate, per-partition progress and ETA,
 * as GET /api/kappa/jobs shows it. Positions are the offsets checkpointed to the store (what
 * readers see); `processed` is this process's in-memory position when it runs the partition.
 */
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { availableKappaLogicVersions } from '../operator/index.js';
import type { JobRunnerLike } from '../runtime/index.js';
import {
  offsetsNamespace,
  readMetaCounters,
  RUNNING_STATES,
  tableName,
  type ActivePointer,
  type KappaJobRecord,
} from '../state/index.js';
import type { KappaJobsView, KappaJobView, KappaSettings, PartitionProgressView } from './dto.js';
import type { JobMonitor } from './monitor.js';
import { etaMs } from './progress.js';

export interface JobViewSource {
  store: RealtimeStore;
  monitor: JobMonitor;
  /** The job's runner in this process, if it runs here. */
  runner: JobRunnerLike | undefined;
  /** The job readers use. */
  activeJob: number | null;
}

/** Every job, newest first, with the active pointer, the logic versions and the settings. */
export async function buildJobsView(
  registry: { jobs: ReadonlyMap<number, KappaJobRecord>; active: ActivePointer | null },
  ends: ReadonlyArray<{ partition: number; end: number }>,
  settings: KappaSettings,
  src: Omit<JobViewSource, 'runner' | 'activeJob'> & { runner(job: number): JobRunnerLike | undefined },
): Promise<KappaJobsView> {
  const jobs: KappaJobView[] = [];
  const active = registry.active;
  for (const rec of [...registry.jobs.values()].sort((a, b) => b.id - a.id)) {
    jobs.push(
      await buildJobView(rec, ends, {
        store: src.store,
        monitor: src.monitor,
        runner: src.runner(rec.id),
        activeJob: active?.job ?? null,
      }),
    );
  }
  return {
    active: active?.job ?? null,
    previous: active?.previous ?? null,
    switchedAt: active?.switchedAt ?? null,
    availableLogicVersions: availableKappaLogicVersions(),
    settings: { ...settings },
    jobs,
  };
}

export async function buildJobView(
  rec: KappaJobRecord,
  ends: ReadonlyArray<{ partition: number; end: number }>,
  src: JobViewSource,
): Promise<KappaJobView> {
  const running = RUNNING_STATES.has(rec.state);
  const stored = running ? await src.store.readOffsets(offsetsNamespace(rec.id)) : {};
  const runner = src.runner;
  const local = new Map((runner?.positions() ?? []).map((p) => [p.partition, p.next]));
  const rates = new Map(src.monitor.rates(rec.id).map((r) => [r.partition, r]));
  const partitions: PartitionProgressView[] = running
    ? ends.map((e) => {
        const position = stored[e.partition] ?? 0;
        const snapshotEnd = rec.snapshot?.find((s) => s.partition === e.partition)?.end ?? null;
        const r = rates.get(e.partition);
        const lag = Math.max(0, e.end - position);
        return {
          partition: e.partition,
          position,
          processed: local.get(e.partition) ?? null,
          end: e.end,
          lag,
          snapshotEnd,
          progress: snapshotEnd === null ? null : snapshotEnd === 0 ? 1 : Math.min(1, position / snapshotEnd),
          rate: Math.round(r?.rate ?? 0),
          arrival: Math.round(r?.arrival ?? 0),
          etaMs: etaMs(lag, r?.rate ?? 0, r?.arrival ?? 0),
        };
      })
    : [];
  const etas = partitions.map((p) => p.etaMs);
  const counters = running
    ? await readMetaCounters(src.store, rec.id)
    : { processed: 0, counted: 0, late: 0, dropped: 0, invalid: 0, slowPath: 0 };
  return {
    ...rec,
    table: tableName(rec.id),
    active: src.activeJob === rec.id,
    lag: partitions.reduce((s, p) => s + p.lag, 0),
    rate: partitions.reduce((s, p) => s + p.rate, 0),
    etaMs: etas.length === 0 ? null : etas.some((e) => e === null) ? null : Math.max(...(etas as number[])),
    partitions,
    counters,
    catchUp: rec.state === 'replaying' ? (src.monitor.lastCatchUp(rec.id) ?? null) : null,
    runner: runner?.status ?? null,
  };
}
