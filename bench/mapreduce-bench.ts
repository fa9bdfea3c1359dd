/**
 * Batch-layer benchmark (not a test): a full MapReduce run (map per split → shuffle → reduce →
 * publish a view) over N YSB events in the embedded setting, beside ONE plain DuckDB GROUP BY
 * over the same Parquet files in the same run, and the ratio.
 *
 *   npm run build && node dist/bench/mapreduce-bench.js [--events 10000000] [--splits 10] [--reducers 4] [--workers 2] [--rounds 3] [--json FILE]
 *
 * --json FILE also writes the report (best and median round, peak RSS) to FILE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AnalyticDb,
  BatchViews,
  executeBatchRun,
  MasterDataset,
  sqlList,
  startBatchWorker,
  stagingLine,
  writeSplit,
  type BatchRunRecord,
} from '../batch-layer/index.js';
import { createEmbeddedJobQueue } from '../kernel/adapters/embedded-queue/embedded-job-queue.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import { flags, machine, peakRssBytes, printMachine, table, writeJson } from './bench-support.js';

const args = flags(
  { events: 10_000_000, splits: 10, reducers: 4, workers: 2, rounds: 3, json: '' },
  {
    about:
      'A full MapReduce run (map per split, shuffle, reduce, publish) over N YSB events beside one plain DuckDB GROUP BY over the same Parquet files.',
    flags: {
      events: '<events> YSB events in the master dataset',
      splits: '<n> Parquet splits (one map task each)',
      reducers: '<n> reduce tasks (shuffle partitions)',
      workers: '<n> batch workers running the tasks',
      rounds: '<n> measured rounds (best and median are reported)',
      json: '<file> also write the report as JSON to FILE',
    },
  },
);
const dir = mkdtempSync(join(tmpdir(), 'lkl-mr-bench-'));
const ref = buildReferenceData();
printMachine();
console.log(`setup: writing ${args.events.toLocaleString()} YSB events as ${args.splits} Parquet splits...`);

const db = await AnalyticDb.open(ref);
const master = new MasterDataset(dir, 'ad-events');
/**
 * Writes the splits. A function, so that its 1 M-record batches are garbage once it returns: kept
 * in the module's scope across the awaits, the last batch (~600 MB of JS objects) stayed live, and
 * marking it during a later round's publish cost ~600 ms.
 */
async function writeSplits(): Promise<void> {
  const gen = new YsbGenerator(ref, { seed: 1, mode: 'catch-up', rate: 0, startTime: 1_700_000_000_000 });
  const perSplit = Math.ceil(args.events / args.splits);
  let offset = 0;
  for (let s = 0; s < args.splits; s++) {
    const n = Math.min(perSplit, args.events - offset);
    const recs = gen.take(n);
    const name = `split-${String(s + 1).padStart(6, '0')}.parquet`;
    const bytes = await writeSplit(
      db,
      master.splitsDir,
      name,
      recs.map((r, i) => stagingLine(r.value, 0, offset + i)),
    );
    const maxT = Number(recs.at(-1)!.event!.event_time);
    master.commitSplit(
      {
        id: s + 1,
        file: `splits/${name}`,
        events: n,
        bytes,
        minEventTime: Number(recs[0]!.event!.event_time),
        maxEventTime: maxT,
        partitions: { '0': { from: offset, to: offset + n } },
        createdAt: 0,
        logPositions: true,
      },
      { '0': maxT },
      0,
    );
    offset += n;
  }
}
await writeSplits();

const views = new BatchViews(dir, 2);
const queue = createEmbeddedJobQueue({ clock: systemClock });
const worker = await startBatchWorker(queue, db, systemClock, args.workers);
const bus = new LabEventBus();
const files = master.snapshot.splits.map((s) => master.splitPath(s));
const rows: Array<Record<string, string | number>> = [];
const results: Array<{ mapreduceMs: number; plainMs: number; phases: BatchRunRecord['phases'] }> = [];

for (let round = 1; round <= args.rounds; round++) {
  const run: BatchRunRecord = {
    id: round,
    state: 'queued',
    trigger: 'bench',
    logicVersion: 1,
    requestedAt: 0,
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
  const t0 = performance.now();
  await executeBatchRun(
    {
      master,
      views,
      db,
      queue,
      clock: systemClock,
      bus,
      dataDir: dir,
      reducers: args.reducers,
      taskAttempts: 1,
      taskTimeoutMs: 600_000,
      // One map task per split, as --splits says.
      mapInputEvents: Math.ceil(args.events / args.splits),
    },
    run,
    () => undefined,
  );
  const mapreduceMs = performance.now() - t0;
  if (run.state !== 'completed') throw new Error(`run failed: ${run.error}`);

  const t1 = performance.now();
  const plain = await db.connection.runAndReadAll(
    `SELECT a.campaign_id, (e.event_time // 10000) * 10000 AS window_start, count(*) AS views, count(DISTINCT e.user_id) AS distinct_users
     FROM read_parquet(${sqlList(files)}) e JOIN ads a ON a.ad_id = e.ad_id WHERE e.event_type = 'view' GROUP BY ALL`,
  );
  const plainMs = performance.now() - t1;
  results.push({ mapreduceMs, plainMs, phases: run.phases });
  rows.push({
    round,
    events: run.events.toLocaleString(),
    'mapreduce ms': mapreduceMs.toFixed(0),
    'map/shuffle/reduce/publish ms': `${run.phases.map}/${run.phases.shuffle}/${run.phases.reduce}/${run.phases.publish}`,
    partials: run.mapRows.toLocaleString(),
    'plain GROUP BY ms': plainMs.toFixed(0),
    'plain rows': plain.currentRowCount.toLocaleString(),
    ratio: (mapreduceMs / plainMs).toFixed(2),
  });
}
table(rows);
const best = results.reduce((a, b) => (a.mapreduceMs < b.mapreduceMs ? a : b));
const med = [...results].sort((a, b) => a.mapreduceMs - b.mapreduceMs)[Math.floor(results.length / 2)]!;
console.log(
  `best: MapReduce ${best.mapreduceMs.toFixed(0)} ms vs plain ${best.plainMs.toFixed(0)} ms (ratio ${(best.mapreduceMs / best.plainMs).toFixed(2)}); target ≤ 1500 ms for 10 M events`,
);
const report = {
  bench: 'mapreduce',
  machine: machine(),
  args,
  best,
  median: med,
  peakRssBytes: peakRssBytes(),
};
console.log(JSON.stringify(report));
if (args.json) writeJson(args.json, report);
await worker.close();
await queue.close();
db.close();
rmSync(dir, { recursive: true, force: true });
