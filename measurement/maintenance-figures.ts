/**
 * Maintenance cost per architecture, from the code and the running system: logic lines and their
 * diff, the running components, compute per component, work amplification (events recomputed per
 * event ingested) and the storage each architecture holds.
 */
import { batchViewsDir, masterDatasetDir } from '../batch-layer/index.js';
import { KAPPA_PREFIX, loadRegistry, readMetaCounters, RUNNING_STATES } from '../kappa-reprocessor/index.js';
import { projectRoot } from '../kernel/util/project-root.js';
import { readRequestedSpeedLogicVersion, realtimeViewsMemoryBytes } from '../speed-layer/index.js';
import { archOfComponent } from './cpu-meter.js';
import { codeFigures, diskBytes, LOGIC_CODEBASES } from './maintenance-cost.js';
import type { MaintenanceFigures } from './measurement-api.js';
import type { MeasurementDeps } from './measurement-deps.js';

/**
 * The maintenance figures of both architectures now. `replayWork` carries, per replay job, the
 * events it had recomputed at the last call (kept when its counters cannot be read).
 */
export async function maintenanceFigures(
  d: MeasurementDeps,
  replayWork: Map<number, number>,
  ingested: number,
  compute: Record<string, number>,
): Promise<MaintenanceFigures[]> {
  const root = d.config.measurement.sourceDir || projectRoot();
  const registry = await loadRegistry(d.store);
  const speedLogic = (await readRequestedSpeedLogicVersion(d.store)) ?? d.speed.logicVersion;
  const kappaLogic = registry.active?.logicVersion ?? d.config.kappa.logicVersion;
  const lambdaCode = codeFigures(root, LOGIC_CODEBASES.lambda, {
    batch: d.batch.logicVersion,
    speed: speedLogic,
  });
  const kappaCode = codeFigures(root, LOGIC_CODEBASES.kappa, { kappa: kappaLogic });

  const consumers = d.meter.runningConsumers();
  const speedStatus = await d.speed
    .currentStatus()
    .catch(() => ({ running: false }) as Record<string, unknown>);
  const lambdaComponents = [
    `event-log (${d.log.kind})`,
    ...consumers.filter((c) => archOfComponent(c) === 'lambda'),
    ...(consumers.includes('batch-ingest')
      ? ['batch-scheduler', `master-dataset (Parquet, DuckDB)`, `job-queue (${d.queueKind})`]
      : []),
    ...(consumers.includes('batch-ingest') && d.config.batch.localWorkers > 0
      ? [`batch-workers ×${d.config.batch.localWorkers}`]
      : []),
    ...(!consumers.includes('speed-layer') && speedStatus.running ? ['speed-layer (remote)'] : []),
    `realtime-store (${d.store.kind})`,
    'serving-layer',
  ];
  const kappaComponents = [
    `event-log (${d.log.kind})`,
    ...[...registry.jobs.values()]
      .filter((j) => RUNNING_STATES.has(j.state))
      .sort((a, b) => a.id - b.id)
      .map((j) => `kappa-job-${j.id} (${j.state}, logic v${j.logicVersion})`),
    `realtime-store (${d.store.kind})`,
    'serving-layer',
  ];

  // Work amplification: events read by recomputation per event ingested.
  const batchRecomputed = d.batch
    .listRuns()
    .filter((r) => r.state === 'completed')
    .reduce((s, r) => s + r.events, 0);
  let replayRecomputed = 0;
  for (const job of registry.jobs.values()) {
    if (job.kind !== 'replay') continue;
    const snapshotTotal = (job.snapshot ?? []).reduce((s, p) => s + p.end, 0);
    let work = replayWork.get(job.id) ?? 0;
    if (job.caughtUpAt !== null) work = snapshotTotal;
    else if (RUNNING_STATES.has(job.state)) {
      const counters = await readMetaCounters(d.store, job.id).catch(() => undefined);
      if (counters) work = Math.min(snapshotTotal, counters.processed);
    }
    replayWork.set(job.id, work);
    replayRecomputed += work;
  }

  const memory = async (prefix: string): Promise<number | null> =>
    d.store.memoryBytes ? d.store.memoryBytes(prefix).catch(() => null) : null;
  const lambdaStorage = [
    { part: 'master dataset', bytes: diskBytes(masterDatasetDir(d.config.dataDir)) },
    { part: 'batch views', bytes: diskBytes(batchViewsDir(d.config.dataDir)) },
    { part: 'realtime views', bytes: await realtimeViewsMemoryBytes(d.store).catch(() => null) },
  ];
  const kappaStorage = [
    {
      part: 'log',
      // Only a log in this process has its disk here; a broker's is not the lab's to read.
      bytes: d.log.localDiskBytes ? await d.log.localDiskBytes().catch(() => null) : null,
    },
    { part: 'output tables', bytes: await memory(KAPPA_PREFIX) },
  ];
  const sum = (parts: Array<{ bytes: number | null }>): number =>
    parts.reduce((s, p) => s + (p.bytes ?? 0), 0);
  const computeOf = (arch: 'lambda' | 'kappa'): Record<string, number> =>
    Object.fromEntries(Object.entries(compute).filter(([c]) => archOfComponent(c) === arch));
  return [
    {
      arch: 'lambda',
      ...lambdaCode,
      runningComponents: lambdaComponents,
      computeMs: computeOf('lambda'),
      workAmplification: ingested > 0 ? batchRecomputed / ingested : null,
      storageBytes: sum(lambdaStorage),
      storage: lambdaStorage,
      recomputedEvents: batchRecomputed,
    },
    {
      arch: 'kappa',
      ...kappaCode,
      runningComponents: kappaComponents,
      computeMs: computeOf('kappa'),
      workAmplification: ingested > 0 ? replayRecomputed / ingested : null,
      storageBytes: sum(kappaStorage),
      storage: kappaStorage,
      recomputedEvents: replayRecomputed,
    },
  ];
}
