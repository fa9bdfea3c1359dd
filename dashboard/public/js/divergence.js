/**
 * Divergence inspector: campaign × 10 s window, coloured by one layer's difference from the truth
 * oracle (GET /api/divergence). A cell opens every layer's value, the truth, the cause per layer,
 * the timeline marks around the window and each architecture's provenance (GET /api/views).
 */
import { api } from './api.js';
import { cellDetail } from './divergence-detail.js';
import {
  cellClass,
  cellVerdict,
  divergenceOf,
  isOpen,
  LAYER_NAMES,
  symbol,
  VERDICTS,
  WINDOW_MS,
} from './divergence-verdicts.js';
import { $, clock, fill, h } from './dom.js';
import { marksList } from './overview.js';
import { rovingGrid } from './roving-grid.js';

export { CAUSES, cellClass, cellVerdict, VERDICTS } from './divergence-verdicts.js';

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
    fill(detail, ...cellDetail({ selected, cell, answer, prov, marks }));
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
