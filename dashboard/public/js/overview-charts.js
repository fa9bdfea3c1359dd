/**
 * The overview's charts (chart.js): latency, correctness and maintenance cost of Lambda and Kappa
 * as time series, with the timeline marks drawn on every chart; the colours per layer and mark.
 */
import { $, clock } from './dom.js';
import { arch, state } from './overview-state.js';

const WINDOW_MS = 15 * 60_000; // the charts show the last 15 minutes

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

function maintenanceValue(m, series) {
  if (!m) return null;
  if (series === 'storage') return m.storageBytes / 1e6;
  if (series === 'amplification') return m.workAmplification;
  return Object.values(m.computeMs ?? {}).reduce((s, v) => s + v, 0) / 1000;
}

/** Redraws every chart over the last 15 minutes of the snapshots and live figures. */
export function redraw() {
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
