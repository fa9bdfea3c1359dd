/**
 * The switchover gate's reads: which windows are closed for every reader, the truth of each logic
 * version there (DuckDB, truth-oracle.ts) and the two Kappa tables — handed to the pure rule in
 * kappa-verification.ts. Called on demand by LabMeasurement.verifyKappa.
 */
import {
  readKappaWindows,
  readMaxEventTimes,
  unavailableVerification,
  type KappaJobRecord,
  type KappaSettings,
  type KappaVerification,
} from '../kappa-reprocessor/index.js';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { closedBefore } from './correctness.js';
import { compareKappaTables, type WindowTable } from './kappa-verification.js';
import { TRUTH_LOGIC } from './truth-logic.js';
import type { TruthOracle } from './truth-oracle.js';

export interface VerifierSources {
  oracle: TruthOracle;
  store: RealtimeStore;
  log: EventLog;
  topic: string;
  kappa: KappaSettings;
  /** measurement.allowedLatenessMs: when the truth of a window is final */
  truthLatenessMs: number;
  now: number;
}

/**
 * Job `job` against the truth and `against` over the last `k` windows closed for the truth and for
 * both jobs: a window is closed when its end + the allowed lateness is at or below the event time
 * read in every partition that holds records — the oracle's, and each job's as checkpointed (minus
 * kappa.maxOutOfOrderMs: its watermark). The lowest partition holds the edge back, so a caught-up
 * replay still behind in one partition is not compared where it has not finished.
 */
export async function verifyKappaJob(
  src: VerifierSources,
  job: KappaJobRecord,
  against: KappaJobRecord | undefined,
  k: number,
): Promise<KappaVerification> {
  const no = (reason: string): KappaVerification => unavailableVerification(job, against, k, reason, src.now);
  if (!TRUTH_LOGIC.has(job.logicVersion))
    return no(
      `the truth oracle has no statement of logic v${job.logicVersion} (measurement/truth-logic.ts), so its answers cannot be checked`,
    );
  const other = against && TRUTH_LOGIC.has(against.logicVersion) ? against : undefined;
  const { kappa, oracle } = src;
  const ends = await src.log.offsets(src.topic);
  if (!ends.some((e) => e.end > e.low)) return no('no closed window yet: the log holds no events');
  const lowest = (times: ReadonlyMap<number, number>): number | null => {
    let min: number | null = null;
    for (const e of ends) {
      if (e.end <= e.low) continue;
      const t = times.get(e.partition);
      if (t === undefined || !Number.isFinite(t)) return null;
      if (min === null || t < min) min = t;
    }
    return min;
  };
  const jobEdge = async (id: number): Promise<number | null> => {
    const t = lowest(await readMaxEventTimes(src.store, id));
    return t === null ? null : closedBefore(t - kappa.maxOutOfOrderMs, kappa.allowedLatenessMs);
  };
  const truthTime = lowest(oracle.partitionEventTimes());
  const edges = [
    truthTime === null ? null : closedBefore(truthTime, src.truthLatenessMs),
    await jobEdge(job.id),
    ...(other ? [await jobEdge(other.id)] : []),
  ];
  const first = oracle.windowStarts()[0];
  if (edges[0] === null)
    return no('no closed window yet: the truth oracle has not read an event from every partition');
  if (edges[1] === null)
    return no(`no closed window yet: job ${job.id} has not checkpointed an event from every partition`);
  if (edges[2] === null)
    return no(`no closed window yet: job ${other!.id} has not checkpointed an event from every partition`);
  if (first === undefined) return no('no closed window yet: the truth oracle has seen no view');
  const edge = Math.min(...(edges as number[]));
  if (edge <= first)
    return no(
      `no closed window yet: the first window with views (${new Date(first).toISOString()}) is not closed yet for the truth and every job compared (window end + allowed lateness must be at or below the event time each has reached in every partition)`,
    );
  const from = Math.max(first, edge - k * WINDOW_MS);
  const windows: number[] = [];
  for (let w = from; w < edge; w += WINDOW_MS) windows.push(w);
  const [truth, cand, act] = await Promise.all([
    oracle.cells(from, edge),
    kappaTable(src.store, job.id, windows),
    other ? kappaTable(src.store, other.id, windows) : Promise.resolve(undefined),
  ]);
  // expected(v) = views(v) − views an exact job drops as too late (kappa-verification.ts).
  const expected = new Map<number, Map<number, Map<string, number>>>();
  const expectedOf = (v: number): WindowTable => {
    let t = expected.get(v);
    if (t) return t;
    expected.set(v, (t = new Map()));
    for (const c of truth.values()) {
      const n = (c.views[v] ?? 0) - (c.dropped[v] ?? 0);
      if (n === 0) continue;
      let m = t.get(c.window);
      if (!m) t.set(c.window, (m = new Map()));
      m.set(c.campaign, n);
    }
    return t;
  };
  return compareKappaTables({
    job,
    against: other,
    windowsRequested: k,
    windows,
    closedBefore: edge,
    expected: expectedOf,
    candidate: cand,
    active: act,
    now: src.now,
  });
}

async function kappaTable(
  store: RealtimeStore,
  job: number,
  windows: readonly number[],
): Promise<WindowTable> {
  const out = new Map<number, Map<string, number>>();
  for (const r of await readKappaWindows(store, job, windows, { distinct: false })) {
    let m = out.get(r.window);
    if (!m) out.set(r.window, (m = new Map()));
    m.set(r.campaign, r.views);
  }
  return out;
}
