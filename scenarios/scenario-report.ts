import { writeFileSync } from 'node:fs';
import type { MetricValue, Sample } from './lab-probe.js';
import type { ScenarioRunResult } from './scenario-runner.js';

/** Charts of every report: [title, [label, metric path, colour][]]. */
const CHARTS: Array<[string, Array<[string, string, string]>]> = [
  [
    'Correct share of closed windows (views)',
    [
      ['lambda', 'correctness.lambda.views.correctShare', '#2563eb'],
      ['kappa', 'correctness.kappa.views.correctShare', '#c2410c'],
      ['speed', 'correctness.speed.views.correctShare', '#2ca02c'],
      ['batch', 'correctness.batch.views.correctShare', '#9467bd'],
    ],
  ],
  [
    'Relative error, distinct users',
    [
      ['speed (HyperLogLog)', 'correctness.speed.distinct_users.relError', '#2ca02c'],
      ['speed RMS per window', 'correctness.speed.distinct_users.sketch.rmsRelError', '#0d9488'],
      ['σ = 1.04/√m (theory)', 'correctness.speed.distinct_users.sketch.standardError', '#7c3aed'],
      ['kappa (exact)', 'correctness.kappa.distinct_users.relError', '#c2410c'],
    ],
  ],
  ['Batch boundary lag (ms)', [['lag', 'batchBoundaryLagMs', '#9467bd']]],
  [
    'Final-event latency p99 (ms)',
    [
      ['lambda', 'latency.lambda.finalEvent.p99', '#2563eb'],
      ['kappa', 'latency.kappa.finalEvent.p99', '#c2410c'],
    ],
  ],
];

/** Writes the JSON report to `file` (.json) and the HTML page beside it (.html); returns both paths. */
export function writeReports(result: ScenarioRunResult, file: string): { json: string; html: string } {
  const base = file.replace(/\.(json|html)$/, '');
  const json = `${base}.json`;
  const html = `${base}.html`;
  writeFileSync(json, JSON.stringify(result, null, 2));
  writeFileSync(html, renderHtml(result));
  return { json, html };
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained page: inline CSS and SVG, no script, no external request. */
export function renderHtml(r: ScenarioRunResult): string {
  const verdicts = r.verdicts
    .map((v) => {
      const detail = 'detail' in v ? v.detail : '';
      return `<tr class="${v.status}"><td>${esc(v.status)}</td><td>${esc(v.name)}<div class="lesson">${esc(v.lesson ?? '')}</div></td><td><code>${esc(v.metric)}</code></td><td>${esc(detail)}</td></tr>`;
    })
    .join('\n');
  const beats = r.beats.map((b) => `<li><b>${b.t} s</b> ${esc(b.text)}</li>`).join('\n');
  const actions = r.timeline
    .filter((e) => e.kind === 'action')
    .map(
      (e) =>
        `<li><b>${e.t} s</b> ${esc(e.label)} — <i>${esc(e.outcome ?? '')}</i> ${esc(e.detail ?? '')}</li>`,
    )
    .join('\n');
  const charts = CHARTS.map(([title, series]) => chart(title, series, r.samples, r)).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)} — scenario report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#1c2430;background:#f4f6f9;padding:0 1em}
figure{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:.6em}
h1{margin-bottom:.2em} .meta{color:#666} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;text-align:left}
tr.pass td:first-child{color:#2a7d2a;font-weight:bold} tr.fail td:first-child{color:#c0392b;font-weight:bold}
tr.not-measured td:first-child,tr.pending td:first-child{color:#888}
.lesson{color:#666;font-size:.9em} .charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}
figure{margin:0} figcaption{font-weight:bold;margin-bottom:.3em} .legend span{margin-right:1em}
.summary{font-size:1.2em;padding:.5em;border-radius:4px} .ok{background:#e6f4e6} .bad{background:#fbe9e7}
</style></head><body>
<h1>${esc(r.title)}</h1>
<div class="meta">scenario <code>${esc(r.scenarioId)}</code> · run ${esc(r.runId)} · ${r.mode} mode · seed ${r.seed} · ${r.progress.duration} s of scenario time · ${esc(r.startedAt)}</div>
<p>${esc(r.goal)}</p>
<p class="summary ${r.passed ? 'ok' : 'bad'}">${r.state === 'failed' ? `Run failed: ${esc(r.error ?? '')}` : r.passed ? 'Every expectation held, each on a measured value.' : 'Not every expectation held.'}${r.tally ? ` ${r.tally.passed} passed, ${r.tally.failed} failed, ${r.tally.notMeasured} not measured.` : ''}</p>
<h2>Verdicts</h2>
<table><tr><th></th><th>expectation</th><th>metric</th><th>observed</th></tr>
${verdicts}</table>
<h2>Charts</h2><div class="charts">${charts}</div>
<h2>Narrative</h2><ol>${beats}</ol>
<h2>Actions</h2><ul>${actions}</ul>
</body></html>
`;
}

function chart(
  title: string,
  series: Array<[string, string, string]>,
  samples: Sample[],
  r: ScenarioRunResult,
): string {
  const W = 460;
  const H = 200;
  const P = 36;
  const pts = series.map(([, path]) =>
    samples
      .map((s) => [s.t, s.values[path]] as [number, MetricValue])
      .filter((p): p is [number, number] => typeof p[1] === 'number'),
  );
  const all = pts.flat().map((p) => p[1]);
  if (all.length === 0) return '';
  const max = Math.max(...all, 0) || 1;
  const min = Math.min(...all, 0);
  const dur = r.progress.duration || 1;
  const x = (t: number): number => P + ((W - 2 * P) * t) / dur;
  const y = (v: number): number => H - P + ((H - 2 * P) * (min - v)) / (max - min || 1);
  const lines = pts
    .map((p, i) =>
      p.length
        ? `<polyline fill="none" stroke="${series[i]![2]}" stroke-width="2" points="${p.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`
        : '',
    )
    .join('');
  const marks = r.timeline
    .filter((e) => e.kind === 'action')
    .map(
      (e, i) =>
        `<line x1="${x(e.t)}" x2="${x(e.t)}" y1="${P / 2}" y2="${H - P}" stroke="#b45309" stroke-dasharray="3,3"><title>${esc(e.label)}</title></line><text x="${x(e.t) + 2}" y="${P / 2 + 8 + (i % 3) * 9}" font-size="8" fill="#b45309" class="mark">${esc(e.label)}</text>`,
    )
    .join('');
  const ticks = [0, 1, 2, 3, 4].map((k) => min + ((max - min) * k) / 4);
  const xTicks = [0, 1, 2, 3, 4].map((k) => Math.round((dur * k) / 4));
  const unit = /share/i.test(title) ? 'share (0–1)' : /error/i.test(title) ? 'relative error' : 'ms';
  const axes =
    ticks
      .map(
        (v) =>
          `<line x1="${P}" x2="${W - P}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#dde2ea"/><text x="${P - 4}" y="${(y(v) + 3).toFixed(1)}" font-size="9" fill="#5b6678" text-anchor="end" class="tick">${fmt(v)}</text>`,
      )
      .join('') +
    xTicks
      .map(
        (t) =>
          `<text x="${x(t).toFixed(1)}" y="${H - P + 12}" font-size="9" fill="#5b6678" text-anchor="middle" class="tick">${t}</text>`,
      )
      .join('') +
    `<line x1="${P}" x2="${W - P}" y1="${H - P}" y2="${H - P}" stroke="#5b6678"/><line x1="${P}" x2="${P}" y1="${P / 2}" y2="${H - P}" stroke="#5b6678"/>
<text x="${W / 2}" y="${H - 4}" font-size="10" fill="#1c2430" text-anchor="middle" class="axis-label">scenario time (s)</text><text x="4" y="10" font-size="10" fill="#1c2430" class="axis-label">${unit}</text>`;
  const legend = series
    .map(([label, , c], i) => (pts[i]!.length ? `<span style="color:${c}">■ ${esc(label)}</span>` : ''))
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="100%" role="img">${axes}${marks}${lines}</svg><div class="legend">${legend}</div></figure>`;
}

const fmt = (v: number): string =>
  Math.abs(v) >= 100 ? String(Math.round(v)) : v === 0 ? '0' : String(Number(v.toPrecision(2)));
