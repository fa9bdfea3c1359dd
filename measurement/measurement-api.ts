/**
 * The measurement API's wire shapes: what `GET /api/metrics`, `GET /api/metrics/history`,
 * `GET /api/divergence`, `GET /api/timeline` and the SSE stream `GET /api/stream` answer.
 * The dashboard and the scenario runner read only these; every number in them is measured from
 * the running system (never a constant or a formula about it). docs/metrics.md defines each one.
 */

/** The architectures whose served answers are judged (served-correctness.ts): what GET /api/views?arch=… answers. */
export type ServedArch = 'lambda' | 'kappa';

export interface ServedAgeFigures {
  /** ms after the window closed */
  ageMs: number;
  /** windows judged at this age */
  windows: number;
  /** (campaign, window) cells judged: the union of the served and the true campaigns */
  cells: number;
  /** share of the cells served with the true value (null: nothing judged yet) */
  correctShare: number | null;
  /** share of the windows served entirely right */
  windowsCorrectShare: number | null;
}

export interface ServedFigures {
  arch: ServedArch;
  byAge: ServedAgeFigures[];
  /**
   * ms from a window's close until its served answer became the truth for good, over the judged
   * windows; `neverCorrect` counts windows not right within `maxTrackMs`.
   */
  timeToCorrect: {
    windows: number;
    p50: number | null;
    p90: number | null;
    max: number | null;
    neverCorrect: number;
  };
  /** the newest judged windows (oldest first), for a chart */
  recent: Array<{ window: number; correctAtMs: number | null }>;
}

/** Layers whose answers are checked against the truth oracle. */
export type MeasuredLayer = 'batch' | 'speed' | 'lambda' | 'kappa' | 'kappa_candidate';
export type MeasuredMetric = 'views' | 'distinct_users';
export type ArchName = 'lambda' | 'kappa';

/** YSB's verdicts over closed windows, for one layer and one metric. */
export interface CorrectnessFigures {
  layer: MeasuredLayer;
  metric: MeasuredMetric;
  /** windows compared: closed windows (window end + allowed lateness < watermark) inside the measured range */
  windows: number;
  correct: number;
  differ: number;
  /** the truth has the window, the layer does not */
  missing: number;
  /** the layer has the window, the truth does not */
  extra: number;
  /** correct / windows, 0..1 (null when windows = 0) */
  correctShare: number | null;
  /** Σ|layer − truth| over compared windows */
  absError: number;
  /** Σ|layer − truth| / Σ truth (null when Σ truth = 0) */
  relError: number | null;
  /** the logic version the truth was computed with */
  truthLogicVersion: number;
  /** Σ(layer − truth) over differing and extra windows (a missing one is left out); > 0 is an over-count, e.g. at-least-once duplicates */
  signedError?: number;
  /** the event-time range [from, to) compared (windows the layer answers for, closed ones only) */
  from?: number | null;
  to?: number | null;
  /** the speed layer's distinct users only: its HyperLogLog's error beside the theoretical band */
  sketch?: SketchErrorFigures;
}

/**
 * A HyperLogLog's observed error per (campaign, window) against the exact count, beside its
 * theoretical relative standard error σ = 1.04/√m (docs/metrics.md). Judged over the cells both the
 * truth and the sketch answer.
 */
export interface SketchErrorFigures {
  /** m: the sketch's registers, as the realtime store's HyperLogLog reports them */
  registers: number;
  /** σ = 1.04/√m, relative */
  standardError: number;
  /** (campaign, window) cells judged */
  windows: number;
  /** √(mean of the squared relative errors): the observed counterpart of σ (null: none judged) */
  rmsRelError: number | null;
  /** share of the cells whose |estimate − exact| / exact ≤ σ (theory: ≈ 0.68) */
  within1Sigma: number | null;
  /** … ≤ 2σ (theory: ≈ 0.95) */
  within2Sigma: number | null;
  /** … ≤ 3σ (theory: ≈ 0.997) */
  within3Sigma: number | null;
  /**
   * the newest judged cells (at most 200), oldest first: signed relative error (estimate − exact) /
   * exact; in GET /api/metrics/history only the newest snapshot keeps them (older: [])
   */
  recent: Array<{ window: number; campaign_id: string; relError: number }>;
}

/** A latency distribution in milliseconds. */
export interface LatencyFigures {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface ArchLatency {
  arch: ArchName;
  /** YSB final-event latency: time_updated of a window − (window end), per closed window */
  finalEvent: LatencyFigures;
}

export interface MaintenanceFigures {
  arch: ArchName;
  /** business-logic implementations (codebases) the architecture needs: Lambda 2 (SQL + TS), Kappa 1 */
  implementations: number;
  /** the files counted, with their non-blank, non-comment lines */
  logicFiles: { path: string; language: 'sql' | 'ts'; lines: number; logicVersion: number }[];
  /** total lines of business logic for the current logic version */
  logicLines: number;
  /** lines changed (added + removed) by the v1 → v2 change, counted by a line diff of the files */
  linesChangedV1toV2: number;
  /** lines changed (added + removed) per logic change vN → vN+1 (v1 → v2 equals linesChangedV1toV2) */
  linesChanged: { from: number; to: number; lines: number }[];
  /** components running for this architecture (processes / in-process services) */
  runningComponents: string[];
  /** CPU time attributed per component, ms */
  computeMs: Record<string, number>;
  /** events processed by recomputation (batch runs; replays) per event ingested */
  workAmplification: number | null;
  /** bytes on storage: Lambda = master dataset + batch views + realtime views; Kappa = log + output tables */
  storageBytes: number;
  /** the parts summed into storageBytes (bytes null: not measurable on this backend) */
  storage?: { part: string; bytes: number | null }[];
  /** the logic version(s) counted in logicLines, per codebase */
  currentLogic?: Record<string, number>;
  /** events processed by recomputation (batch runs; replays) since the lab started */
  recomputedEvents?: number;
}

export interface MetricsSnapshot {
  at: number;
  /** event time below which windows count as closed for correctness */
  closedBefore: number | null;
  correctness: CorrectnessFigures[];
  latency: ArchLatency[];
  /**
   * Served correctness per architecture: what GET /api/views answered for each closed window at
   * fixed ages after it closed, judged against the final truth, and the time-to-correct per window
   * (docs/metrics.md). Absent in snapshots from before it existed.
   */
  served?: ServedFigures[];
  /** now − batch boundary */
  batchBoundaryLagMs: number | null;
  /** serving layer query latency (GET /api/views), ms */
  servingLatency: LatencyFigures;
  maintenance: MaintenanceFigures[];
  ingested: number;
  /** the truth oracle's state: logic version, events read, views kept, how far it trails the log */
  truth?: { logicVersion: number; events: number; lag: number; watermark: number | null };
  /** CPU ms per component, every component including the measurement's own and the rest ("other") */
  computeMs?: Record<string, number>;
  /** the event-time range the correctness figures cover */
  measuredFrom?: number | null;
  /** replay interference: each Kappa replay's rate beside the live readers' latency before and during it */
  interference?: InterferenceFigures;
}

/** One architecture's final-event latency before and during a replay (replay interference). */
export interface InterferenceLatency {
  /** windows that ended in the minute before the replay started */
  before: LatencyFigures;
  /** windows that ended while the replay ran (until now while it runs) */
  during: LatencyFigures;
  /** during.p99 / before.p99; null without both */
  p99Ratio: number | null;
}

/** One Kappa replay and what it cost the live readers (measurement/replay-interference.ts). */
export interface ReplayInterferenceFigures {
  job: number;
  logicVersion: number | null;
  /** events/s the replay was limited to (0 = unlimited) */
  rateLimit: number | null;
  startedAt: number;
  endedAt: number | null;
  ended: 'caught-up' | 'aborted' | null;
  /** events the replaying job checkpointed */
  events: number;
  /** events / duration (until now while it runs), events/s */
  replayRate: number;
  /** events/s over the last 5 s while it runs; null once it ended */
  currentRate: number | null;
  /** the speed layer's readers */
  lambda: InterferenceLatency;
  /** the active Kappa job's (job N's) readers */
  kappa: InterferenceLatency;
}

export interface InterferenceFigures {
  /** the job replaying now; null when none */
  replaying: number | null;
  /** newest first, at most 10 */
  replays: ReplayInterferenceFigures[];
}

export interface MetricsHistory {
  /** snapshots, oldest first */
  points: MetricsSnapshot[];
}

export type DivergenceCause =
  | 'not-yet-in-batch'
  | 'late-event'
  | 'at-least-once-duplicate'
  | 'hyperloglog-approximation'
  | 'logic-versions-differ'
  | 'replay-not-caught-up'
  | 'window-open'
  | 'unknown';

export interface DivergenceCell {
  campaign_id: string;
  window_start: number;
  truth: number | null;
  /** every layer's value (null: the layer has no answer for this window) */
  values: Partial<Record<MeasuredLayer, number | null>>;
  /** value − truth per layer */
  differences: Partial<Record<MeasuredLayer, number | null>>;
  /** one cause per diverging layer */
  causes: Partial<Record<MeasuredLayer, DivergenceCause>>;
  /** the truth under every logic version ("1", "2", …), to see what a layer on another version should hold */
  truthByLogic?: Record<string, number>;
  /** the logic version each layer answered with */
  logicVersions?: Partial<Record<MeasuredLayer, number>>;
  /** views of this cell that reached the log after their window had closed (late events) */
  lateViews?: number;
  /** whether the window is closed (the comparison is final) */
  closed?: boolean;
}

export interface DivergenceAnswer {
  metric: MeasuredMetric;
  from: number;
  to: number;
  truthLogicVersion: number;
  cells: DivergenceCell[];
  /** the batch boundary the Lambda values were split at */
  boundary?: number | null;
  closedBefore?: number | null;
}

/** A mark on the dashboard's timeline: batch runs, crashes, deploys, replay start, switchover. */
export interface TimelineMark {
  at: number;
  kind: string;
  label: string;
  /** the instrumentation event's payload (run id, job, logic version, …) */
  detail?: Record<string, unknown>;
}

export interface DivergenceQuery {
  metric: MeasuredMetric;
  from: number;
  to: number;
  campaign?: string | undefined;
}

/**
 * The in-process measurement service (LabServices.measurement): the API plugin, the SSE stream
 * and the scenario runner read it. Snapshots are taken every `measurement.intervalMs` and kept
 * as history.
 */
export interface Measurement {
  /** a fresh snapshot, measured now */
  snapshot(): Promise<MetricsSnapshot>;
  /** the kept snapshots, oldest first; only those taken at or after `since` */
  history(since?: number): MetricsHistory;
  divergence(q: DivergenceQuery): Promise<DivergenceAnswer>;
  /** marks at or after `since`, oldest first */
  timeline(since?: number): TimelineMark[];
  /** waits until the truth oracle has read everything appended to the log so far (tests, fast-forward) */
  sync?(timeoutMs: number): Promise<void>;
  /**
   * calls `listener` with every final-event latency sample (ms) as it is taken, once per
   * (campaign, window) and architecture; returns the unsubscribe (the Prometheus histogram)
   */
  onFinalEventLatency?(listener: (arch: ArchName, latencyMs: number) => void): () => void;
  /** records one served query's latency (the serving layer's onResponse hook) */
  recordQuery?(route: string, ms: number): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
