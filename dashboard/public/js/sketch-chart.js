/**
 * The speed layer's distinct-user sketch (HyperLogLog) beside its theory: one point per closed
 * (campaign, window), its relative error (estimate − exact) / exact, drawn over the ±σ and ±2σ
 * band of σ = 1.04/√m (MetricsSnapshot.correctness[speed, distinct_users].sketch; docs/metrics.md).
 */
import { $, clock, int, pct } from './dom.js';

export const SKETCH_COLORS = {
  point: '#7c3aed',
  band1: 'rgba(124, 58, 237, 0.22)',
  band2: 'rgba(124, 58, 237, 0.09)',
  edge: 'rgba(124, 58, 237, 0.45)',
};

let chart = null;

const bandLine = (label, fill, backgroundColor) => ({
  label,
  data: [],
  type: 'line',
  fill,
  backgroundColor,
  borderColor: SKETCH_COLORS.edge,
  borderWidth: 1,
  borderDash: [3, 3],
  pointRadius: 0,
  hitRadius: 0,
  order: 1,
});

function makeChart() {
  if (chart || !window.Chart) return chart;
  chart = new window.Chart($('chart-sketch'), {
    type: 'scatter',
    data: {
      datasets: [
        bandLine('±2σ', 3, SKETCH_COLORS.band2), // filled down to −2σ
        bandLine('±σ', 2, SKETCH_COLORS.band1), // filled down to −σ
        bandLine('−σ', false, SKETCH_COLORS.band1),
        bandLine('−2σ', false, SKETCH_COLORS.band2),
        {
          label: 'observed (campaign, window)',
          data: [],
          backgroundColor: SKETCH_COLORS.point,
          borderColor: SKETCH_COLORS.point,
          pointRadius: 3,
          pointHoverRadius: 5,
          order: 0, // drawn over the band
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: 'window start', font: { size: 10 } },
          ticks: { callback: (v) => clock(v), maxTicksLimit: 6, maxRotation: 0, font: { size: 10 } },
          grid: { color: '#eef0f3' },
        },
        y: {
          title: { display: true, text: 'relative error, %', font: { size: 10 } },
          ticks: { font: { size: 10 } },
          grid: { color: '#eef0f3' },
        },
      },
      plugins: {
        legend: {
          position: 'bottom',
          labels: {
            boxWidth: 12,
            boxHeight: 6,
            font: { size: 10 },
            filter: (item) => item.text !== '−2σ' && item.text !== '−σ',
          },
        },
        tooltip: {
          filter: (item) => item.datasetIndex === 4,
          callbacks: {
            title: (items) => (items[0] ? `window ${clock(items[0].parsed.x)}` : ''),
            label: (item) => `${item.raw.campaign}: ${item.parsed.y.toFixed(3)} %`,
          },
        },
      },
    },
  });
  return chart;
}

/** The speed layer's sketch figures of a snapshot, or undefined. */
export const sketchOf = (p) =>
  p?.correctness?.find((c) => c.layer === 'speed' && c.metric === 'distinct_users')?.sketch;

function caption(s, measurement) {
  const el = $('sketch-figures');
  if (!el) return;
  if (!s)
    el.textContent =
      measurement === false
        ? 'needs the measurement API'
        : 'no closed window in the speed layer yet (batch boundary above it, or no traffic)';
  else
    el.textContent =
      `σ = 1.04/√m = ${(s.standardError * 100).toFixed(2)} % (m = ${int(s.registers)}) · ` +
      `within ±σ ${pct(s.within1Sigma)} · ±2σ ${pct(s.within2Sigma)} · ±3σ ${pct(s.within3Sigma)} · ` +
      `${int(s.windows)} windows`;
}

/** Redraws the chart from the newest snapshot: its recent cells and the band around them. */
export function redrawSketch(point, measurement) {
  const s = sketchOf(point);
  caption(s, measurement);
  const c = makeChart();
  if (!c) return;
  const recent = s?.recent ?? [];
  const [band2, band1, low1, low2, observed] = c.data.datasets;
  observed.data = recent.map((r) => ({ x: r.window, y: r.relError * 100, campaign: r.campaign_id }));
  let lo = recent[0]?.window ?? point?.at ?? 0;
  let hi = recent.at(-1)?.window ?? lo;
  // half a window's margin each side keeps the outermost points whole
  lo -= 5_000;
  hi += 5_000;
  const sigma = s ? s.standardError * 100 : null;
  const band = (k) =>
    sigma === null
      ? []
      : [
          { x: lo, y: k * sigma },
          { x: hi, y: k * sigma },
        ];
  band2.data = band(2);
  band1.data = band(1);
  low1.data = band(-1);
  low2.data = band(-2);
  c.options.scales.x.min = lo;
  c.options.scales.x.max = hi;
  // the band always shows whole (±3σ at least); a point outside it widens the axis
  const worst = Math.max(0, ...observed.data.map((d) => Math.abs(d.y)));
  const edge = sigma === null ? 1 : Math.max(3 * sigma, worst * 1.1);
  c.options.scales.y.suggestedMin = -edge; // chart.js rounds outwards to whole ticks
  c.options.scales.y.suggestedMax = edge;
  c.update('none');
}
