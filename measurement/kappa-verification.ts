/**
 * The switchover gate's comparison (kappa-reprocessor/control/verification.ts is the contract):
 * job N+1's table against the truth and against job N, per (campaign, window), over the last K
 * closed windows.
 *
 * The rule. The truth oracle counts every (campaign, window) under every logic version it has a
 * statement of (truth-logic.ts) and also counts the views an exact stream job drops as later than
 * kappa.allowedLatenessMs (same per-partition watermark as the Kappa operator). So the table each
 * job must hold is known exactly: expected(v) = views(v) − dropped(v).
 *   - job N+1 must equal expected(its version) in every compared cell — else `failed`;
 *   - against job N, the difference N+1 − N is accepted only when it is exactly
 *     expected(N+1's version) − expected(N's version): zero for the same version, the bots' views
 *     for v1 → v2. Whatever remains is "unexplained". Since that remainder equals
 *     (N+1 − expected) − (N − expected(N)), an unexplained difference while N+1 equals the truth
 *     means job N is the one that is off: it is reported (`activeDeviates`) but does not refuse the
 *     switch — the switch is what fixes it. The truth is the referee; job N is a second witness.
 * Pure: kappa-verifier.ts reads the tables and the truth and hands them in.
 */
import {
  DIFF_BUCKETS,
  diffBucket,
  type KappaVerification,
  type VerificationCellDiff,
  type VerificationWindow,
} from '../kappa-reprocessor/control/index.js';

/** campaign → views, per window */
export type WindowTable = ReadonlyMap<number, ReadonlyMap<string, number>>;

export interface VerificationInput {
  job: { id: number; logicVersion: number };
  against: { id: number; logicVersion: number } | undefined;
  windowsRequested: number;
  /** the closed windows compared, oldest first */
  windows: readonly number[];
  closedBefore: number;
  /** expected(v) per logic version the truth knows: window → campaign → views − dropped */
  expected: (logicVersion: number) => WindowTable;
  candidate: WindowTable;
  active: WindowTable | undefined;
  now: number;
}

const MAX_DIFFERING = 20;
const get = (t: WindowTable | undefined, w: number, c: string): number => t?.get(w)?.get(c) ?? 0;

export function compareKappaTables(p: VerificationInput): KappaVerification {
  const against = p.against && p.active ? p.against : undefined;
  const expC = p.expected(p.job.logicVersion);
  const expA = against ? p.expected(against.logicVersion) : undefined;
  const out: VerificationWindow[] = [];
  const failedWindows: number[] = [];
  const activeDeviates: number[] = [];
  for (const w of p.windows) {
    const campaigns = new Set<string>();
    for (const t of [expC, p.candidate, ...(against ? [p.active!] : [])])
      for (const [c, v] of t.get(w) ?? []) if (v !== 0) campaigns.add(c);
    const histogram = DIFF_BUCKETS.map(() => 0);
    const histogramActive = against ? DIFF_BUCKETS.map(() => 0) : null;
    const differing: Array<VerificationCellDiff & { size: number }> = [];
    let expectedViews = 0;
    let candidateViews = 0;
    let activeViews = 0;
    let absDiffTruth = 0;
    let absDiffActive = 0;
    let unexplained = 0;
    for (const c of [...campaigns].sort()) {
      const e = get(expC, w, c);
      const v = get(p.candidate, w, c);
      expectedViews += e;
      candidateViews += v;
      absDiffTruth += Math.abs(v - e);
      histogram[diffBucket(v - e)]!++;
      let a: number | null = null;
      let explained: number | null = null;
      let rest = 0;
      if (against) {
        a = get(p.active, w, c);
        explained = e - get(expA, w, c);
        rest = v - a - explained;
        activeViews += a;
        absDiffActive += Math.abs(v - a);
        unexplained += Math.abs(rest);
        histogramActive![diffBucket(rest)]!++;
      }
      if (v !== e || rest !== 0)
        differing.push({
          campaign: c,
          expected: e,
          candidate: v,
          active: a,
          explained,
          size: Math.max(Math.abs(v - e), Math.abs(rest)),
        });
    }
    if (absDiffTruth > 0) failedWindows.push(w);
    else if (unexplained > 0) activeDeviates.push(w);
    out.push({
      window: w,
      cells: campaigns.size,
      expectedViews,
      candidateViews,
      activeViews: against ? activeViews : null,
      absDiffTruth,
      absDiffActive: against ? absDiffActive : null,
      unexplainedActive: against ? unexplained : null,
      histogram,
      histogramActive,
      differing: differing
        .sort((x, y) => y.size - x.size)
        .slice(0, MAX_DIFFERING)
        .map(({ size: _size, ...d }) => d),
    });
  }
  const verdict = failedWindows.length > 0 ? 'failed' : 'passed';
  const sameLogic = against ? against.logicVersion === p.job.logicVersion : null;
  const base =
    verdict === 'failed'
      ? `job ${p.job.id} differs from the truth of logic v${p.job.logicVersion} in ${failedWindows.length} of ${out.length} closed windows`
      : `job ${p.job.id} equals the truth of logic v${p.job.logicVersion} in all ${out.length} closed windows compared`;
  const vs = !against
    ? ''
    : activeDeviates.length > 0
      ? `; job ${against.id} differs from the truth of its logic v${against.logicVersion} in ${activeDeviates.length} of them (the switch fixes that)`
      : verdict === 'failed'
        ? ''
        : sameLogic
          ? `, and equals job ${against.id} (same logic v${against.logicVersion})`
          : `; its differences against job ${against.id} (logic v${against.logicVersion}) are exactly the ones v${against.logicVersion} → v${p.job.logicVersion} explains`;
  const reason = base + vs;
  return {
    verdict,
    reason,
    job: p.job.id,
    logicVersion: p.job.logicVersion,
    against: against?.id ?? null,
    againstLogicVersion: against?.logicVersion ?? null,
    sameLogic,
    windowsRequested: p.windowsRequested,
    windows: out,
    closedBefore: p.closedBefore,
    failedWindows,
    activeDeviates,
    buckets: DIFF_BUCKETS.map((b) => b.label),
    checkedAt: p.now,
  };
}
