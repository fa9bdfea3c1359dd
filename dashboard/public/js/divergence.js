/**
 * Divergence inspector: campaign × 10 s window, coloured by one layer's difference from the truth
 * oracle (GET /api/divergence). A cell opens every layer's value, the truth, the cause per layer,
 * the timeline marks around the window and each architecture's provenance (GET /api/views).
 */
import { api } from './api.js';
import { $, clock, fill, h, int } from './dom.js';
import { COLORS, markColor, marksList } from './overview.js';
import { rovingGrid } from './roving-grid.js';

const WINDOW_MS = 10_000;
const LAYERS = ['lambda', 'batch', 'speed', 'kappa', 'kappa_candidate'];
const LAYER_NAMES = {
  lambda: 'Lambda (served)',
  batch: 'batch layer',
  speed: 'speed layer',
  kappa: 'Kappa (active)',
  kappa_candidate: 'Kappa (candidate)',
};

export const CAUSES = {
  'not-yet-in-batch': 'The batch view does not cover this window yet; the speed layer answers for it.',
  'late-event':
    'Events arrived after the window closed; a layer without allowed lateness (or past it) missed them.',
  'at-least-once-duplicate':
    'The speed layer re-read events after a crash between flush and commit (at-least-once) and counted them twice.',
  'hyperloglog-approximation':
    'Distinct users are estimated with a HyperLogLog in the speed layer: a small error, on purpose.',
  'logic-versions-differ':
    'This layer runs a different business-logic version than the truth (a partial deploy, or a replay not switched over).',
  'replay-not-caught-up': 'The Kappa replay has not reached this window yet.',
  'window-open': 'The window is still open (before the watermark + allowed lateness); values still move.',
  unknown: 'No known cause explains this difference.',
};

/**
 * A cell's verdict for one layer: its colour class, its symbol (so colour is never the only cue)
 * and its words, which the legend and a cell's accessible name use. Colours from Paul Tol's
 * colour-blind-safe schemes (the "light" scheme, dark red from "medium contrast"): told apart
 * with deuteranopia and protanopia too.
 */
export const VERDICTS = {
  correct: { symbol: '✓', label: 'equal to the truth' },
  small: { symbol: '≈', label: '< 2 % off' },
  mid: { symbol: '≠', label: '2–10 % off' },
  big: { symbol: '!', label: '> 10 % off' },
  missing: { symbol: '∅', label: 'missing (truth has it)' },
  extra: { symbol: '+', label: 'extra (no truth)' },
  na: { symbol: '', label: 'not this layer’s window' },
  none: { symbol: '', label: 'no data' },
};

/**
 * A cell's verdict for one layer (a key of VERDICTS). A layer without a value and without a cause
 * does not answer for that window by design (the speed layer below the batch boundary, the batch
 * layer above it): it is neutral, not "missing".
 */
export function cellVerdict(cell, layer) {
  if (!cell) return 'none';
  const v = cell.values?.[layer];
  const t = cell.truth;
  if (v === undefined || v === null)
    return cell.causes?.[layer] && t !== null && t !== undefined ? 'missing' : 'na';
  if (t === null || t === undefined) return 'extra';
  if (v === t) return 'correct';
  const rel = Math.abs(v - t) / Math.max(1, Math.abs(t));
  return rel < 0.02 ? 'small' : rel <= 0.1 ? 'mid' : 'big';
}

/** The window is still open: its values still move. */
const isOpen = (cell, layer) => cell?.causes?.[layer] === 'window-open' || cell?.closed === false;

/** A cell's classes for one layer: c-<verdict>, plus c-open while the window is open. */
export function cellClass(cell, layer) {
  const verdict = cellVerdict(cell, layer);
  return `${verdict === 'none' ? '' : `c-${verdict}`}${isOpen(cell, layer) ? ' c-open' : ''}`;
}

/** A verdict's symbol in a cell or a legend swatch, hidden from screen readers (they read the words). */
const symbol = (verdict) =>
  VERDICTS[verdict].symbol
    ? h('span', { class: 'sym', 'aria-hidden': 'true' }, VERDICTS[verdict].symbol)
    : null;

/** How far a layer is off in a cell; 0 when it agrees, does not answer it, or the window is still open. */
function divergenceOf(cell, layer) {
  const cause = cell.causes?.[layer];
  if (!cause || cause === 'window-open') return 0;
  const d = cell.differences?.[layer];
  if (d === null || d === undefined) return Math.abs(cell.truth ?? 0) || 1;
  return Math.abs(d);
}

export function initDivergence({ on, labNow }) {
  const grid = $('div-grid');
  const stateEl = $('div-state');
  const detail = $('div-detail');
  let answer = null;
  let selected = null; // { campaign_id, window_start }
  let loading = false;
  let available = null; // the /api/divergence route exists (told by the stream's hello)
  let stickRight = true;
  $('div-grid-wrap').addEventListener('scroll', (e) => {
    const w = e.currentTarget;
    stickRight = w.scrollLeft + w.clientWidth >= w.scrollWidth - 4;
  });

  fill(
    $('div-legend'),
    Object.entries(VERDICTS).map(([verdict, { label }]) =>
      h(
        'li',
        {},
        h(
          'span',
          { class: `swatch cell ${verdict === 'none' ? '' : `c-${verdict}`}`, dataset: { verdict } },
          symbol(verdict),
        ),
        ' ',
        label,
      ),
    ),
    h('li', {}, h('span', { class: 'swatch cell c-open' }), ' window still open'),
  );

  const range = () => {
    const now = labNow();
    if (now === null) return null;
    const n = Number($('div-windows').value);
    const to = Math.floor(now / WINDOW_MS) * WINDOW_MS + WINDOW_MS;
    return { from: to - n * WINDOW_MS, to };
  };

  const showState = (text, error = false) => {
    stateEl.hidden = !text;
    stateEl.textContent = text ?? '';
    stateEl.className = error ? 'empty error' : 'empty';
  };

  const load = async () => {
    if (loading || available === false) return;
    const r = range();
    if (!r) return;
    loading = true;
    const metric = $('div-metric').value;
    try {
      answer = await api(`/api/divergence?metric=${metric}&from=${r.from}&to=${r.to}`);
      render();
    } catch (err) {
      showState(`The divergence answer failed: ${err.message}`, true);
    } finally {
      loading = false;
    }
  };

  const render = () => {
    if (!answer) return;
    const layer = $('div-layer').value;
    const r = { from: answer.from, to: answer.to };
    const windows = [];
    for (let w = r.from; w < r.to; w += WINDOW_MS) windows.push(w);
    const byCampaign = new Map();
    for (const c of answer.cells) {
      if (!byCampaign.has(c.campaign_id)) byCampaign.set(c.campaign_id, new Map());
      byCampaign.get(c.campaign_id).set(c.window_start, c);
    }
    if (byCampaign.size === 0) {
      fill(grid);
      showState('No windows in this range yet: no events for the last minutes (is the generator running?).');
      return;
    }
    const score = (m) => [...m.values()].reduce((s, c) => s + divergenceOf(c, layer), 0);
    let campaigns = [...byCampaign.entries()].map(([id, m]) => ({ id, m, s: score(m) }));
    campaigns.sort((a, b) => b.s - a.s || a.id.localeCompare(b.id));
    const rows = $('div-rows').value;
    if (rows !== 'all') campaigns = campaigns.slice(0, Number(rows));
    const diverging = [...byCampaign.values()].reduce(
      (n, m) => n + [...m.values()].filter((c) => divergenceOf(c, layer) > 0).length,
      0,
    );
    showState(null);
    // the cell in the tab order (and focus, if the grid has it) survives the re-render
    const hadFocus = grid.contains(document.activeElement);
    const stop = nav.stop()?.dataset;
    grid.style.gridTemplateColumns = `auto repeat(${windows.length}, minmax(24px, 1fr))`;
    const labelEvery = Math.max(1, Math.ceil(windows.length / 12));
    fill(
      grid,
      // One header row: the campaign column (with the count of cells off), then every window; a
      // window without a visible label still names itself to screen readers.
      h(
        'div',
        { class: 'grid-row', role: 'row' },
        h(
          'div',
          {
            class: 'rowhead muted',
            id: 'div-count',
            role: 'columnheader',
            title: 'cells where this layer differs from the truth (open windows not counted)',
          },
          h('span', { class: 'sr-only' }, 'campaign, '),
          `${diverging} off`,
        ),
        windows.map((w, i) =>
          h(
            'div',
            { class: 'colhead', role: 'columnheader' },
            i % labelEvery === 0 ? clock(w) : h('span', { class: 'sr-only' }, clock(w)),
          ),
        ),
      ),
      campaigns.map(({ id, m }) =>
        h(
          'div',
          { class: 'grid-row', role: 'row' },
          h('div', { class: 'rowhead', title: id, role: 'rowheader' }, id.slice(0, 8)),
          windows.map((w) => {
            const c = m.get(w);
            const isSel = selected && selected.campaign_id === id && selected.window_start === w;
            const v = c?.values?.[layer];
            const verdict = cellVerdict(c, layer);
            const open = isOpen(c, layer);
            const where = `campaign ${id.slice(0, 8)}, window ${clock(w)}`;
            return h(
              'div',
              {
                class: `cell ${cellClass(c, layer)}${isSel ? ' selected' : ''}`,
                role: 'gridcell',
                tabindex: '-1',
                'aria-selected': isSel ? 'true' : 'false',
                title: c
                  ? `${id.slice(0, 8)} · ${clock(w)} · ${LAYER_NAMES[layer]} ${v ?? '—'} vs truth ${c.truth ?? '—'}`
                  : `${id.slice(0, 8)} · ${clock(w)}: no data`,
                'aria-label': `${where}: ${VERDICTS[verdict].label}${open ? ', window still open' : ''}`,
                dataset: { campaign: id, window: w, verdict },
              },
              symbol(verdict),
            );
          }),
        ),
      ),
    );
    nav.restore(
      [
        stop && cellAt(stop.campaign, stop.window),
        selected && cellAt(selected.campaign_id, selected.window_start),
      ],
      hadFocus,
    );
    // newest windows are on the right: keep them in view on narrow screens unless the user scrolled
    const wrap = $('div-grid-wrap');
    if (stickRight) wrap.scrollLeft = wrap.scrollWidth;
    if (selected) renderDetail();
  };

  const cellAt = (campaign, window) =>
    grid.querySelector(`[role="gridcell"][data-campaign="${campaign}"][data-window="${window}"]`);

  const select = (cell) => {
    selected = cell;
    for (const el of grid.querySelectorAll('.cell.selected')) {
      el.classList.remove('selected');
      el.setAttribute('aria-selected', 'false');
    }
    const el = cellAt(cell.campaign_id, cell.window_start);
    el?.classList.add('selected');
    el?.setAttribute('aria-selected', 'true');
    renderDetail(true);
  };

  // Enter, Space and a click open a cell's detail; the arrow keys move between cells
  const nav = rovingGrid(grid, {
    activate: (el) => select({ campaign_id: el.dataset.campaign, window_start: Number(el.dataset.window) }),
  });

  const provenance = new Map();
  const loadProvenance = async (cell, metric) => {
    const key = `${cell.campaign_id}/${cell.window_start}/${metric}`;
    const q = `metric=${metric}&from=${cell.window_start}&to=${cell.window_start + WINDOW_MS}&campaign=${cell.campaign_id}`;
    const out = {};
    for (const archName of ['lambda', 'kappa']) {
      try {
        const a = await api(`/api/views?arch=${archName}&${q}`);
        out[archName] = a.windows.find((w) => w.window_start === cell.window_start) ?? null;
      } catch (err) {
        out[archName] = { error: err.message };
      }
    }
    provenance.set(key, out);
    if (selected && `${selected.campaign_id}/${selected.window_start}/${$('div-metric').value}` === key)
      renderDetail();
  };

  const renderDetail = (fresh = false) => {
    if (!selected || !answer) return;
    const metric = answer.metric;
    const cell = answer.cells.find(
      (c) => c.campaign_id === selected.campaign_id && c.window_start === selected.window_start,
    );
    const key = `${selected.campaign_id}/${selected.window_start}/${metric}`;
    if (fresh || !provenance.has(key)) {
      if (fresh) provenance.delete(key);
      if (!provenance.has(key)) {
        provenance.set(key, null);
        loadProvenance(selected, metric);
      }
    }
    const prov = provenance.get(key);
    const marks = marksList().filter((m) => m.at >= selected.window_start - 5 * 60_000);
    const causes = cell ? Object.entries(cell.causes ?? {}) : [];
    fill(
      detail,
      h(
        'h3',
        { id: 'div-detail-title', class: 'detail-title' },
        `Campaign ${selected.campaign_id.slice(0, 8)}… · window ${clock(selected.window_start)}–${clock(selected.window_start + WINDOW_MS)}`,
      ),
      h(
        'div',
        { class: 'muted', style: 'font-size:0.78rem;overflow-wrap:anywhere' },
        `${selected.campaign_id} · ${metric} · truth with logic v${answer.truthLogicVersion}`,
      ),
      !cell
        ? h('p', { class: 'muted' }, 'No layer and no truth has this window.')
        : h(
            'table',
            { class: 'compact', id: 'div-detail-values' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'layer'),
                h('th', { class: 'num' }, 'value'),
                h('th', { class: 'num' }, '− truth'),
                h('th', {}, 'logic'),
                h('th', {}, 'cause'),
              ),
            ),
            h(
              'tbody',
              {},
              h(
                'tr',
                { dataset: { layer: 'truth' } },
                h('th', {}, 'truth (oracle)'),
                h('td', { class: 'num' }, cell.truth === null ? '—' : int(cell.truth)),
                h('td', {}, ''),
                h('td', {}, `v${answer.truthLogicVersion}`),
                h('td', {}, ''),
              ),
              LAYERS.filter((l) => l in (cell.values ?? {})).map((l) =>
                h(
                  'tr',
                  { dataset: { layer: l } },
                  h(
                    'th',
                    {},
                    h('span', { class: 'swatch', style: `background:${COLORS[l]}` }),
                    LAYER_NAMES[l],
                  ),
                  h('td', { class: 'num' }, cell.values[l] === null ? 'none' : int(cell.values[l])),
                  h(
                    'td',
                    { class: 'num' },
                    cell.differences?.[l] === null || cell.differences?.[l] === undefined
                      ? '—'
                      : `${cell.differences[l] > 0 ? '+' : ''}${int(cell.differences[l])}`,
                  ),
                  h('td', {}, cell.logicVersions?.[l] ? `v${cell.logicVersions[l]}` : ''),
                  h('td', {}, cell.causes?.[l] ?? (cell.values[l] === null ? 'not its window' : '')),
                ),
              ),
            ),
          ),
      cell?.truthByLogic && Object.keys(cell.truthByLogic).length > 1
        ? h(
            'p',
            { class: 'muted', style: 'font-size:0.8rem' },
            `truth under each logic version: ${Object.entries(cell.truthByLogic)
              .map(([v, x]) => `v${v} = ${int(x)}`)
              .join(', ')}`,
          )
        : null,
      cell?.lateViews
        ? h(
            'p',
            { style: 'font-size:0.8rem' },
            `${int(cell.lateViews)} view${cell.lateViews === 1 ? '' : 's'} of this cell reached the log after the window had closed (late events).`,
          )
        : null,
      causes.length
        ? [...new Set(causes.map(([, c]) => c))].map((c) =>
            h(
              'div',
              { class: 'cause', dataset: { cause: c } },
              h(
                'strong',
                {},
                `${c} — ${causes
                  .filter(([, x]) => x === c)
                  .map(([l]) => LAYER_NAMES[l] ?? l)
                  .join(', ')}. `,
              ),
              CAUSES[c] ?? '',
            ),
          )
        : cell
          ? h('p', { class: 'muted' }, 'Every layer agrees with the truth here.')
          : null,
      h('h4', {}, 'Served answers (provenance)'),
      prov === null || prov === undefined
        ? h('p', { class: 'muted' }, 'Loading GET /api/views…')
        : h(
            'ul',
            {},
            ['lambda', 'kappa'].map((a) => {
              const w = prov[a];
              if (!w) return h('li', {}, `${a}: no window served`);
              if (w.error) return h('li', {}, `${a}: ${w.error}`);
              return h(
                'li',
                {},
                `${a}: ${int(w.value)} from the ${w.source} layer, version ${w.version}, logic v${w.logicVersion}`,
              );
            }),
          ),
      h('h4', {}, 'Events around this window'),
      marks.length
        ? h(
            'ul',
            {},
            marks
              .slice(-12)
              .map((m) =>
                h(
                  'li',
                  {},
                  h('span', { class: 'swatch', style: `background:${markColor(m.kind)}` }),
                  `${clock(m.at)} ${m.label}`,
                ),
              ),
          )
        : h(
            'p',
            { class: 'muted' },
            'No batch run, deploy, crash or replay since 5 minutes before this window.',
          ),
    );
  };

  on('hello', (hello) => {
    available = hello.routes?.divergence ?? hello.measurement;
    if (!available) {
      showState(
        'The divergence inspector needs the measurement API (GET /api/divergence), which this lab does not serve yet.',
        true,
      );
      fill(grid);
    } else {
      showState('Loading…');
      setTimeout(load, 50);
    }
  });
  let ticks = 0;
  on('live', () => {
    ticks++;
    if (answer === null || ($('div-follow').checked && ticks % 3 === 0)) load();
  });
  for (const id of ['div-metric', 'div-windows']) $(id).addEventListener('change', () => load());
  for (const id of ['div-layer', 'div-rows']) $(id).addEventListener('change', () => render());
}
