/**
 * Replay interference (MetricsSnapshot.interference): what the newest Kappa replay cost the live
 * readers. Its rate (events/s it checkpointed, and over the last 5 s while it runs) beside the
 * final-event p99 of the speed layer (Lambda) and of the active Kappa job, for the windows that
 * ended in the minute before the replay and while it ran.
 */
import { $, archTable, dur, fill, h, int, num } from './dom.js';

const ms = (v) => (v === null || v === undefined ? '—' : dur(v));

export function renderInterference(point, measurement) {
  const table = $('interference-table');
  const caption = $('interference-replay');
  if (!table || !caption) return;
  const r = point?.interference?.replays?.[0];
  if (!r) {
    const why =
      measurement === false
        ? 'Needs the measurement API (GET /api/metrics).'
        : 'Shown once a Kappa replay runs (Kappa controls → replay): its rate beside the live readers’ latency.';
    caption.textContent = '';
    fill(table, h('tbody', {}, h('tr', {}, h('td', { class: 'muted' }, why))));
    return;
  }
  const limit = r.rateLimit ? `limit ${int(r.rateLimit)}/s` : 'no rate limit';
  const state =
    r.endedAt === null ? `replaying now, ${int(r.currentRate ?? r.replayRate)} events/s` : r.ended;
  caption.textContent = `Job ${r.job} (logic v${r.logicVersion ?? '?'}), ${limit}: ${int(r.events)} events at ${int(r.replayRate)} events/s — ${state}`;
  archTable(table, r.lambda, r.kappa, [
    [
      'final-event p99 before',
      (a) => ms(a.before.p99),
      'windows that ended in the minute before the replay started',
    ],
    ['final-event p99 during', (a) => ms(a.during.p99), 'windows that ended while the replay ran'],
    ['during ÷ before', (a) => (a.p99Ratio === null ? '—' : `${num(a.p99Ratio, 2)}×`)],
    ['windows sampled during', (a) => int(a.during.count)],
  ]);
}
