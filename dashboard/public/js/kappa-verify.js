/**
 * The switchover gate in the Kappa view: the verdict on the replay (GET /api/kappa/verification)
 * and its per-window diff histogram — a stacked bar per closed window, cells per |replay − truth|
 * bucket (chart.js, as the overview's charts). Fetched on demand: when a replay has caught up, at
 * most once per window (10 s), on "Check now", and from a refused switchover's answer.
 */
import { api } from './api.js';
import { $, clock, fill, h, int } from './dom.js';

const BUCKET_COLORS = ['#16a34a', '#facc15', '#f97316', '#dc2626', '#7f1d1d'];
const REFRESH_MS = 10_000;

let chart = null;

function drawHistogram(v) {
  const Chart = window.Chart;
  if (!Chart) return;
  const labels = v.windows.map((w) => clock(w.window));
  const datasets = v.buckets.map((b, i) => ({
    label: `|diff| ${b}`,
    data: v.windows.map((w) => w.histogram[i] ?? 0),
    backgroundColor: BUCKET_COLORS[i] ?? '#555',
    stack: 'cells',
  }));
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets = datasets;
    chart.update('none');
    return;
  }
  chart = new Chart($('chart-verify'), {
    type: 'bar',
    data: { labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true, ticks: { font: { size: 10 } }, grid: { display: false } },
        y: {
          stacked: true,
          beginAtZero: true,
          title: { display: true, text: 'cells (campaigns)', font: { size: 10 } },
          ticks: { precision: 0, font: { size: 10 } },
        },
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, font: { size: 10 } } } },
    },
  });
}

/** Shows a verdict: the sentence, one row per window, and the histogram. */
export function showVerification(v) {
  const box = $('kappa-verify');
  box.dataset.verdict = v.verdict;
  box.dataset.job = String(v.job);
  $('kappa-verdict').textContent =
    `job ${v.job}: ${v.verdict}${v.skipped ? ' (skipped)' : ''} — ${v.reason}` +
    (v.checkedAt ? ` (checked ${clock(v.checkedAt)})` : '');
  $('kappa-verdict').className = `verdict verdict-${v.verdict}`;
  fill(
    $('kappa-verify-windows'),
    v.windows.length === 0
      ? null
      : h(
          'table',
          { class: 'verify-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'window'),
              h('th', {}, 'cells'),
              h('th', {}, 'truth'),
              h('th', {}, `job ${v.job}`),
              h('th', {}, 'Σ|diff|'),
              v.against === null ? null : h('th', {}, `unexplained vs job ${v.against}`),
            ),
          ),
          h(
            'tbody',
            {},
            v.windows.map((w) =>
              h(
                'tr',
                {
                  dataset: { window: w.window },
                  class: v.failedWindows.includes(w.window) ? 'differs' : '',
                },
                h('td', {}, clock(w.window)),
                h('td', {}, int(w.cells)),
                h('td', {}, int(w.expectedViews)),
                h('td', {}, int(w.candidateViews)),
                h('td', {}, int(w.absDiffTruth)),
                v.against === null ? null : h('td', {}, int(w.unexplainedActive)),
              ),
            ),
          ),
        ),
  );
  $('kappa-verify-chart').hidden = v.windows.length === 0;
  if (v.windows.length > 0) drawHistogram(v);
}

/** Wires the block; `update(view)` is called with every Kappa jobs view. */
export function initKappaVerify() {
  let lastJob = null;
  let lastAt = Number.NEGATIVE_INFINITY;
  let pending = false;
  const check = async (job) => {
    if (pending) return;
    pending = true;
    try {
      showVerification(await api(`/api/kappa/verification?job=${job}`));
    } catch (err) {
      $('kappa-verdict').textContent = `verification: ${err.message}`;
    } finally {
      pending = false;
      lastAt = performance.now();
    }
  };
  $('verify-btn').addEventListener('click', () => {
    if (lastJob !== null) void check(lastJob);
  });
  return {
    update(view) {
      const cand = view.jobs.find((j) => j.state === 'replaying' || j.state === 'caught-up');
      const box = $('kappa-verify');
      box.hidden = !cand;
      $('verify-btn').disabled = !cand;
      if (!cand) {
        lastJob = null;
        return;
      }
      const fresh = cand.id !== lastJob;
      lastJob = cand.id;
      if (fresh) {
        $('kappa-verdict').textContent = `job ${cand.id}: not checked yet`;
        fill($('kappa-verify-windows'));
        $('kappa-verify-chart').hidden = true;
      }
      // Before the switchover: check once the replay has caught up, then at most once per window.
      if (cand.state === 'caught-up' && (fresh || performance.now() - lastAt >= REFRESH_MS))
        void check(cand.id);
    },
  };
}
