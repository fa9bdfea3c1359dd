/** Tiny DOM and formatting helpers (no framework; text is always set as text, never as HTML). */

/**
 * Creates an element: h('td', { class: 'num', title: 'x' }, 'text', childNode).
 * Attributes starting with "on" are listeners; `false`/`null`/`undefined` attributes are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (id) => document.getElementById(id);

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const twoFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function int(n) {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : intFmt.format(n);
}

export function num(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return (digits === 2 ? twoFmt : oneFmt).format(n);
}

export function pct(share) {
  return share === null || share === undefined ? '—' : `${oneFmt.format(share * 100)} %`;
}

/** 1234 ms → "1.2 s", 95_000 → "1 min 35 s". */
export function dur(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const sign = ms < 0 ? '−' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return `${sign}${intFmt.format(ms)} ms`;
  if (ms < 60_000) return `${sign}${oneFmt.format(ms / 1000)} s`;
  if (ms < 3_600_000) return `${sign}${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${sign}${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

export function bytes(b) {
  if (b === null || b === undefined) return '—';
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${oneFmt.format(b / 1024)} KiB`;
  if (b < 1024 ** 3) return `${oneFmt.format(b / 1024 ** 2)} MiB`;
  return `${twoFmt.format(b / 1024 ** 3)} GiB`;
}

/** Event-time or wall-clock ms → "HH:MM:SS" (local time). */
export function clock(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}

/** Sets a feedback line: ok (green) or error (red). */
export function feedback(el, text, ok = true) {
  el.textContent = text;
  el.className = `feedback ${ok ? 'ok' : 'bad'}`;
}

/**
 * Fills `table` with a side-by-side table: a header row "figure | Lambda | Kappa" and one row per
 * [label, f, title?], where f formats one architecture's figures (L or K may be absent: —).
 */
export function archTable(table, L, K, rows) {
  fill(
    table,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'figure')),
        h('th', { class: 'num', scope: 'col' }, 'Lambda'),
        h('th', { class: 'num', scope: 'col' }, 'Kappa'),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map(([label, f, title]) =>
        h(
          'tr',
          title ? { title } : {},
          h('th', { scope: 'row' }, label),
          h('td', { class: 'num' }, L ? f(L) : '—'),
          h('td', { class: 'num' }, K ? f(K) : '—'),
        ),
      ),
    ),
  );
}
