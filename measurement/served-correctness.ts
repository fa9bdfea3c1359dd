import { WINDOW_MS } from '../kernel/events/ysb-event.js';
import { percentile } from './latency-figures.js';
import type { ServedAgeFigures, ServedArch, ServedFigures } from './measurement-api.js';

export type { ServedAgeFigures, ServedArch, ServedFigures };

export const SERVED_ARCHS: readonly ServedArch[] = ['lambda', 'kappa'];

/** Ages after a window closed (ms) at which its served answer is kept and judged. */
export const SERVED_AGES_MS: readonly number[] = [1_000, 10_000, 60_000];

/** campaign → views, as served or as the truth counts (campaigns with no views left out). */
export type WindowValues = Map<string, number>;

export interface ServedCorrectnessOptions {
  /** How long after it closed a window is followed for its time-to-correct (ms). */
  maxTrackMs: number;
  /** How many judged windows the figures cover (the newest ones). */
  keepWindows: number;
}

interface ArchTrack {
  /** what was served at each of SERVED_AGES_MS (first sample at or after the age) */
  atAges: Array<WindowValues | undefined>;
  /** a fingerprint of every sampled answer, with its age */
  samples: Array<{ ageMs: number; fp: string }>;
  correctAtMs: number | null;
}

interface Tracked {
  window: number;
  truth: WindowValues | undefined;
  truthFp: string | undefined;
  arch: Record<ServedArch, ArchTrack>;
}

interface Judged {
  window: number;
  arch: Record<ServedArch, { correctAtMs: number | null; ages: Array<{ cells: number; correct: number }> }>;
}

/** Where the answers and the truth come from (LabMeasurement wires the serving query and the oracle). */
export interface ServedSources {
  /** What the serving layer answers for `arch` over [from, to): window → campaign → views. */
  served(arch: ServedArch, from: number, to: number): Promise<Map<number, WindowValues>>;
  /** Event time below which the truth is final (windows closed past the allowed lateness), or null. */
  finalBefore(): number | null;
  /** The truth for the windows in [from, to) (views of the intended logic version). */
  truth(from: number, to: number): Promise<Map<number, WindowValues>>;
}

/**
 * Served correctness: what the serving layer answered for each (campaign, window) as the window
 * aged, judged against the truth once the truth is final. Sampled every second: at the fixed ages
 * (SERVED_AGES_MS) the whole answer is kept; at every sample a fingerprint of it, so that the
 * time-to-correct — from the window's close until the served answer equals the truth and stays so —
 * is known to the second (Lambda: when the speed layer's answer is exact, or when the batch view
 * covers the window; Kappa: at once, unless a late event changes it).
 */
export class ServedCorrectness {
  private readonly tracked = new Map<number, Tracked>();
  private readonly judged: Judged[] = [];
  /** Windows closing before this are not followed (they closed before the measurement started). */
  private firstWindow: number | undefined;

  constructor(private readonly options: ServedCorrectnessOptions) {}

  /** One sample at clock time `now`. */
  async sample(now: number, src: ServedSources): Promise<void> {
    // Follow every window that closed since the start (event time ≈ clock time in a live lab).
    const lastClosed = Math.floor(now / WINDOW_MS) * WINDOW_MS - WINDOW_MS;
    this.firstWindow ??= lastClosed + WINDOW_MS;
    for (let w = this.firstWindow; w <= lastClosed; w += WINDOW_MS) {
      if (!this.tracked.has(w) && now - (w + WINDOW_MS) <= this.options.maxTrackMs)
        this.tracked.set(w, newTrack(w));
    }
    this.firstWindow = Math.max(this.firstWindow, lastClosed + WINDOW_MS);
    if (this.tracked.size === 0) return;
    const windows = [...this.tracked.keys()].sort((a, b) => a - b);
    const from = windows[0]!;
    const to = windows.at(-1)! + WINDOW_MS;

    const answers = await Promise.all(SERVED_ARCHS.map((a) => src.served(a, from, to)));
    for (const [i, arch] of SERVED_ARCHS.entries()) {
      for (const w of windows) {
        const t = this.tracked.get(w)!.arch[arch];
        const ageMs = now - (w + WINDOW_MS);
        const values = answers[i]!.get(w) ?? new Map<string, number>();
        t.samples.push({ ageMs, fp: fingerprint(values) });
        SERVED_AGES_MS.forEach((age, k) => {
          if (ageMs >= age && t.atAges[k] === undefined) t.atAges[k] = values;
        });
      }
    }

    const final = src.finalBefore();
    const unknown = windows.filter(
      (w) => this.tracked.get(w)!.truth === undefined && final !== null && w + WINDOW_MS <= final,
    );
    if (unknown.length > 0) {
      const truth = await src.truth(unknown[0]!, unknown.at(-1)! + WINDOW_MS);
      for (const w of unknown) {
        const tr = this.tracked.get(w)!;
        tr.truth = truth.get(w) ?? new Map();
        tr.truthFp = fingerprint(tr.truth);
      }
    }

    for (const w of windows) {
      const tr = this.tracked.get(w)!;
      const ageMs = now - (w + WINDOW_MS);
      if (tr.truthFp === undefined) {
        if (ageMs > this.options.maxTrackMs + 60_000) this.tracked.delete(w); // the truth never came
        continue;
      }
      for (const arch of SERVED_ARCHS) {
        const t = tr.arch[arch];
        t.correctAtMs = correctSince(t.samples, tr.truthFp);
      }
      const settled =
        ageMs >= SERVED_AGES_MS.at(-1)! &&
        (SERVED_ARCHS.every((a) => tr.arch[a].correctAtMs !== null) || ageMs >= this.options.maxTrackMs);
      if (settled) {
        this.judge(tr);
        this.tracked.delete(w);
      }
    }
  }

  figures(): ServedFigures[] {
    return SERVED_ARCHS.map((arch) => {
      const byAge = SERVED_AGES_MS.map((ageMs, k): ServedAgeFigures => {
        let windows = 0;
        let cells = 0;
        let correct = 0;
        let right = 0;
        for (const j of this.judged) {
          const a = j.arch[arch].ages[k];
          if (!a) continue;
          windows++;
          cells += a.cells;
          correct += a.correct;
          if (a.correct === a.cells) right++;
        }
        return {
          ageMs,
          windows,
          cells,
          correctShare: cells > 0 ? correct / cells : null,
          windowsCorrectShare: windows > 0 ? right / windows : null,
        };
      });
      const times = this.judged
        .map((j) => j.arch[arch].correctAtMs)
        .filter((t): t is number => t !== null)
        .sort((a, b) => a - b);
      return {
        arch,
        byAge,
        timeToCorrect: {
          windows: this.judged.length,
          p50: percentile(times, 50),
          p90: percentile(times, 90),
          max: times.at(-1) ?? null,
          neverCorrect: this.judged.length - times.length,
        },
        recent: this.judged
          .slice(-60)
          .map((j) => ({ window: j.window, correctAtMs: j.arch[arch].correctAtMs })),
      };
    });
  }

  private judge(tr: Tracked): void {
    const truth = tr.truth!;
    // A window with no events, served empty everywhere: nothing to judge (an idle generator).
    if (truth.size === 0 && SERVED_ARCHS.every((a) => tr.arch[a].samples.every((x) => x.fp === ''))) return;
    const arch = {} as Judged['arch'];
    for (const a of SERVED_ARCHS) {
      const t = tr.arch[a];
      arch[a] = {
        correctAtMs: t.correctAtMs,
        ages: SERVED_AGES_MS.map((_, k) => {
          const served = t.atAges[k];
          return served ? compareCells(served, truth) : { cells: 0, correct: 0 };
        }),
      };
    }
    this.judged.push({ window: tr.window, arch });
    if (this.judged.length > this.options.keepWindows)
      this.judged.splice(0, this.judged.length - this.options.keepWindows);
  }
}

function newTrack(window: number): Tracked {
  const arch = (): ArchTrack => ({
    atAges: SERVED_AGES_MS.map(() => undefined),
    samples: [],
    correctAtMs: null,
  });
  return { window, truth: undefined, truthFp: undefined, arch: { lambda: arch(), kappa: arch() } };
}

/** A canonical text of an answer: equal answers, equal fingerprints. */
export function fingerprint(values: WindowValues): string {
  return [...values]
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([c, v]) => `${c}=${v}`)
    .join(',');
}

/** Age of the first sample from which every sample equals `truthFp`, or null. */
export function correctSince(
  samples: ReadonlyArray<{ ageMs: number; fp: string }>,
  truthFp: string,
): number | null {
  let since: number | null = null;
  for (const s of samples) {
    if (s.fp === truthFp) since ??= s.ageMs;
    else since = null;
  }
  return since;
}

/** Cells of one window judged: the union of served and true campaigns, right when equal. */
export function compareCells(served: WindowValues, truth: WindowValues): { cells: number; correct: number } {
  const keys = new Set<string>();
  for (const [c, v] of served) if (v !== 0) keys.add(c);
  for (const [c, v] of truth) if (v !== 0) keys.add(c);
  let correct = 0;
  for (const k of keys) if ((served.get(k) ?? 0) === (truth.get(k) ?? 0)) correct++;
  return { cells: keys.size, correct };
}
