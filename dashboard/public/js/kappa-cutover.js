/**
 * The cutover semantics lab in the Kappa view: the mode the next switchover uses (flip, overlap,
 * gate; preselected from kappa.cutoverMode) and the last cutover's count from GET
 * /api/kappa/cutover — mode, T, idle partitions and, per closed window around it, the events
 * readers lost and got twice. Fetched after a switchover and at most once per window (10 s).
 */
import { api } from './api.js';
import { $, clock, fill, h, int } from './dom.js';

const REFRESH_MS = 10_000;

function show(c) {
  const r = c.last;
  const box = $('kappa-cutover');
  box.hidden = !r;
  if (!r) return;
  $('kappa-cutover-summary').textContent = r.measured
    ? `${r.mode}: ${int(r.lost)} events lost, ${int(r.duplicated)} duplicated — ${r.reason}`
    : `${r.mode}: not counted (${r.measuredReason}) — ${r.reason}`;
  fill(
    $('kappa-cutover-windows'),
    r.windows.length === 0
      ? null
      : h(
          'table',
          { class: 'verify-table', id: 'kappa-cutover-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'window'),
              h('th', {}, 'served from'),
              h('th', {}, 'truth'),
              h('th', {}, 'served'),
              h('th', {}, 'lost'),
              h('th', {}, 'duplicated'),
            ),
          ),
          h(
            'tbody',
            {},
            r.windows.map((w) =>
              h(
                'tr',
                { dataset: { window: w.window }, class: w.lost || w.duplicated ? 'differs' : '' },
                h('td', {}, `${clock(w.window)}${r.at !== null && w.window === r.at ? ' (T)' : ''}`),
                h('td', {}, w.jobs.map((j) => `job ${j}`).join(' + ')),
                h('td', {}, int(w.expected)),
                h('td', {}, int(w.served)),
                h('td', {}, int(w.lost)),
                h('td', {}, int(w.duplicated)),
              ),
            ),
          ),
        ),
  );
}

/** Wires the mode choice and the report; `update(view)` with every Kappa jobs view. */
export function initKappaCutover() {
  const radios = [...document.querySelectorAll('#cutover-mode input[name="cutover"]')];
  let picked = false;
  for (const r of radios) r.addEventListener('change', () => (picked = true));
  let lastAt = Number.NEGATIVE_INFINITY;
  let switchedAt = null;
  let pending = false;
  const refresh = async () => {
    if (pending) return;
    pending = true;
    try {
      show(await api('/api/kappa/cutover'));
    } catch (err) {
      $('kappa-cutover-summary').textContent = `cutover: ${err.message}`;
    } finally {
      pending = false;
      lastAt = performance.now();
    }
  };
  return {
    /** The mode the next switchover asks for. */
    mode: () => radios.find((r) => r.checked)?.value ?? 'flip',
    refresh,
    update(view) {
      if (!picked) {
        const def = radios.find((r) => r.value === view.settings.cutoverMode);
        if (def) def.checked = true;
      }
      const fresh = view.switchedAt !== switchedAt;
      switchedAt = view.switchedAt;
      if (fresh || (view.switchedAt && performance.now() - lastAt >= REFRESH_MS)) void refresh();
    },
  };
}
