import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlList, sqlString } from '../analytic-db.js';
import { mapQuery } from '../logic/batch-logic.js';

/**
 * A map task: one input of the master dataset (one split, or several small consecutive ones read
 * together, as Hadoop's CombineFileInputFormat does) → partial aggregates, partitioned by key hash
 * into R files.
 */
export interface MapTask {
  runId: number;
  task: number;
  /** Parquet split files read by this task. */
  splits: string[];
  logicVersion: number;
  reducers: number;
  /** Directory of this task's output: <outDir>/r=<k>/data_0.parquet. */
  outDir: string;
}

export interface MapResult {
  task: number;
  rows: number;
  ms: number;
}

/** A reduce task: every map output of partition `partition` → final rows for those keys. */
export interface ReduceTask {
  runId: number;
  partition: number;
  inputs: string[];
  out: string;
  /** Only windows below this event time are complete: the rest is left to the speed layer. */
  boundary: number | null;
}

export interface ReduceResult {
  partition: number;
  rows: number;
  ms: number;
}

/**
 * Map: the logic version's SQL over the task's splits emits one partial aggregate per (campaign, window):
 * (views, users); the map side partitions them by hash(campaign, window) mod R (Hadoop's
 * partitioner), one file per reducer.
 */
export async function runMapTask(c: DuckDBConnection, t: MapTask, now: () => number): Promise<MapResult> {
  const started = now();
  const tmp = `${t.outDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const reader = await c.runAndReadAll(
    `COPY (
       SELECT *, (hash(campaign_id, window_start) % ${t.reducers})::INTEGER AS r
       FROM (${mapQuery(t.logicVersion, t.splits.length === 1 ? sqlString(t.splits[0]!) : sqlList(t.splits))})
     ) TO ${sqlString(tmp)} (FORMAT parquet, PARTITION_BY (r), OVERWRITE_OR_IGNORE true)`,
  );
  const rows = Number(reader.getRows()[0]?.[0] ?? 0);
  // A retried task may find a previous attempt's output: the rename makes the last attempt win whole.
  rmSync(t.outDir, { recursive: true, force: true });
  renameSync(tmp, t.outDir);
  return { task: t.task, rows, ms: now() - started };
}

/** Reduce: sums views and counts the distinct users of all the partials' lists exactly, per (campaign, window). */
export async function runReduceTask(
  c: DuckDBConnection,
  t: ReduceTask,
  now: () => number,
): Promise<ReduceResult> {
  const started = now();
  if (t.inputs.length === 0) {
    await c.run(
      `COPY (SELECT NULL::UUID AS campaign_id, 0::BIGINT AS window_start, 0::BIGINT AS views, 0::BIGINT AS distinct_users WHERE false) TO ${sqlString(t.out)} (FORMAT parquet)`,
    );
    return { partition: t.partition, rows: 0, ms: now() - started };
  }
  const reader = await c.runAndReadAll(
    `COPY (
       SELECT campaign_id, window_start, sum(views)::BIGINT AS views, len(list_distinct(flatten(list(users))))::BIGINT AS distinct_users
       FROM read_parquet(${sqlList(t.inputs)})
       ${t.boundary === null ? 'WHERE false' : `WHERE window_start < ${t.boundary}`}
       GROUP BY campaign_id, window_start
     ) TO ${sqlString(t.out)} (FORMAT parquet)`,
  );
  return { partition: t.partition, rows: Number(reader.getRows()[0]?.[0] ?? 0), ms: now() - started };
}

/**
 * Shuffle: each reducer fetches its partition from every mapper. Here the map outputs are files on
 * the shared data directory, so the shuffle groups them by partition and measures the bytes moved.
 */
export function shuffle(
  mapOutDirs: readonly string[],
  reducers: number,
): { inputs: string[][]; bytes: number[] } {
  const inputs: string[][] = Array.from({ length: reducers }, () => []);
  const bytes = new Array<number>(reducers).fill(0);
  for (const dir of mapOutDirs) {
    for (const entry of readdirSync(dir)) {
      const m = /^r=(\d+)$/.exec(entry);
      if (!m) continue;
      const r = Number(m[1]);
      for (const f of readdirSync(join(dir, entry))) {
        const path = join(dir, entry, f);
        inputs[r]!.push(path);
        bytes[r]! += statSync(path).size;
      }
    }
  }
  return { inputs, bytes };
}
