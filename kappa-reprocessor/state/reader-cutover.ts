/**
 * How readers move from job N (`previous`) to job N+1 (`job`) at a switchover — the rule every
 * reader applies to the active pointer it read once, so a whole answer follows one decision:
 *
 *   flip     every window from N+1 (the atomic pointer flip; the pointer carries no cutover)
 *   overlap  until `until`, windows both jobs wrote are served as one output: N's and N+1's
 *            tables summed (at-least-once, FLIP-503 style — events both counted appear twice);
 *            from `until` on, every window from N+1
 *   gate     windows before the cut-over event time `at` from N, windows at or after it from N+1
 *            (FLIP-504 style event-time gate); from `until` (N's end of grace) on, all from N+1
 *
 * Pure: no store access. The control plane writes the cutover into the pointer (kappa-tables.ts).
 */
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { readKappaWindows, type ActivePointer, type KappaWindow } from './kappa-tables.js';

export { CUTOVER_MODES, type CutoverMode, type ReaderCutover } from './cutover-types.js';

/** One job's share of a served window: which table and which logic version it counts with. */
export interface ReaderSource {
  job: number;
  logicVersion: number;
}

/** The tables readers read for `window` at time `now` (two = summed, the overlap). */
export function readerSources(p: ActivePointer, window: number, now: number): ReaderSource[] {
  const next = { job: p.job, logicVersion: p.logicVersion };
  const c = p.cutover;
  if (!c || now >= c.until) return [next];
  const prev = { job: c.from, logicVersion: c.fromLogicVersion };
  if (c.mode === 'overlap') return [prev, next];
  return c.at !== null && window < c.at ? [prev] : [next];
}

/** A served cell with the job(s) it came from. */
export interface ServedWindow extends KappaWindow {
  sources: ReaderSource[];
}

/**
 * What a reader is served for `windows` under pointer `p` at `now`: each window from the tables
 * readerSources names, summed cell by cell (views and distinct users) when there are two.
 */
export async function readServedWindows(
  store: RealtimeStore,
  p: ActivePointer,
  windows: readonly number[],
  options: { campaign?: string | undefined; distinct: boolean },
  now: number,
): Promise<ServedWindow[]> {
  const byJob = new Map<number, number[]>();
  const plan = new Map<number, ReaderSource[]>();
  for (const w of windows) {
    const src = readerSources(p, w, now);
    plan.set(w, src);
    for (const s of src) {
      let list = byJob.get(s.job);
      if (!list) byJob.set(s.job, (list = []));
      list.push(w);
    }
  }
  const cells = new Map<string, ServedWindow>();
  for (const [job, list] of byJob) {
    for (const r of await readKappaWindows(store, job, list, options)) {
      const key = `${r.window}\u0000${r.campaign}`;
      const hit = cells.get(key);
      if (!hit) {
        cells.set(key, { ...r, sources: plan.get(r.window)! });
        continue;
      }
      hit.views += r.views;
      if (hit.distinctUsers !== undefined) hit.distinctUsers += r.distinctUsers ?? 0;
      if (r.timeUpdated > hit.timeUpdated) hit.timeUpdated = r.timeUpdated;
    }
  }
  return [...cells.values()];
}
