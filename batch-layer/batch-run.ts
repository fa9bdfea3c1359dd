import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../kernel/clock/clock.js';
import { windowStart } from '../kernel/events/ysb-event.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { JobQueue } from '../kernel/ports/job-queue.js';
import type { AnalyticDb } from './analytic-db.js';
import { BATCH_QUEUE, type QueuedTask } from './batch-worker.js';
import { pad, type BatchViewMeta, type BatchViews } from './batch-views.js';
import type { MasterDataset, MasterManifest } from './master-dataset.js';
import { shuffle, type MapResult, type ReduceResult } from './map-reduce/tasks.js';

export type BatchRunState = 'queued' | 'map' | 'shuffle' | 'reduce' | 'publish' | 'completed' | 'failed';

export interface BatchRunRecord {
  id: number;
  state: BatchRunState;
  trigger: string;
  logicVersion: number;
  requestedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** Duration of each phase in ms. */
  phases: { map?: number; shuffle?: number; reduce?: number; publish?: number };
  splits: number;
  events: number;
  mapTasks: number;
  reduceTasks: number;
  /** Partial-aggregate rows emitted by the maps, and bytes moved by the shuffle. */
  mapRows: number;
  shuffleBytes: number;
  /** Attempts beyond the first, summed over tasks. */
  retries: number;
  boundary: number | undefined;
  viewVersion: number | undefined;
  error: string | undefined;
}

export interface RunContext {
  master: MasterDataset;
  views: BatchViews;
  db: AnalyticDb;
  queue: JobQueue;
  clock: Clock;
  bus: LabEventBus;
  dataDir: string;
  reducers: number;
  taskAttempts: number;
  taskTimeoutMs: number;
  /**
   * Most events one map task reads: consecutive splits are combined into one map input up to this
   * many (a larger split is an input of its own). Live ingest closes a split every few seconds, so
   * one task per split made a run's fixed cost grow by ~12 tasks per minute of data.
   */
  mapInputEvents: number;
  /** Awaited after a version is published (Lambda: tell the speed side, expire covered windows). */
  onPublished?: ((view: BatchViewMeta) => Promise<void>) | undefined;
  /** Injected fault: map tasks fail on attempts below this number. */
  failMapUntilAttempt?: number | undefined;
}

/**
 * The batch boundary of a snapshot: the start of the oldest window that is not fully covered,
 * i.e. windowStart of the smallest per-partition newest event time.
 */
export function boundaryOf(manifest: Readonly<MasterManifest>): number | undefined {
  const times = Object.values(manifest.maxEventTime).filter((t) => t > 0);
  if (times.length === 0) return undefined;
  return windowStart(Math.min(...times));
}

/** Consecutive splits grouped into map inputs of at most `maxEvents` events each (in order). */
export function mapInputs<S extends { events: number }>(splits: readonly S[], maxEvents: number): S[][] {
  const inputs: S[][] = [];
  let current: S[] = [];
  let events = 0;
  for (const s of splits) {
    if (current.length > 0 && events + s.events > maxEvents) {
      inputs.push(current);
      current = [];
      events = 0;
    }
    current.push(s);
    events += s.events;
  }
  if (current.length > 0) inputs.push(current);
  return inputs;
}

/** One recompute-from-scratch: map per input (one or more splits) → shuffle by key hash → reduce → publish a view version. */
export async function executeBatchRun(
  ctx: RunContext,
  run: BatchRunRecord,
  onChange: () => void,
): Promise<void> {
  const snapshot = ctx.master.snapshot;
  const splits = snapshot.splits.filter((s) => s.events > 0 && s.file);
  const boundary = boundaryOf(snapshot);
  const runDir = join(ctx.dataDir, 'batch', 'runs', `run-${pad(run.id)}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  run.startedAt = ctx.clock.now();
  run.splits = splits.length;
  run.events = splits.reduce((s, x) => s + x.events, 0);
  run.boundary = boundary;
  ctx.bus.emit(LAB_EVENTS.BATCH_RUN_STARTED, run.startedAt, {
    run: run.id,
    logicVersion: run.logicVersion,
    splits: run.splits,
    events: run.events,
  });
  const phase = async <T>(
    name: 'map' | 'shuffle' | 'reduce' | 'publish',
    fn: () => Promise<T>,
  ): Promise<T> => {
    run.state = name;
    onChange();
    const t = ctx.clock.now();
    const result = await fn();
    run.phases[name] = ctx.clock.now() - t;
    ctx.bus.emit(LAB_EVENTS.BATCH_RUN_PHASE, ctx.clock.now(), {
      run: run.id,
      phase: name,
      ms: run.phases[name],
    });
    return result;
  };
  try {
    const inputs = mapInputs(splits, ctx.mapInputEvents);
    const mapDirs = inputs.map((_, i) => join(runDir, `map-${pad(i)}`));
    const mapResults = await phase('map', () =>
      runTasks<MapResult>(
        ctx,
        run,
        inputs.map((input, i) => ({
          kind: 'map',
          runId: run.id,
          task: i,
          splits: input.map((s) => ctx.master.splitPath(s)),
          logicVersion: run.logicVersion,
          reducers: ctx.reducers,
          outDir: mapDirs[i]!,
          ...(ctx.failMapUntilAttempt ? { failUntilAttempt: ctx.failMapUntilAttempt } : {}),
        })),
      ),
    );
    run.mapTasks = mapResults.length;
    run.mapRows = mapResults.reduce((s, r) => s + r.rows, 0);
    const shuffled = await phase('shuffle', async () => shuffle(mapDirs, ctx.reducers));
    run.shuffleBytes = shuffled.bytes.reduce((a, b) => a + b, 0);
    // Reducers write the view's parts straight into a staging folder; publishing renames it.
    const version = ctx.views.nextVersion();
    const staging = ctx.views.stagingDir(version);
    const reduceOuts = shuffled.inputs.map((_, r) => join(staging, `part-${pad(r)}.parquet`));
    const reduceResults = await phase('reduce', () =>
      runTasks<ReduceResult>(
        ctx,
        run,
        shuffled.inputs.map((inputs, r) => ({
          kind: 'reduce',
          runId: run.id,
          partition: r,
          inputs,
          out: reduceOuts[r]!,
          boundary: boundary ?? null,
        })),
      ),
    );
    run.reduceTasks = reduceResults.length;
    // The map outputs are spent: removing them now spares the publish's fsyncs from writing them out.
    rmSync(runDir, { recursive: true, force: true });
    await phase('publish', async () => {
      const file = `v${pad(version)}`;
      const meta: BatchViewMeta = {
        version,
        runId: run.id,
        logicVersion: run.logicVersion,
        boundary: boundary ?? 0,
        offsets: { ...snapshot.offsets },
        events: run.events,
        splits: run.splits,
        createdAt: ctx.clock.now(),
        file,
      };
      await ctx.views.publish(ctx.db, meta);
      ctx.bus.emit(LAB_EVENTS.BATCH_VIEW_SWAPPED, ctx.clock.now(), {
        version,
        boundary: meta.boundary,
        logicVersion: run.logicVersion,
      });
      await ctx.onPublished?.(meta);
    });
    run.viewVersion = version;
    run.state = 'completed';
    run.finishedAt = ctx.clock.now();
    ctx.bus.emit(LAB_EVENTS.BATCH_RUN_FINISHED, run.finishedAt, {
      run: run.id,
      version,
      boundary,
      phases: run.phases,
      events: run.events,
    });
  } catch (err) {
    run.state = 'failed';
    run.error = (err as Error).message;
    run.finishedAt = ctx.clock.now();
    ctx.bus.emit(LAB_EVENTS.BATCH_RUN_FAILED, run.finishedAt, { run: run.id, error: run.error });
  } finally {
    rmSync(runDir, { recursive: true, force: true });
    onChange();
  }
}

async function runTasks<R>(ctx: RunContext, run: BatchRunRecord, tasks: QueuedTask[]): Promise<R[]> {
  if (tasks.length === 0) return [];
  const ids = await ctx.queue.enqueueMany(
    BATCH_QUEUE,
    tasks.map((data) => ({
      name: `${data.kind}-${run.id}-${data.kind === 'map' ? data.task : data.partition}`,
      data,
      opts: { attempts: ctx.taskAttempts, backoffMs: 200 },
    })),
  );
  const infos = await Promise.all(ids.map((id) => ctx.queue.waitFor<R>(BATCH_QUEUE, id, ctx.taskTimeoutMs)));
  const results: R[] = [];
  for (const info of infos) {
    run.retries += Math.max(0, info.attemptsMade - 1);
    if (info.state !== 'completed')
      throw new Error(
        `${info.name} failed after ${info.attemptsMade} attempts: ${info.failedReason ?? 'unknown reason'}`,
      );
    results.push(info.result as R);
  }
  return results;
}
