/**
 * Overview: live figures (KPI tiles), and latency, correctness and maintenance cost of Lambda and
 * Kappa as time series (MetricsSnapshot from the measurement API) with the timeline marks drawn on
 * every chart.
 */
import { $, archTable, bytes, clock, dur, fill, h, int, num, pct } from './dom.js';
import { renderServed } from './served-panel.js';

const WINDOW_MS = 15 * 60_000; // the charts show the last 15 minutes
const MAX_POINTS = 2000;

export const COLORS = {
  lambda: '#2563eb',
  batch: '#0d9488',
  speed: '#7c3aed',
  kappa: '#c2410c',
  kappa_candidate: '#db2777',
};

const MARK_COLORS = [
  ['fail', '#b91c1c'],
  ['crash', '#dc2626'],
  ['batch', '#2563eb'],
  ['deploy', '#7c3aed'],
  ['replay', '#ea580c'],
  ['caught', '#ca8a04'],
  ['switch', '#16a34a'],
  ['rollback', '#0891b2'],
  ['abort', '#6b7280'],
];

export function markColor(kind) {
  const k = String(kind).toLowerCase();
  return MARK_COLORS.find(([needle]) => k.includes(needle))?.[1] ?? '#475569';
}

const state = {
  points: [],
  marks: [],
  live: [],
  measurement: null,
};

/** The timeline marks received so far, oldest first. */
export function marksList() {
  return state.marks;
}

/** chart.js plugin: a dashed vertical line per timeline mark, with the kind's initial on top. */
const marksPlugin = {
  id: 'lklabMarks',
  afterDatasetsDraw(chart) {
    const x = chart.scales.x;
    const { top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    let lastPx = -Infinity;
    let row = 0;
    for (const m of state.marks) {
      if (m.at < x.min || m.at > x.max) continue;
      const px = x.getPixelForValue(m.at);
      // marks closer than a label's width stack their initials downwards
      row = px - lastPx < 10 ? row + 1 : 0;
      lastPx = px;
      const color = markColor(m.kind);
      ctx.strokeStyle = color;
      ctx.globalAlpha = 0.75;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      ctx.fillStyle = color;
      ctx.font = '600 10px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText(String(m.kind).slice(0, 1).toUpperCase(), px, top + 9 + (row % 4) * 11);
    }
    ctx.restore();
  },
};

function timeChart(canvasId, yTitle, datasets, yOptions = {}) {
  const Chart = window.Chart;
  return new Chart($(canvasId), {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0, hitRadius: 6 }, line: { borderWidth: 2, tension: 0.15 } },
      scales: {
        x: {
          type: 'linear',
          ticks: { callback: (v) => clock(v), maxTicksLimit: 6, maxRotation: 0, font: { size: 10 } },
          grid: { color: '#eef0f3' },
        },
        y: {
          beginAtZero: true,
          title: { display: true, text: yTitle, font: { size: 10 } },
          ticks: { font: { size: 10 } },
          grid: { color: '#eef0f3' },
          ...yOptions,
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 2, font: { size: 10 } } },
        tooltip: { callbacks: { title: (items) => (items[0] ? clock(items[0].parsed.x) : '') } },
      },
    },
    plugins: [marksPlugin],
  });
}

function ds(label, color, dashed = false) {
  return {
    label,
    data: [],
    borderColor: color,
    backgroundColor: color,
    borderDash: dashed ? [5, 4] : [],
    clip: 4, // a line at the axis' maximum (100 % correct) stays visible
  };
}

let charts = null;

function makeCharts() {
  if (charts || !window.Chart) return charts;
  charts = {
    latency: timeChart('chart-latency', 'seconds', [
      ds('Lambda p50', COLORS.lambda),
      ds('Lambda p99', COLORS.lambda, true),
      ds('Kappa p50', COLORS.kappa),
      ds('Kappa p99', COLORS.kappa, true),
    ]),
    correctness: timeChart(
      'chart-correctness',
      '% correct',
      ['lambda', 'batch', 'speed', 'kappa', 'kappa_candidate'].map((l) =>
        ds(
          l === 'kappa_candidate' ? 'Kappa candidate' : l[0].toUpperCase() + l.slice(1),
          COLORS[l],
          l === 'batch' || l === 'speed',
        ),
      ),
      // 90–100 % unless a layer falls lower: the differences that matter stay visible
      { beginAtZero: false, suggestedMin: 90, max: 100 },
    ),
    maintenance: timeChart('chart-maintenance', 'CPU s', [
      ds('Lambda', COLORS.lambda),
      ds('Kappa', COLORS.kappa),
    ]),
  };
  return charts;
}

const arch = (p, name, key) => p[key]?.find((x) => x.arch === name);

function maintenanceValue(m, series) {
  if (!m) return null;
  if (series === 'storage') return m.storageBytes / 1e6;
  if (series === 'amplification') return m.workAmplification;
  return Object.values(m.computeMs ?? {}).reduce((s, v) => s + v, 0) / 1000;
}

function redraw() {
  const c = makeCharts();
  if (!c) return;
  const now = state.live.at(-1)?.at ?? state.points.at(-1)?.at ?? 0;
  const min = Math.max(now - WINDOW_MS, state.points[0]?.at ?? now - 60_000);
  const pts = state.points;
  const lat = (name, q) =>
    pts.map((p) => ({ x: p.at, y: (arch(p, name, 'latency')?.finalEvent?.[q] ?? NaN) / 1000 }));
  c.latency.data.datasets[0].data = lat('lambda', 'p50');
  c.latency.data.datasets[1].data = lat('lambda', 'p99');
  c.latency.data.datasets[2].data = lat('kappa', 'p50');
  c.latency.data.datasets[3].data = lat('kappa', 'p99');
  const metric = $('correctness-metric').value;
  ['lambda', 'batch', 'speed', 'kappa', 'kappa_candidate'].forEach((layer, i) => {
    c.correctness.data.datasets[i].data = pts.map((p) => {
      const f = p.correctness.find((x) => x.layer === layer && x.metric === metric);
      return { x: p.at, y: f && f.correctShare !== null ? f.correctShare * 100 : NaN };
    });
  });
  const series = $('maintenance-series').value;
  c.maintenance.options.scales.y.title.text =
    series === 'storage' ? 'MB' : series === 'amplification' ? 'events processed / ingested' : 'CPU s';
  ['lambda', 'kappa'].forEach((name, i) => {
    c.maintenance.data.datasets[i].data = pts.map((p) => ({
      x: p.at,
      y: maintenanceValue(arch(p, name, 'maintenance'), series) ?? NaN,
    }));
  });
  for (const chart of Object.values(c)) {
    chart.options.scales.x.min = min;
    chart.options.scales.x.max = Math.max(now, min + 1000);
    chart.update('none');
  }
}

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
    ['lines changed by v1 → v2', (m) => int(m.linesChangedV1toV2)],
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
  });
  on('history', (history) => {
    state.points = [];
    for (const p of history.points) addPoint(p);
    renderEmpty();
    renderMaintenance();
    redraw();
  });
  on('metrics', (p) => {
    addPoint(p);
    renderEmpty();
    renderMaintenance();
    renderKpis(latest);
    redraw();
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
