/**
 * Scenario runner: shown only when GET /api/scenarios answers 200 (the scenarios plugin is
 * served); otherwise the panel stays hidden. Start a scenario, follow its runs: narrative and
 * expectations as they turn green or red.
 */
import { api } from './api.js';
import { $, clock, feedback, fill, h } from './dom.js';

const list = (x, key) => (Array.isArray(x) ? x : Array.isArray(x?.[key]) ? x[key] : []);

function expectationRow(e) {
  const status = String(e.status ?? e.verdict ?? e.state ?? 'pending').toLowerCase();
  const ok = ['pass', 'passed', 'met', 'green', 'true', 'ok'].includes(status);
  const bad = ['fail', 'failed', 'unmet', 'red', 'false'].includes(status);
  return h(
    'li',
    { style: `color:${ok ? '#15803d' : bad ? '#b91c1c' : '#5b6678'}` },
    `${ok ? '✔' : bad ? '✘' : '…'} ${e.description ?? e.text ?? e.metric ?? JSON.stringify(e)}`,
  );
}

function runView(run) {
  const narrative = list(run.narrative ?? run.beats, 'beats');
  const expectations = list(run.expectations, 'expectations');
  return h(
    'div',
    { class: 'scenario', dataset: { run: run.id ?? run.runId } },
    h('strong', {}, `Run ${run.id ?? run.runId ?? ''} · ${run.scenario ?? run.scenarioId ?? ''}`),
    ' ',
    h('span', { class: 'state' }, run.state ?? run.status ?? ''),
    narrative.length
      ? h(
          'ol',
          { style: 'font-size:0.8rem;margin:4px 0;padding-left:18px' },
          narrative
            .slice(-6)
            .map((b) =>
              h(
                'li',
                {},
                typeof b === 'string' ? b : `${b.at ? `${clock(b.at)} ` : ''}${b.text ?? b.message ?? ''}`,
              ),
            ),
        )
      : null,
    expectations.length
      ? h(
          'ul',
          { style: 'font-size:0.8rem;margin:4px 0;padding-left:18px;list-style:none' },
          expectations.map(expectationRow),
        )
      : null,
  );
}

export function initScenarios({ on }) {
  const panel = $('scenarios');
  const body = $('scenario-body');
  const fb = $('scenario-feedback');
  let scenarios = null;
  const runs = new Map();

  const hide = () => {
    panel.hidden = true;
    $('nav-scenarios').hidden = true;
  };

  const render = () => {
    fill(
      body,
      scenarios.length === 0
        ? h('p', { class: 'empty' }, 'No scenario is defined in scenarios/.')
        : h(
            'div',
            { class: 'scenario-list' },
            scenarios.map((s) =>
              h(
                'div',
                { class: 'scenario', dataset: { scenario: s.id } },
                h('strong', {}, s.title ?? s.id),
                h('p', {}, s.goal ?? s.learningGoal ?? s.description ?? ''),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    onclick: () => start(s.id),
                    'aria-label': `Start scenario ${s.title ?? s.id}`,
                  },
                  'Start',
                ),
                (runs.get(s.id) ?? []).slice(0, 3).map(runView),
              ),
            ),
          ),
    );
  };

  const loadRuns = async () => {
    if (!scenarios) return;
    for (const s of scenarios) {
      try {
        runs.set(s.id, list(await api(`/api/scenarios/${encodeURIComponent(s.id)}/runs`), 'runs'));
      } catch {
        // the runs of a scenario are optional; its card still shows
      }
    }
    render();
  };

  const start = async (id) => {
    try {
      const run = await api(`/api/scenarios/${encodeURIComponent(id)}/runs`, { method: 'POST', body: {} });
      feedback(fb, `Scenario ${id} started${run?.id ? ` (run ${run.id})` : ''}.`);
      await loadRuns();
    } catch (err) {
      feedback(fb, `Scenario ${id} did not start: ${err.message}`, false);
    }
  };

  on('hello', async (hello) => {
    if (!hello.routes?.scenarios) return hide();
    try {
      scenarios = list(await api('/api/scenarios'), 'scenarios');
    } catch {
      return hide();
    }
    panel.hidden = false;
    $('nav-scenarios').hidden = false;
    render();
    loadRuns();
  });
  let ticks = 0;
  on('live', () => {
    if (scenarios && ++ticks % 3 === 0) loadRuns();
  });
}
