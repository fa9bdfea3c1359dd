/**
 * The cutover semantics lab's count (issue 17, item 3): per window around a switchover, the events
 * readers were served under its cutover mode against the truth — lost (the truth has them, readers
 * did not get them) and duplicated (readers got them more than once). Readers' view is rebuilt with
 * the readers' own rule (readServedWindows) at the instant of the switch, so an overlap is counted
 * as it was served during the overlap and a gate with its T, even after readers moved on.
 *
 * Windows counted: the last 2 × AUDIT_WINDOWS final windows up to AUDIT_WINDOWS past T (gate) or
 * past the window of job N's newest event at the switch; final = window end + allowed lateness at
 * or below the highest event time the truth and each job read has reached (the lab's closed edge,
 * correctness.ts).
 * The truth of a window is that of the logic version of the job it is served from (the newer job
 * when both are summed): its views minus the ones an exact job drops as too late.
 */
import {
  readMaxEventTimes,
  readServedWindows,
  readerSources,
  unmeasured,
  type ActivePointer,
  type CutoverRecord,
  type CutoverReport,
  type CutoverWindow,
  type KappaSettings,
} from '../kappa-reprocessor/index.js';
import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { closedBefore } from './correctness.js';
import { TRUTH_LOGIC } from './truth-logic.js';
import type { TruthOracle } from './truth-oracle.js';

/** Windows counted on each side of the cut-over. */
export const AUDIT_WINDOWS = 6;

export interface AuditSources {
  oracle: TruthOracle;
  store: RealtimeStore;
  kappa: KappaSettings;
  /** measurement.allowedLatenessMs: when the truth of a window is final */
  truthLatenessMs: number;
}

/** The pointer readers followed right after the switch the record describes. */
export function pointerOf(r: CutoverRecord): ActivePointer {
  return {
    job: r.to,
    logicVersion: r.toLogicVersion,
    previous: r.from,
    switchedAt: r.switchedAt,
    cutover:
      r.mode === 'flip' || r.from === null || r.until === null
        ? null
        : { mode: r.mode, from: r.from, fromLogicVersion: r.fromLogicVersion ?? 0, at: r.at, until: r.until },
  };
}

export async function auditCutover(src: AuditSources, r: CutoverRecord): Promise<CutoverReport> {
  const pointer = pointerOf(r);
  const jobs = r.mode === 'flip' || r.from === null ? [r.to] : [r.from, r.to];
  const versions = [
    r.toLogicVersion,
    ...(r.mode === 'gate' && r.fromLogicVersion !== null ? [r.fromLogicVersion] : []),
  ];
  const unknown = versions.find((v) => !TRUTH_LOGIC.has(v));
  if (unknown !== undefined)
    return unmeasured(
      r,
      `the truth oracle has no statement of logic v${unknown}, so served answers cannot be checked`,
    );
  const newest = async (job: number): Promise<number | null> => {
    const t = [...(await readMaxEventTimes(src.store, job)).values()];
    return t.length === 0 ? null : Math.max(...t) - src.kappa.maxOutOfOrderMs;
  };
  const edges = [
    closedBefore(src.oracle.watermark(), src.truthLatenessMs),
    ...(await Promise.all(jobs.map(async (j) => closedBefore(await newest(j), src.kappa.allowedLatenessMs)))),
  ];
  if (edges.includes(null)) return unmeasured(r, 'no closed window yet for the truth and every job read');
  const edge = Math.min(...(edges as number[]));
  const centre = r.at ?? r.headWindow ?? edge;
  const first = src.oracle.windowStarts()[0] ?? edge;
  const to = Math.min(edge, centre + AUDIT_WINDOWS * WINDOW_MS);
  const from = Math.max(first, to - 2 * AUDIT_WINDOWS * WINDOW_MS);
  const windows: number[] = [];
  for (let w = from; w < to; w += WINDOW_MS) windows.push(w);
  if (windows.length === 0)
    return {
      ...unmeasured(
        r,
        `no window around the cut-over is closed yet (closed before ${new Date(edge).toISOString()})`,
      ),
      closedBefore: edge,
    };
  const [truth, served] = await Promise.all([
    src.oracle.cells(from, to),
    readServedWindows(src.store, pointer, windows, { distinct: false }, r.switchedAt),
  ]);
  const out = new Map<number, CutoverWindow & { cells: Map<string, [number, number]> }>();
  for (const w of windows) {
    const sources = readerSources(pointer, w, r.switchedAt);
    out.set(w, {
      window: w,
      jobs: sources.map((s) => s.job),
      expected: 0,
      served: 0,
      lost: 0,
      duplicated: 0,
      cells: new Map(),
    });
  }
  const cell = (w: number, campaign: string): [number, number] => {
    const row = out.get(w)!;
    let c = row.cells.get(campaign);
    if (!c) row.cells.set(campaign, (c = [0, 0]));
    return c;
  };
  for (const c of truth.values()) {
    const row = out.get(c.window);
    if (!row) continue;
    const v = readerSources(pointer, c.window, r.switchedAt).at(-1)!.logicVersion;
    cell(c.window, c.campaign)[0] += (c.views[v] ?? 0) - (c.dropped[v] ?? 0);
  }
  for (const s of served) if (out.has(s.window)) cell(s.window, s.campaign)[1] += s.views;
  const rows: CutoverWindow[] = [];
  for (const { cells, ...row } of out.values()) {
    for (const [e, s] of cells.values()) {
      row.expected += e;
      row.served += s;
      row.lost += Math.max(0, e - s);
      row.duplicated += Math.max(0, s - e);
    }
    rows.push(row);
  }
  const lost = rows.reduce((a, w) => a + w.lost, 0);
  const duplicated = rows.reduce((a, w) => a + w.duplicated, 0);
  return {
    ...r,
    measured: true,
    measuredReason: `${rows.length} closed windows around the cut-over, as readers were served them right after the switch: ${lost} events lost, ${duplicated} duplicated`,
    closedBefore: edge,
    windows: rows,
    lost,
    duplicated,
  };
}
