import { AD_EVENTS_TOPIC, windowStart } from '../kernel/events/ysb-event.js';
import type { ScenarioLab } from './scenario-lab.js';
import type {
  Measurement,
  MetricsSnapshot,
  ReplayInterferenceFigures,
} from '../measurement/measurement-api.js';
import { truthCellKey } from '../measurement/truth-count.js';
import { realtimeViewsMemoryBytes } from '../speed-layer/index.js';
import type { TruthTracker } from './truth-tracker.js';

/** A metric value as expectations see it. */
export type MetricValue = number | string | boolean | null;

/** One sample of a run: every metric under its dotted path (docs/scenarios.md lists them). */
export interface Sample {
  /** seconds since the start of the run */
  t: number;
  /** the lab's clock, epoch ms */
  at: number;
  /** where correctness.*, latency.*, batchBoundaryLagMs, maintenance.* came from */
  source: 'measurement' | 'probe';
  values: Record<string, MetricValue>;
}

/** How long (real ms) a sample waits for the measurement's truth oracle to read the log to its end. */
const SYNC_TIMEOUT_MS = 60_000;
const LAYERS = ['batch', 'speed', 'lambda', 'kappa'] as const;
const METRICS = ['views', 'distinct_users'] as const;
type Layer = (typeof LAYERS)[number];
type Metric = (typeof METRICS)[number];

interface Served {
  boundary: number | null;
  windows: Array<{ campaign_id: string; window_start: number; value: number }>;
}

export interface ProbeState {
  startedAt: number;
  truthLogicVersion: number;
  closeMarginMs: number;
  actionsFailed: number;
  lastErrorCode: string | null;
  lastReplayErrorCode: string | null;
  /** auto: the measurement service when the lab has one; probe: always the runner's own recount */
  metricsSource: 'auto' | 'probe';
}

/** Reads the measurement service when the lab has one (it lands as LabServices.measurement). */
export function measurementOf(lab: ScenarioLab): Measurement | undefined {
  const m = (lab.services as unknown as { measurement?: Measurement }).measurement;
  return m && typeof m.snapshot === 'function' ? m : undefined;
}

/**
 * Takes a sample: the runner's own recount of every layer against its truth oracle (recount.*),
 * direct reads of the lab (lab.*), and the measurement service's snapshot (correctness.*, latency.*,
 * batchBoundaryLagMs, maintenance.*, ...) — or, while the lab has no measurement service, the
 * same paths filled from the recount (maintenance.* then stays not measured).
 */
export async function takeSample(lab: ScenarioLab, truth: TruthTracker, state: ProbeState): Promise<Sample> {
  const s = lab.services;
  const now = s.clock.now();
  const values: Record<string, MetricValue> = {};
  const from = windowStart(state.startedAt);
  const closedTo = windowStart(now - state.closeMarginMs);
  const truthCells = truth.cellsFor(state.truthLogicVersion);

  for (const metric of METRICS) {
    const answers = new Map<Layer, Served>();
    for (const layer of LAYERS) answers.set(layer, await served(lab, layer, metric, from, closedTo));
    const boundary = answers.get('lambda')!.boundary;
    for (const layer of LAYERS) {
      let lo = from;
      let hi = closedTo;
      if (layer === 'batch') hi = Math.min(hi, boundary ?? from);
      if (layer === 'speed' && boundary !== null) lo = Math.max(lo, boundary);
      const f = compare(answers.get(layer)!, truthCells, metric, lo, hi);
      for (const [k, v] of Object.entries(f)) values[`recount.${layer}.${metric}.${k}`] = v;
    }
  }
  values['recount.truthLogicVersion'] = state.truthLogicVersion;
  values['recount.closedBefore'] = closedTo;

  const runs = s.batch.listRuns();
  const last = runs[0];
  const view = s.batch.views.current();
  values['lab.batch.completedRuns'] = runs.filter((r) => r.state === 'completed').length;
  values['lab.batch.failedRuns'] = runs.filter((r) => r.state === 'failed').length;
  values['lab.batch.viewVersion'] = view?.version ?? null;
  values['lab.batch.boundary'] = view?.boundary ?? null;
  values['lab.batch.boundaryLagMs'] = view ? now - view.boundary : null;
  values['lab.batch.logicVersion'] = s.batch.logicVersion;
  values['lab.batch.lastRun.state'] = last?.state ?? null;
  values['lab.batch.lastRun.retries'] = last?.retries ?? null;
  values['lab.batch.lastRun.mapTasks'] = last?.mapTasks ?? null;
  values['lab.batch.lastRun.events'] = last?.events ?? null;
  values['lab.batch.lastRun.viewVersion'] = last?.viewVersion ?? null;
  const speed = s.speed.status;
  values['lab.speed.running'] = Boolean(speed.running);
  values['lab.speed.logicVersion'] = s.speed.logicVersion;
  values['lab.speed.crashes'] = Number(speed.crashes ?? 0);
  values['lab.speed.processed'] = Number(speed.processed ?? 0);
  const lat = figures(s.speed.windowLatencies().map((l) => l.latencyMs));
  for (const [k, v] of Object.entries(lat)) values[`lab.speed.latency.${k}`] = v;
  const kappa = await s.kappa.view();
  const latest = kappa.jobs[0];
  const active = kappa.jobs.find((j) => j.id === kappa.active);
  values['lab.kappa.activeJob'] = kappa.active;
  values['lab.kappa.activeLogicVersion'] = active?.logicVersion ?? null;
  values['lab.kappa.jobs'] = kappa.jobs.length;
  values['lab.kappa.latestJob.state'] = latest?.state ?? null;
  values['lab.kappa.latestJob.logicVersion'] = latest?.logicVersion ?? null;
  values['lab.kappa.latestJob.source'] = latest?.source ?? null;
  values['lab.kappa.lastReplayError'] = state.lastReplayErrorCode;
  // The last switchover's cutover (flip, overlap, gate) and what readers lost or got twice under it.
  const cutover = await s.kappa.cutover().catch(() => null);
  values['lab.kappa.cutover.mode'] = cutover?.mode ?? null;
  values['lab.kappa.cutover.at'] = cutover?.at ?? null;
  values['lab.kappa.cutover.windows'] = cutover?.measured ? cutover.windows.length : null;
  values['lab.kappa.cutover.lost'] = cutover?.measured ? cutover.lost : null;
  values['lab.kappa.cutover.duplicated'] = cutover?.measured ? cutover.duplicated : null;
  const offsets = await s.log.offsets(AD_EVENTS_TOPIC);
  values['lab.log.lowOffsetMax'] = Math.max(0, ...offsets.map((o) => o.low));
  values['lab.log.endOffsetSum'] = offsets.reduce((a, o) => a + o.end, 0);
  const gen = s.generator.status;
  values['lab.generator.produced'] = gen.produced;
  values['lab.generator.rate'] = gen.rate;
  values['lab.actions.failed'] = state.actionsFailed;
  values['lab.actions.lastErrorCode'] = state.lastErrorCode;
  if (s.store.memoryBytes) {
    values['lab.memory.speedSketchBytes'] = await realtimeViewsMemoryBytes(s.store, 'sketches');
    values['lab.memory.kappaTableBytes'] =
      kappa.active === null ? null : await s.store.memoryBytes(`lklab:kappa:v${kappa.active}:`);
  }
  let exactUserBytes = 0;
  for (const c of truthCells.values()) for (const u of c.users) exactUserBytes += u.length;
  values['lab.memory.exactUserIdBytes'] = exactUserBytes;
  values['lab.truth.events'] = truth.events;
  const hot = s.reference.campaigns[0];
  let hotViews = 0;
  let allViews = 0;
  for (const c of truthCells.values()) {
    allViews += c.views;
    if (c.campaign === hot) hotViews += c.views;
  }
  values['lab.truth.hotCampaignViewShare'] = allViews ? hotViews / allViews : null;
  // the fewest distinct users a closed (campaign, window) of the run saw: enough for a sketch to err?
  let minUsers: number | null = null;
  for (const c of truthCells.values())
    if (c.window >= from && c.window < closedTo) minUsers = Math.min(minUsers ?? Infinity, c.users.size);
  values['lab.truth.minWindowUsers'] = minUsers;

  const measurement = state.metricsSource === 'auto' ? measurementOf(lab) : undefined;
  if (measurement) {
    // A snapshot judges the windows the oracle knows are closed: let it read the log to its end first.
    await measurement.sync?.(SYNC_TIMEOUT_MS);
    flattenSnapshot(await measurement.snapshot(), values);
  } else {
    for (const layer of LAYERS)
      for (const metric of METRICS)
        for (const k of [
          'windows',
          'correct',
          'differ',
          'missing',
          'extra',
          'correctShare',
          'absError',
          'relError',
        ])
          values[`correctness.${layer}.${metric}.${k}`] = values[`recount.${layer}.${metric}.${k}`] ?? null;
    for (const [k, v] of Object.entries(lat)) values[`latency.lambda.finalEvent.${k}`] = v;
    values['batchBoundaryLagMs'] = values['lab.batch.boundaryLagMs'] ?? null;
    values['ingested'] = truth.events;
  }
  return {
    t: Math.round((now - state.startedAt) / 10) / 100,
    at: now,
    source: measurement ? 'measurement' : 'probe',
    values,
  };
}

/** MetricsSnapshot → dotted paths (arrays keyed by layer/metric or arch). */
export function flattenSnapshot(m: MetricsSnapshot, out: Record<string, MetricValue>): void {
  for (const c of m.correctness) {
    for (const [k, v] of Object.entries(c)) {
      if (k === 'layer' || k === 'metric') continue;
      if (typeof v === 'number' || v === null) out[`correctness.${c.layer}.${c.metric}.${k}`] = v;
    }
    for (const [k, v] of Object.entries(c.sketch ?? {}))
      if (typeof v === 'number' || v === null) out[`correctness.${c.layer}.${c.metric}.sketch.${k}`] = v;
  }
  for (const l of m.latency)
    for (const [k, v] of Object.entries(l.finalEvent)) out[`latency.${l.arch}.finalEvent.${k}`] = v;
  for (const a of m.served ?? []) {
    for (const b of a.byAge) {
      out[`served.${a.arch}.age${b.ageMs / 1000}s.correctShare`] = b.correctShare;
      out[`served.${a.arch}.age${b.ageMs / 1000}s.windows`] = b.windows;
    }
    for (const [k, v] of Object.entries(a.timeToCorrect)) out[`served.${a.arch}.timeToCorrect.${k}`] = v;
  }
  out['batchBoundaryLagMs'] = m.batchBoundaryLagMs;
  for (const [k, v] of Object.entries(m.servingLatency)) out[`servingLatency.${k}`] = v;
  for (const x of m.maintenance) {
    for (const [k, v] of Object.entries(x)) {
      if (typeof v === 'number' || v === null) out[`maintenance.${x.arch}.${k}`] = v;
    }
    for (const step of x.linesChanged)
      out[`maintenance.${x.arch}.linesChangedV${step.from}toV${step.to}`] = step.lines;
    out[`maintenance.${x.arch}.runningComponents`] = x.runningComponents.length;
    out[`maintenance.${x.arch}.computeMs`] = Object.values(x.computeMs).reduce((a, b) => a + b, 0);
  }
  out['ingested'] = m.ingested;
  out['closedBefore'] = m.closedBefore;
  if (m.interference) {
    out['interference.replaying'] = m.interference.replaying;
    // replay1 is the run's first replay (the snapshot lists the newest first); `last` the newest.
    const chronological = [...m.interference.replays].reverse();
    chronological.forEach((r, i) => flattenReplay(r, `interference.replay${i + 1}`, out));
    const last = chronological.at(-1);
    if (last) flattenReplay(last, 'interference.last', out);
  }
}

function flattenReplay(r: ReplayInterferenceFigures, prefix: string, out: Record<string, MetricValue>): void {
  out[`${prefix}.job`] = r.job;
  out[`${prefix}.rateLimit`] = r.rateLimit;
  out[`${prefix}.events`] = r.events;
  out[`${prefix}.replayRate`] = r.replayRate;
  out[`${prefix}.ended`] = r.ended;
  for (const arch of ['lambda', 'kappa'] as const) {
    const f = r[arch];
    out[`${prefix}.${arch}.p99Before`] = f.before.p99;
    out[`${prefix}.${arch}.p99During`] = f.during.p99;
    out[`${prefix}.${arch}.samplesDuring`] = f.during.count;
    out[`${prefix}.${arch}.p99Ratio`] = f.p99Ratio;
  }
}

async function served(
  lab: ScenarioLab,
  layer: Layer,
  metric: Metric,
  from: number,
  to: number,
): Promise<Served> {
  if (to <= from) {
    const view = lab.services.batch.views.current();
    return { boundary: view?.boundary ?? null, windows: [] };
  }
  const res = await lab.app.inject({
    url: `/api/views?arch=${layer}&metric=${metric}&from=${from}&to=${to}`,
  });
  if (res.statusCode !== 200)
    throw new Error(`GET /api/views (${layer}) answered ${res.statusCode}: ${res.body}`);
  return res.json() as Served;
}

export interface CorrectnessFigures {
  windows: number;
  correct: number;
  differ: number;
  missing: number;
  extra: number;
  correctShare: number | null;
  absError: number;
  relError: number | null;
}

/** YSB's verdicts of one layer's answer against the truth over the windows in [lo, hi). */
export function compare(
  answer: Served,
  truth: Map<string, { window: number; views: number; users: Set<string> }>,
  metric: Metric,
  lo: number,
  hi: number,
): CorrectnessFigures {
  const got = new Map<string, number>();
  for (const w of answer.windows)
    if (w.window_start >= lo && w.window_start < hi)
      got.set(truthCellKey(w.campaign_id, w.window_start), w.value);
  const f: CorrectnessFigures = {
    windows: 0,
    correct: 0,
    differ: 0,
    missing: 0,
    extra: 0,
    correctShare: null,
    absError: 0,
    relError: null,
  };
  let truthSum = 0;
  for (const [k, c] of truth) {
    if (c.window < lo || c.window >= hi) continue;
    const expected = metric === 'views' ? c.views : c.users.size;
    truthSum += expected;
    f.windows++;
    const v = got.get(k);
    if (v === undefined) {
      f.missing++;
      f.absError += expected;
    } else if (v === expected) f.correct++;
    else {
      f.differ++;
      f.absError += Math.abs(v - expected);
    }
  }
  for (const [k, v] of got) {
    if (truth.has(k)) continue;
    f.extra++;
    f.windows++;
    f.absError += Math.abs(v);
  }
  f.correctShare = f.windows ? f.correct / f.windows : null;
  f.relError = truthSum ? f.absError / truthSum : null;
  return f;
}

function figures(xs: number[]): Record<'count' | 'p50' | 'p90' | 'p99' | 'max', number | null> {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number | null =>
    s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : null;
  return { count: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.at(-1) ?? null };
}
