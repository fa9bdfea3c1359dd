/**
 * The switchover gate's contract: before readers move to job N+1, its table is compared with the
 * truth over the last K closed windows (kappa.verifyWindows) and with job N. The control plane
 * owns the decision (refuse on `failed`); the comparison itself is provided by whoever holds a
 * truth (the lab's measurement, measurement/kappa-verification.ts) through {@link SwitchoverGate},
 * so the Kappa reprocessor never depends on the measurement.
 */
import { LabError } from '../../kernel/errors/lab-error.js';
import type { KappaJobRecord, ReaderCutover } from '../state/index.js';
import type { CutoverRecord } from './cutover.js';

export type VerificationVerdict = 'passed' | 'failed' | 'unavailable';

/** Upper bounds (inclusive) of the |diff| buckets of the histogram; the last bucket is open. */
export const DIFF_BUCKETS: ReadonlyArray<{ label: string; max: number }> = [
  { label: '0', max: 0 },
  { label: '1', max: 1 },
  { label: '2-9', max: 9 },
  { label: '10-99', max: 99 },
  { label: '100+', max: Number.POSITIVE_INFINITY },
];

/** Index of the bucket of |diff|. */
export function diffBucket(diff: number): number {
  const a = Math.abs(diff);
  return DIFF_BUCKETS.findIndex((b) => a <= b.max);
}

/** One (campaign) cell of a window that differs, as the verification saw it. */
export interface VerificationCellDiff {
  campaign: string;
  /** what the truth says job N+1's logic version must count (views − views an exact job drops as too late) */
  expected: number;
  /** job N+1's table */
  candidate: number;
  /** job N's table (null when no job N is compared) */
  active: number | null;
  /** what the logic change explains against job N: expected(N+1's version) − expected(N's version) */
  explained: number | null;
}

export interface VerificationWindow {
  window: number;
  /** campaigns compared: the union of the truth's and both tables' */
  cells: number;
  /** Σ expected views over the window (the truth for N+1's logic version) */
  expectedViews: number;
  candidateViews: number;
  activeViews: number | null;
  /** Σ |candidate − expected| */
  absDiffTruth: number;
  /** Σ |candidate − active| (null without job N) */
  absDiffActive: number | null;
  /** Σ |(candidate − active) − explained|: what the logic change does not explain (null without job N) */
  unexplainedActive: number | null;
  /** cells per |candidate − expected| bucket (DIFF_BUCKETS) */
  histogram: number[];
  /** cells per |(candidate − active) − explained| bucket (null without job N) */
  histogramActive: number[] | null;
  /** the differing cells (against the truth or unexplained against job N), largest first, at most 20 */
  differing: VerificationCellDiff[];
}

export interface KappaVerification {
  verdict: VerificationVerdict;
  /** one sentence: why this verdict (and, for `failed`, which windows and what to do) */
  reason: string;
  /** job N+1: the job verified */
  job: number;
  logicVersion: number;
  /** job N: the job it is compared with (the active job), null when none */
  against: number | null;
  againstLogicVersion: number | null;
  /** whether the two jobs run the same logic version (then N+1 must equal N exactly) */
  sameLogic: boolean | null;
  /** kappa.verifyWindows at the time */
  windowsRequested: number;
  /** windows compared, oldest first */
  windows: VerificationWindow[];
  /** event time below which windows are closed for the truth and both jobs (null: none yet) */
  closedBefore: number | null;
  /** windows where job N+1 differs from the truth (why a verdict failed) */
  failedWindows: number[];
  /** windows where job N differs from what the truth explains while N+1 equals the truth (N is the wrong one; switching fixes it) */
  activeDeviates: number[];
  buckets: string[];
  /** when the comparison ran (ms) */
  checkedAt: number;
  /** the switchover went ahead without the gate (skipVerification: true) */
  skipped?: boolean;
}

/** What the control plane asks before a switchover: a verdict on `job` against `against`. */
export interface SwitchoverGate {
  verify(
    job: KappaJobRecord,
    against: KappaJobRecord | undefined,
    windows: number,
  ): Promise<KappaVerification>;
}

/** A verdict the control plane gives itself when no comparison can run. */
export function unavailableVerification(
  job: KappaJobRecord,
  against: KappaJobRecord | undefined,
  windows: number,
  reason: string,
  now: number,
): KappaVerification {
  return {
    verdict: 'unavailable',
    reason,
    job: job.id,
    logicVersion: job.logicVersion,
    against: against?.id ?? null,
    againstLogicVersion: against?.logicVersion ?? null,
    sameLogic: against ? against.logicVersion === job.logicVersion : null,
    windowsRequested: windows,
    windows: [],
    closedBefore: null,
    failedWindows: [],
    activeDeviates: [],
    buckets: DIFF_BUCKETS.map((b) => b.label),
    checkedAt: now,
  };
}

/**
 * The verdict the control plane acts on: the gate's, or `unavailable` with the reason when the gate
 * is off (`k` = kappa.verifyWindows = 0), not wired in this process, or its comparison failed (a
 * broken comparison never blocks a switch; it says so).
 */
export async function askGate(
  gate: SwitchoverGate | undefined,
  k: number,
  now: number,
  job: KappaJobRecord,
  against: KappaJobRecord | undefined,
): Promise<KappaVerification> {
  const no = (reason: string): KappaVerification => unavailableVerification(job, against, k, reason, now);
  if (k === 0) return no('kappa.verifyWindows is 0: the switchover gate is off');
  if (!gate)
    return no(
      'no truth oracle is wired to the Kappa control plane in this process, so there is nothing to compare with',
    );
  try {
    return await gate.verify(job, against, k);
  } catch (err) {
    return no(`the comparison with the truth failed (${(err as Error).message})`);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Refuses the switchover when the verdict is `failed` (409 LKL_ERR_KAPPA_VERIFICATION_FAILED). */
export function assertVerified(v: KappaVerification): void {
  if (v.verdict !== 'failed') return;
  const shown = v.failedWindows.slice(0, 5).map(iso).join(', ');
  const more = v.failedWindows.length > 5 ? ` and ${v.failedWindows.length - 5} more` : '';
  const diff = v.windows
    .filter((w) => v.failedWindows.includes(w.window))
    .reduce((s, w) => s + w.absDiffTruth, 0);
  throw new LabError(
    'LKL_ERR_KAPPA_VERIFICATION_FAILED',
    `Switchover refused: job ${v.job} (logic v${v.logicVersion}) differs from the truth in ${v.failedWindows.length} of the last ${v.windows.length} closed windows (${shown}${more}; Σ|diff| ${diff} views). ` +
      `GET /api/kappa/verification?job=${v.job} shows the per-window diffs. Wait and retry if the replay is still settling, ` +
      `switch anyway with {"skipVerification": true} (lklab kappa switchover --skip-verification), ` +
      `or abort job ${v.job} (POST /api/kappa/replays/${v.job}/abort) and fix its logic${v.against !== null ? `; readers stay on job ${v.against}` : ''}.`,
    { details: { verification: v } },
  );
}

/** What a switchover answers: the new pointer and the verdict it was taken with. */
export interface SwitchoverResult {
  job: number;
  logicVersion: number;
  previous: number | null;
  switchedAt: number | null;
  /** how readers leave the previous job (absent or null = the atomic flip) */
  cutover?: ReaderCutover | null;
  verification: KappaVerification;
  /** the cutover decided (mode, T, idle partitions); GET /api/kappa/cutover adds the lost/duplicated counts */
  cutoverRecord?: CutoverRecord;
}
