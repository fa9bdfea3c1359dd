/**
 * The divergence inspector's detail of one cell: every layer's value beside the truth, the causes,
 * the served answers' provenance (GET /api/views) and the timeline marks around the window.
 */
import { clock, h, int } from './dom.js';
import { CAUSES, LAYERS, LAYER_NAMES, WINDOW_MS } from './divergence-verdicts.js';
import { COLORS, markColor } from './overview.js';

/**
 * The detail's nodes for the selected (campaign, window): `cell` from the divergence answer (or
 * undefined), `prov` the served answers per architecture (null while loading), `marks` the
 * timeline marks to list.
 */
export function cellDetail({ selected, cell, answer, prov, marks }) {
  const metric = answer.metric;
  const causes = cell ? Object.entries(cell.causes ?? {}) : [];
  return [
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
                h('th', {}, h('span', { class: 'swatch', style: `background:${COLORS[l]}` }), LAYER_NAMES[l]),
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
  ];
}
