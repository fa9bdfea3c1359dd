/** Lambda controls: deploy a logic version to the batch and/or the speed layer, run a batch now, batch runs. */
import { api } from './api.js';
import { logicLabel } from './logic-versions.js';
import { $, clock, dur, feedback, fill, h, int } from './dom.js';

function fact(label, value, id) {
  return h('div', {}, h('dt', {}, label), h('dd', id ? { id } : {}, value));
}

function phaseBar(phases) {
  const parts = ['map', 'shuffle', 'reduce', 'publish'].map((p) => [p, phases?.[p] ?? 0]);
  const total = parts.reduce((s, [, v]) => s + v, 0);
  if (total === 0) return h('div', { class: 'phase-bar', title: 'no phase finished yet' });
  return h(
    'div',
    {
      class: 'phase-bar',
      title: parts.map(([p, v]) => `${p} ${int(v)} ms`).join(' · '),
      role: 'img',
      'aria-label': parts.map(([p, v]) => `${p} ${int(v)} ms`).join(', '),
    },
    parts.map(([p, v]) => h('span', { class: `ph-${p}`, style: `width:${(100 * v) / total}%` })),
  );
}

const ms = (v) => (v === undefined || v === null ? '—' : int(v));

function renderRuns(runs) {
  const table = $('batch-runs');
  if (!runs || runs.length === 0) {
    fill(
      table,
      h(
        'tbody',
        {},
        h(
          'tr',
          {},
          h(
            'td',
            { class: 'muted' },
            'No batch run yet. Runs start on schedule (batch.intervalMs) or with “Run batch now”.',
          ),
        ),
      ),
    );
    return;
  }
  fill(
    table,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          '#',
          'state',
          'trigger',
          'logic',
          'events',
          'map ms',
          'shuffle ms',
          'reduce ms',
          'publish ms',
          'phases',
          'view',
          'boundary',
        ].map((t, i) => h('th', { class: i >= 4 && i <= 8 ? 'num' : '', scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      runs.map((r) =>
        h(
          'tr',
          { dataset: { run: r.id, state: r.state } },
          h('td', {}, r.id),
          h(
            'td',
            { title: r.error ?? '' },
            h(
              'span',
              {
                class: `state state-${r.state === 'completed' ? 'live' : r.state === 'failed' ? 'aborted' : 'replaying'}`,
              },
              r.state,
            ),
          ),
          h('td', {}, r.trigger),
          h('td', {}, `v${r.logicVersion}`),
          h('td', { class: 'num' }, int(r.events)),
          h('td', { class: 'num', dataset: { phase: 'map' } }, ms(r.phases?.map)),
          h('td', { class: 'num', dataset: { phase: 'shuffle' } }, ms(r.phases?.shuffle)),
          h('td', { class: 'num', dataset: { phase: 'reduce' } }, ms(r.phases?.reduce)),
          h('td', { class: 'num' }, ms(r.phases?.publish)),
          h('td', {}, phaseBar(r.phases)),
          h('td', {}, r.viewVersion ? `v${r.viewVersion}` : '—'),
          h('td', {}, r.boundary ? clock(r.boundary) : '—'),
        ),
      ),
    ),
  );
}

function renderFacts(l) {
  fill(
    $('lambda-facts'),
    fact('batch logic', `v${l.batchLogicVersion}`, 'lambda-batch-logic'),
    fact('speed logic', `v${l.speedLogicVersion}`, 'lambda-speed-logic'),
    fact('batch view', l.view ? `v${l.view.version} (logic v${l.view.logicVersion})` : 'none yet'),
    fact('boundary', l.view ? clock(l.view.boundary) : '—'),
    fact('boundary lag', l.boundaryLagMs === null ? '—' : dur(l.boundaryLagMs)),
    fact('master dataset', `${int(l.master.events)} events · ${int(l.master.splits)} splits`),
    fact(
      'speed layer',
      l.speed?.running === false
        ? 'stopped'
        : `${int(l.speed?.processed)} processed · ${int(l.speed?.flushes)} flushes`,
    ),
    l.ingestError ? fact('ingest error', l.ingestError) : null,
  );
}

export function initLambda({ on }) {
  const versions = $('deploy-version');
  let known = '';
  const setVersions = (list) => {
    const key = list.join(',');
    if (key === known) return;
    known = key;
    const current = versions.value;
    fill(
      versions,
      list.map((v) => h('option', { value: String(v) }, logicLabel(v))),
    );
    if (list.map(String).includes(current)) versions.value = current;
    else versions.value = String(list.at(-1));
  };
  setVersions([1, 2]);
  api('/api/lambda')
    .then((l) =>
      setVersions(l.batch.availableLogicVersions.filter((v) => l.speed.availableLogicVersions.includes(v))),
    )
    .catch(() => undefined);

  on('lambda', renderFacts);
  on('batch-runs', renderRuns);
  renderRuns([]);

  const fb = $('lambda-feedback');
  $('deploy-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const logicVersion = Number(versions.value);
    const layers = ['batch', 'speed'].filter((l) => $(`deploy-${l}`).checked);
    if (layers.length === 0) return feedback(fb, 'Pick at least one layer to deploy to.', false);
    const btn = $('deploy-btn');
    btn.disabled = true;
    try {
      for (const layer of layers)
        await api('/api/lambda/deploy', { method: 'POST', body: { layer, logicVersion } });
      feedback(
        fb,
        `Deployed logic v${logicVersion} to the ${layers.join(' and ')} layer${layers.length > 1 ? 's' : ''}.` +
          (layers.length === 1
            ? ' Only one codebase changed: watch the layers diverge.'
            : ' The batch layer applies it at its next run.'),
      );
    } catch (err) {
      feedback(fb, `Deploy failed: ${err.message}`, false);
    } finally {
      btn.disabled = false;
    }
  });
  $('batch-run-btn').addEventListener('click', async () => {
    const btn = $('batch-run-btn');
    btn.disabled = true;
    try {
      const run = await api('/api/lambda/batch-runs', { method: 'POST', body: { trigger: 'dashboard' } });
      feedback(fb, `Batch run ${run.id} requested (${run.state}).`);
    } catch (err) {
      feedback(fb, `Batch run refused: ${err.message}`, false);
    } finally {
      btn.disabled = false;
    }
  });
}
