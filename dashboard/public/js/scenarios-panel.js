/**
 * Scenario runner: shown only when GET /api/scenarios answers 200 (the scenarios plugin is
 * served); otherwise the panel stays hidden. Each run gets a lab of its own (fast: virtual clock,
 * deterministic; live: paced in real time, with Pause / Resume). Start a scenario, follow its runs:
 * progress, the narrative as it unfolds, expectations as they turn green or red. Runs are bounded
 * (docs/limits.md): a run without a free slot waits as "queued #n"; Cancel stops a queued or
 * running run (DELETE /api/scenarios/runs/:runId).
 */
import { api } from './api.js';
import { $, feedback, fill, h } from './dom.js';

const list = (x, key) => (Array.isArray(x) ? x : Array.isArray(x?.[key]) ? x[key] : []);

const VERDICT_STYLE = {
  pass: ['✔', '#15803d'],
  fail: ['✘', '#b91c1c'],
  'not-measured': ['?', '#5b6678'],
  pending: ['…', '#5b6678'],
};

function verdictRow(v) {
  const [icon, color] = VERDICT_STYLE[v.status] ?? VERDICT_STYLE.pending;
  return h(
    'li',
    { style: `color:${color}`, title: v.lesson ?? '', dataset: { verdict: v.status } },
    `${icon} ${v.name}`,
    v.detail ? h('span', { class: 'muted' }, ` — ${v.detail}`) : null,
  );
}

/** A run as GET /api/scenarios/runs/:runId answers it (scenarios/scenario-runner.ts ScenarioRunState). */
function runView(run, control) {
  const beats = run.beats ?? [];
  const verdicts = run.verdicts ?? [];
  const p = run.progress ?? { t: 0, duration: 0 };
  return h(
    'div',
    { class: 'scenario', dataset: { run: run.runId } },
    h(
      'div',
      { class: 'job-head' },
      h('strong', {}, `${run.title ?? run.scenarioId}`),
      h(
        'span',
        {
          class: `state state-${run.state === 'completed' ? 'live' : run.state === 'failed' || run.state === 'cancelled' ? 'aborted' : run.state === 'queued' ? 'grace' : 'replaying'}`,
          dataset: { state: run.state },
        },
        run.state === 'queued' && run.position ? `queued #${run.position}` : run.state,
      ),
      run.passed === null || run.passed === undefined
        ? null
        : h(
            'span',
            { class: `state state-${run.passed ? 'passed' : 'failed'}` },
            run.passed ? 'expectations met' : 'expectations failed',
          ),
      run.paused ? h('span', { class: 'state state-grace', dataset: { paused: 'true' } }, 'paused') : null,
      h('span', { class: 'muted' }, `${run.mode ?? ''} · seed ${run.seed ?? '—'}`),
      run.mode === 'live' && run.state === 'running'
        ? h(
            'button',
            {
              type: 'button',
              class: 'small',
              dataset: { action: run.paused ? 'resume' : 'pause' },
              onclick: () => control(run.runId, run.paused ? 'resume' : 'pause'),
              'aria-label': `${run.paused ? 'Resume' : 'Pause'} scenario run ${run.runId}`,
            },
            run.paused ? 'Resume' : 'Pause',
          )
        : null,
      run.state === 'running' || run.state === 'queued'
        ? h(
            'button',
            {
              type: 'button',
              class: 'small',
              dataset: { action: 'cancel' },
              onclick: () => control(run.runId, 'cancel'),
              'aria-label': `Cancel scenario run ${run.runId}`,
            },
            'Cancel',
          )
        : null,
    ),
    h('progress', {
      max: Math.max(1, p.duration),
      value: Math.min(p.t, p.duration),
      'aria-label': `scenario time ${p.t} of ${p.duration} s`,
    }),
    h('div', { class: 'job-meta' }, `${Math.round(p.t)} s of ${p.duration} s`),
    run.error ? h('div', { class: 'job-meta', style: 'color:#b91c1c' }, run.error) : null,
    beats.length
      ? h(
          'ol',
          { class: 'beats', style: 'font-size:0.82rem;margin:4px 0;padding-left:18px' },
          beats
            .slice(-5)
            .map((b) => h('li', {}, h('span', { class: 'muted' }, `${Math.round(b.t)} s `), b.text)),
        )
      : null,
    verdicts.length
      ? h(
          'ul',
          { style: 'font-size:0.8rem;margin:4px 0;padding-left:4px;list-style:none' },
          verdicts.map(verdictRow),
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

  const runsEl = h('div', { id: 'scenario-runs' });
  /** The scenario cards, once (their checkboxes keep what the user ticked). */
  const renderList = () => {
    fill(
      body,
      runsEl,
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
                h('p', {}, s.goal ?? ''),
                h(
                  'p',
                  {},
                  `${s.duration} s of scenario time · ${s.actions} actions · ${s.expectations} expectations` +
                    (s.needsInfrastructure
                      ? ' · stops/starts Kafka or Redis: live against the real stack only'
                      : ''),
                ),
                h(
                  'div',
                  { class: 'controls' },
                  h(
                    'label',
                    { class: 'check' },
                    h('input', {
                      type: 'checkbox',
                      id: `fast-${s.id}`,
                      checked: !s.needsInfrastructure,
                      disabled: !!s.needsInfrastructure,
                    }),
                    ' fast-forward (virtual clock)',
                  ),
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
                ),
              ),
            ),
          ),
    );
  };
  /**
   * Pauses or resumes a live run (POST /api/scenarios/runs/:runId/pause | resume), or cancels a
   * queued or running one (DELETE /api/scenarios/runs/:runId: answers once its lab is stopped).
   */
  const control = async (runId, action) => {
    const path = `/api/scenarios/runs/${encodeURIComponent(runId)}`;
    try {
      runs.set(
        runId,
        action === 'cancel'
          ? await api(path, { method: 'DELETE' })
          : await api(`${path}/${action}`, { method: 'POST' }),
      );
      feedback(fb, `Run ${runId} ${{ pause: 'paused', resume: 'resumed', cancel: 'cancelled' }[action]}.`);
    } catch (err) {
      feedback(fb, `Run ${runId} could not ${action}: ${err.message}`, false);
    }
    render();
  };
  const render = () =>
    fill(
      runsEl,
      runs.size ? h('h3', {}, 'Runs') : null,
      [...runs.values()].reverse().map((r) => runView(r, control)),
    );

  /** Follows the runs started from this page (GET /api/scenarios/runs/:runId) until they end. */
  const loadRuns = async () => {
    for (const [runId, run] of runs) {
      if (run && run.state !== 'running' && run.state !== 'queued') continue;
      try {
        runs.set(runId, await api(`/api/scenarios/runs/${encodeURIComponent(runId)}`));
      } catch (err) {
        runs.set(runId, { runId, state: 'failed', error: err.message, title: run?.title ?? runId });
      }
    }
    render();
  };

  const start = async (id) => {
    try {
      const fast = document.getElementById(`fast-${id}`)?.checked ?? false;
      const run = await api(`/api/scenarios/${encodeURIComponent(id)}/runs`, {
        method: 'POST',
        body: { fast },
      });
      runs.set(run.runId, run);
      feedback(
        fb,
        run.state === 'queued'
          ? `Scenario ${id} queued (run ${run.runId}, #${run.position} of its mode): it starts when a run slot frees.`
          : `Scenario ${id} started (run ${run.runId}).`,
      );
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
    renderList();
    render();
  });
  let ticks = 0;
  on('live', () => {
    if (scenarios && runs.size && ++ticks % 2 === 0) loadRuns();
  });
}
