/**
 * Served correctness: what a reader of GET /api/views got for each closed window, judged against
 * the final truth (MetricsSnapshot.served): the share of cells served right at 1 s, 10 s and 60 s
 * after the window closed, and how long each window took to be served right for good.
 */
import { $, archTable, dur, fill, h, int, pct } from './dom.js';

const arch = (p, name) => (p?.served ?? []).find((s) => s.arch === name);

export function renderServed(point, measurement) {
  const table = $('served-table');
  if (!table) return;
  const L = arch(point, 'lambda');
  const K = arch(point, 'kappa');
  if (!L && !K) {
    const why =
      measurement === false
        ? 'Needs the measurement API (GET /api/metrics).'
        : 'Judged once a window’s truth is final (about a minute after it closes)…';
    fill(table, h('tbody', {}, h('tr', {}, h('td', { class: 'muted' }, why))));
    return;
  }
  const atAge = (ageMs) => (s) => {
    const a = s.byAge.find((b) => b.ageMs === ageMs);
    return a && a.correctShare !== null ? pct(a.correctShare) : '—';
  };
  const ttc = (k) => (s) => (s.timeToCorrect[k] === null ? '—' : dur(s.timeToCorrect[k]));
  archTable(table, L, K, [
    ['right 1 s after close', atAge(1000), 'share of (campaign, window) cells served with the true value'],
    ['right 10 s after close', atAge(10_000)],
    ['right 60 s after close', atAge(60_000)],
    [
      'time to correct, p50',
      ttc('p50'),
      'from the window’s close until the served answer is the truth for good',
    ],
    ['time to correct, p90', ttc('p90')],
    ['never right within 5 min', (s) => int(s.timeToCorrect.neverCorrect)],
    ['windows judged', (s) => int(s.timeToCorrect.windows)],
  ]);
}
