/**
 * Overview: live figures (KPI tiles), the maintenance table, the timeline list and the wiring of
 * the stream's events; the time series of latency, correctness and maintenance cost of Lambda and
 * Kappa (MetricsSnapshot from the measurement API), with the timeline marks drawn on every chart,
 * are in overview-charts.js; the speed layer's sketch error beside its ±σ band in sketch-chart.js.
 */
import { $, archTable, bytes, clock, dur, fill, h, int, num, pct } from './dom.js';
import { COLORS, markColor, redraw } from './overview-charts.js';
import { arch, marksList, state } from './overview-state.js';
import { renderServed } from './served-panel.js';
import { renderInterference } from './interference-panel.js';
import { redrawSketch } from './sketch-chart.js';

export { COLORS, markColor, marksList };

const MAX_POINTS = 2000;

function kpi(label, value, sub, cls = '') {
  return h(
    'div',
    { class: `kpi ${cls}` },
    h('div', { class: 'k' }, label),
    h('div', { class: 'v' }, value),
    h('div', { class: 's', title: sub }, sub),
  );
}

function renderKpis(latest) {
  const live = latest.live;
  const lambda = latest.lambda;
  const kappa = latest.kappa;
  const p = state.points.at(-1);
  const prev = state.live.at(-6) ?? state.live[0];
  const rate =
    live && prev && live.at > prev.at ? ((live.logEnd - prev.logEnd) * 1000) / (live.at - prev.at) : null;
  const activeJob = kappa?.jobs.find((j) => j.id === kappa.active);
  const share = (layer) => p?.correctness.find((c) => c.layer === layer && c.metric === 'views');
  const latency = (name) => arch(p ?? {}, name, 'latency')?.finalEvent;
  const noMetrics = state.measurement === false ? 'measurement API not wired yet' : 'waiting for a snapshot';
  fill(
    $('kpis'),
    kpi(
      'events in the log',
      h('span', { id: 'kpi-events' }, int(live?.logEnd)),
      rate === null ? 'ad-events, all partitions' : `${int(rate)} events/s`,
    ),
    kpi(
      'consumer lag',
      h('span', { id: 'kpi-lag' }, int(live?.backpressure?.maxLag)),
      live?.backpressure
        ? `${live.backpressure.saturated ? 'producers throttled' : 'within'} limit ${int(live.backpressure.limit)} · generator ${int(live.generator?.achievedRate)} of ${int(live.generator?.rate)} events/s${live.generator?.shed ? ` · shed ${int(live.generator.shed)}` : ''}`
        : 'events behind the log',
    ),
    kpi(
      'Lambda — final-event latency p50',
      latency('lambda')?.p50 != null ? dur(latency('lambda').p50) : '—',
      latency('lambda') ? `p99 ${dur(latency('lambda').p99)} · n ${int(latency('lambda').count)}` : noMetrics,
      'lambda',
    ),
    kpi(
      'Kappa — final-event latency p50',
      latency('kappa')?.p50 != null ? dur(latency('kappa').p50) : '—',
      latency('kappa') ? `p99 ${dur(latency('kappa').p99)} · n ${int(latency('kappa').count)}` : noMetrics,
      'kappa',
    ),
    kpi(
      'Lambda — windows correct (views)',
      pct(share('lambda')?.correctShare),
      share('lambda')
        ? `${int(share('lambda').differ)} differ · ${int(share('lambda').missing)} missing`
        : noMetrics,
      'lambda',
    ),
    kpi(
      'Kappa — windows correct (views)',
      pct(share('kappa')?.correctShare),
      share('kappa')
        ? `${int(share('kappa').differ)} differ · ${int(share('kappa').missing)} missing`
        : noMetrics,
      'kappa',
    ),
    kpi(
      'Lambda — batch boundary lag',
      h(
        'span',
        { id: 'kpi-boundary-lag' },
        lambda?.boundaryLagMs == null ? 'no view yet' : dur(lambda.boundaryLagMs),
      ),
      lambda?.view
        ? `batch view v${lambda.view.version} · logic v${lambda.view.logicVersion}`
        : 'first batch run pending',
      'lambda',
    ),
    kpi(
      'Lambda — speed layer',
      int(lambda?.speed?.processed),
      lambda
        ? `processed · logic v${lambda.speedLogicVersion} · ${int(lambda.speed?.crashes ?? 0)} crashes`
        : '',
      'lambda',
    ),
    kpi(
      'Kappa — active job',
      activeJob ? `job ${activeJob.id}` : '—',
      activeJob ? `logic v${activeJob.logicVersion} · lag ${int(activeJob.lag)}` : 'no active job',
      'kappa',
    ),
  );
}

function renderMaintenance() {
  const table = $('maintenance-table');
  const p = state.points.at(-1);
  renderServed(p, state.measurement);
  renderInterference(p, state.measurement);
  if (!p) {
    fill(
      table,
      h(
        'tbody',
        {},
        h(
          'tr',
          {},
          h(
            'td',
            { class: 'muted' },
            state.measurement === false
              ? 'Needs the measurement API (GET /api/metrics).'
              : 'Waiting for the first snapshot…',
          ),
        ),
      ),
    );
    return;
  }
  const L = arch(p, 'lambda', 'maintenance');
  const K = arch(p, 'kappa', 'maintenance');
  const compute = (m) => `${num(Object.values(m.computeMs ?? {}).reduce((s, v) => s + v, 0) / 1000)} s`;
  archTable(table, L, K, [
    ['business-logic codebases', (m) => int(m.implementations)],
    ['lines of business logic', (m) => int(m.logicLines)],
    ...(L?.linesChanged ?? [{ from: 1, to: 2 }]).map((step) => [
      `lines changed by v${step.from} → v${step.to}`,
      (m) => int(m.linesChanged?.find((x) => x.from === step.from)?.lines),
    ]),
    ['running components', (m) => `${m.runningComponents.length}`],
    ['compute time', compute],
    ['work amplification', (m) => (m.workAmplification === null ? '—' : `${num(m.workAmplification, 2)} ×`)],
    ['storage', (m) => bytes(m.storageBytes)],
  ]);
  table.title = `Lambda: ${L?.runningComponents.join(', ') ?? '—'}\nKappa: ${K?.runningComponents.join(', ') ?? '—'}`;
}

function renderTimeline() {
  const list = $('timeline');
  if (state.marks.length === 0) {
    fill(
      list,
      h(
        'li',
        { class: 'muted' },
        'No marks yet: batch runs, deploys, crashes, replays and switchovers appear here and on the charts.',
      ),
    );
    return;
  }
  fill(
    list,
    state.marks
      .slice(-100)
      .reverse()
      .map((m) =>
        h(
          'li',
          {},
          h('time', { datetime: new Date(m.at).toISOString() }, clock(m.at)),
          h('span', { class: 'mark-kind', style: `background:${markColor(m.kind)}` }, m.kind),
          h('span', {}, m.label),
        ),
      ),
  );
}

function renderEmpty() {
  const el = $('metrics-empty');
  if (state.measurement === false) {
    el.hidden = false;
    el.textContent =
      'The measurement service (truth oracle, latency, correctness, maintenance cost) is not running in this lab, so the charts below stay empty; the live figures and the timeline marks come from the stream.';
  } else if (state.points.length === 0) {
    el.hidden = false;
    el.textContent = 'Waiting for the first metrics snapshot…';
  } else el.hidden = true;
}

export function initOverview({ on, latest }) {
  const addPoint = (p) => {
    if (state.points.length && p.at <= state.points.at(-1).at) return;
    state.points.push(p);
    if (state.points.length > MAX_POINTS) state.points.splice(0, state.points.length - MAX_POINTS);
  };
  on('hello', (hello) => {
    state.measurement = hello.measurement;
    renderEmpty();
    renderMaintenance();
    redrawSketch(state.points.at(-1), state.measurement);
  });
  on('history', (history) => {
    state.points = [];
    for (const p of history.points) addPoint(p);
    renderEmpty();
    renderMaintenance();
    redraw();
    redrawSketch(state.points.at(-1), state.measurement);
  });
  on('metrics', (p) => {
    addPoint(p);
    renderEmpty();
    renderMaintenance();
    renderKpis(latest);
    redraw();
    redrawSketch(state.points.at(-1), state.measurement);
  });
  on('marks', (marks) => {
    state.marks = [...marks].sort((a, b) => a.at - b.at);
    renderTimeline();
    redraw();
  });
  on('mark', (m) => {
    state.marks.push(m);
    if (state.marks.length > 1000) state.marks.shift();
    renderTimeline();
    redraw();
  });
  on('live', (live) => {
    state.live.push(live);
    if (state.live.length > 60) state.live.shift();
    renderKpis(latest);
    redraw();
  });
  on('lambda', () => renderKpis(latest));
  on('kappa', () => renderKpis(latest));
  $('correctness-metric').addEventListener('change', redraw);
  $('maintenance-series').addEventListener('change', redraw);
  renderKpis(latest);
  renderTimeline();
  renderMaintenance();
}
