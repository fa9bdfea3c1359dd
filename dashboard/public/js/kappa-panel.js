/** Kappa controls: start a replay, per-partition progress with rate and ETA, switch over, roll back, abort, the jobs. */
import { api } from './api.js';
import { logicLabel } from './logic-versions.js';
import { $, clock, dur, feedback, fill, h, int, pct } from './dom.js';
import { initKappaCutover } from './kappa-cutover.js';
import { initKappaVerify, showVerification } from './kappa-verify.js';

const ENDED = new Set(['retired', 'aborted']);

function fact(label, value, id) {
  return h('div', {}, h('dt', {}, label), h('dd', id ? { id } : {}, value));
}

function partition(job, p) {
  // progress against the snapshot while replaying; afterwards (live, grace) the lag to the log end
  const isReplay =
    (job.state === 'replaying' || job.state === 'caught-up') && p.snapshotEnd !== null && p.progress !== null;
  const share = isReplay ? p.progress : p.end > 0 ? Math.min(1, p.position / p.end) : 1;
  return h(
    'div',
    { class: 'part', dataset: { partition: p.partition } },
    h(
      'div',
      { class: 'row' },
      h('span', {}, `partition ${p.partition}`),
      h('span', {}, isReplay ? pct(share) : `lag ${int(p.lag)}`),
    ),
    h('progress', {
      max: 1,
      value: Math.max(0, Math.min(1, share ?? 0)),
      'aria-label': `job ${job.id} partition ${p.partition}: ${int(p.position)} of ${int(isReplay ? p.snapshotEnd : p.end)}`,
    }),
    h(
      'div',
      { class: 'row' },
      h('span', {}, `${int(p.position)} / ${int(isReplay ? p.snapshotEnd : p.end)}`),
      h(
        'span',
        {},
        `${int(p.rate)} ev/s · ETA ${p.etaMs === null ? (p.lag === 0 ? 'caught up' : '—') : dur(p.etaMs)}`,
      ),
    ),
  );
}

function jobCard(job, view, act) {
  const canAbort = job.state === 'replaying' || job.state === 'caught-up';
  return h(
    'article',
    {
      class: `job${job.active ? ' active' : ''}`,
      dataset: { job: job.id, state: job.state },
      'aria-label': `Kappa job ${job.id}`,
    },
    h(
      'div',
      { class: 'job-head' },
      h('strong', {}, `Job ${job.id}`),
      h('span', { class: `state state-${job.state}` }, job.state),
      job.active ? h('span', { class: 'badge-active' }, 'active') : null,
      h(
        'span',
        { class: 'muted grow' },
        `logic v${job.logicVersion} · ${job.table} · ${job.kind === 'replay' ? (job.source === 'archive' ? 'replay from the archive, then the log' : 'replay') : 'initial'}`,
      ),
      canAbort
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger small',
              onclick: () => act.abort(job.id),
              'aria-label': `Abort replay job ${job.id}`,
            },
            'Abort',
          )
        : null,
    ),
    h(
      'div',
      { class: 'job-meta' },
      `lag ${int(job.lag)} · ${int(job.rate)} ev/s · ETA ${job.etaMs === null ? '—' : dur(job.etaMs)} · processed ${int(job.counters?.processed)}` +
        ` · late ${int(job.counters?.late)} · dropped ${int(job.counters?.dropped)}` +
        (job.kind === 'replay'
          ? ` · ${job.parallelism} thread${job.parallelism === 1 ? '' : 's'}${job.rateLimit ? ` · limit ${int(job.rateLimit)} ev/s` : ''}`
          : '') +
        (job.catchUp && job.state === 'replaying'
          ? ` · ${job.catchUp.passedSnapshot ? `lag under threshold for ${dur(job.catchUp.heldMs)}` : `${job.catchUp.behindSnapshot.length} partitions behind the snapshot`}`
          : '') +
        (job.caughtUpAt ? ` · caught up ${clock(job.caughtUpAt)}` : '') +
        (job.state === 'grace' && job.retireAt ? ` · retired at ${clock(job.retireAt)}` : ''),
    ),
    job.warnings?.length
      ? h('div', { class: 'job-meta', style: 'color:#b45309' }, `warnings: ${job.warnings.join('; ')}`)
      : null,
    job.runner?.lastError
      ? h('div', { class: 'job-meta', style: 'color:#b91c1c' }, `error: ${job.runner.lastError}`)
      : null,
    ENDED.has(job.state)
      ? null
      : h(
          'div',
          { class: 'parts' },
          job.partitions.map((p) => partition(job, p)),
        ),
  );
}

/** One source's line of the pre-flight: possible or not, and why. */
function sourceVerdict(source, possible, text) {
  return h(
    'li',
    { class: possible ? 'possible' : 'impossible', dataset: { source, possible: String(possible) } },
    h('span', { class: 'verdict' }, `${source}: ${possible ? 'possible' : 'not possible'}`),
    text ? ` — ${text}` : null,
  );
}

/** GET /api/kappa/replays/preflight as the replay dialog shows it: which sources can replay, and why not. */
function preflightList(pre) {
  const { log, archive, choice } = pre.options;
  const cut = archive.partitions.map((p) => `${p.partition}: ${int(p.cutover)}`).join(', ');
  return h(
    'ul',
    {},
    sourceVerdict(
      'log',
      log.possible,
      log.possible ? 'the log holds every partition from offset 0' : log.problems.join('; '),
    ),
    sourceVerdict(
      'archive',
      archive.possible,
      archive.possible
        ? `the master dataset up to the cut-over (partition ${cut}), then ${int(archive.fromLog)} events from the log` +
            (archive.warnings.length ? `; ${archive.warnings.join('; ')}` : '')
        : archive.problems.join('; '),
    ),
    h(
      'li',
      { dataset: { source: 'auto', choice } },
      h('span', { class: 'verdict' }, 'auto: '),
      choice === 'refuse'
        ? 'refuses — neither source holds the whole history (force replays what the log has left)'
        : `replays from the ${choice}`,
    ),
  );
}

export function initKappa({ on }) {
  const fb = $('kappa-feedback');
  const versions = $('replay-version');
  let known = '';
  let view = null;
  const verify = initKappaVerify();
  const cutover = initKappaCutover();

  const radios = [...document.querySelectorAll('#replay-source input[name="source"]')];
  let sourcePicked = false;
  for (const r of radios) r.addEventListener('change', () => (sourcePicked = true));
  const pre = { at: -Infinity, pending: false };
  /** Re-checks the pre-flight (at most every 5 s unless `now`): the verdicts, the archive option, the default source. */
  const refreshPreflight = async (now = false) => {
    if (pre.pending || (!now && performance.now() - pre.at < 5_000)) return;
    pre.pending = true;
    try {
      const p = await api('/api/kappa/replays/preflight');
      fill($('replay-preflight'), preflightList(p));
      const archive = $('replay-source-archive');
      archive.disabled = !p.options.archive.possible;
      if (archive.disabled && archive.checked) $('replay-source-log').checked = true;
      // Until the user picks one, the dialog offers what 'auto' would do.
      if (!sourcePicked && p.options.choice !== 'refuse')
        $(`replay-source-${p.options.choice}`).checked = true;
    } catch (err) {
      fill($('replay-preflight'), h('p', { class: 'muted' }, `Pre-flight unavailable: ${err.message}`));
    } finally {
      pre.at = performance.now();
      pre.pending = false;
    }
  };

  const run = async (label, fn) => {
    try {
      const out = await fn();
      feedback(fb, label(out));
    } catch (err) {
      feedback(fb, err.message, false);
    }
    void refreshPreflight(true);
  };
  const act = {
    abort: (id) =>
      run(
        () => `Replay job ${id} aborted; its table, consumer group and offsets are removed.`,
        () => api(`/api/kappa/replays/${id}/abort`, { method: 'POST' }),
      ),
  };

  const render = (v) => {
    view = v;
    const key = v.availableLogicVersions.join(',');
    if (key !== known) {
      known = key;
      const current = versions.value;
      fill(
        versions,
        v.availableLogicVersions.map((n) => h('option', { value: String(n) }, logicLabel(n))),
      );
      versions.value = v.availableLogicVersions.map(String).includes(current)
        ? current
        : String(v.availableLogicVersions.at(-1));
    }
    const active = v.jobs.find((j) => j.id === v.active);
    const candidate = v.jobs.find((j) => j.state === 'replaying' || j.state === 'caught-up');
    const previous = v.jobs.find((j) => j.id === v.previous && j.state === 'grace');
    fill(
      $('kappa-facts'),
      fact(
        'active job',
        active ? `job ${active.id} (logic v${active.logicVersion})` : 'none',
        'kappa-active',
      ),
      fact(
        'replay',
        candidate ? `job ${candidate.id}: ${candidate.state}` : 'none running',
        'kappa-candidate',
      ),
      fact('previous (rollback)', previous ? `job ${previous.id} until ${clock(previous.retireAt)}` : '—'),
      fact('switched over', v.switchedAt ? clock(v.switchedAt) : '—'),
      fact('switchover', v.settings.autoSwitchover ? 'automatic when caught up' : 'manual'),
    );
    verify.update(v);
    cutover.update(v);
    const sw = $('switchover-btn');
    sw.disabled = !candidate || candidate.state !== 'caught-up';
    $('rollback-btn').disabled = !previous;
    $('replay-btn').disabled = !!candidate;
    $('kappa-actions-hint').textContent = candidate
      ? candidate.state === 'caught-up'
        ? `job ${candidate.id} has caught up: switch readers to it`
        : `job ${candidate.id} is replaying; switch over once it has caught up`
      : previous
        ? `roll back to job ${previous.id} during its grace period`
        : 'start a replay to change the logic';

    const running = v.jobs.filter((j) => !ENDED.has(j.state));
    const ended = v.jobs.filter((j) => ENDED.has(j.state));
    fill(
      $('kappa-jobs'),
      running.length === 0
        ? h('p', { class: 'empty' }, 'No Kappa job is running.')
        : running.map((j) => jobCard(j, v, act)),
      ended.length
        ? h(
            'details',
            { class: 'ended' },
            h('summary', {}, `${ended.length} ended job${ended.length > 1 ? 's' : ''}`),
            ended.map((j) => jobCard(j, v, act)),
          )
        : null,
    );
  };
  on('kappa', (v) => {
    render(v);
    void refreshPreflight();
  });
  fill($('kappa-jobs'), h('p', { class: 'empty' }, 'Loading the jobs…'));
  void refreshPreflight(true);

  $('replay-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const logicVersion = Number(versions.value);
    const rateLimit = Math.max(0, Math.floor(Number($('replay-rate').value) || 0));
    const force = $('replay-force').checked;
    const source = radios.find((r) => r.checked)?.value ?? 'log';
    $('replay-btn').disabled = true;
    run(
      (job) =>
        `Replay started: job ${job.id} with logic v${job.logicVersion} reads ${
          job.source === 'archive'
            ? "the archive (the batch layer's master dataset) up to the cut-over, then the log,"
            : 'the log from offset 0'
        } into ${job.table ?? `kappa_v${job.id}`}` +
        (job.warnings?.length ? ` (warnings: ${job.warnings.join('; ')})` : '.'),
      () => api('/api/kappa/replays', { method: 'POST', body: { logicVersion, force, rateLimit, source } }),
    );
  });
  $('switchover-btn').addEventListener('click', async () => {
    try {
      const mode = cutover.mode();
      const p = await api('/api/kappa/switchover', { method: 'POST', body: { mode } });
      const v = p.verification;
      feedback(
        fb,
        `Switched over (${mode}): readers now use job ${p.job} (logic v${p.logicVersion}); job ${p.previous ?? '—'} stays for the grace period. Verification: ${v?.verdict ?? '—'}${v && v.verdict !== 'passed' ? ` (${v.reason})` : ''}.`,
      );
      void cutover.refresh();
    } catch (err) {
      // A refusal by the gate carries the verdict: the reason is the server's, the histogram its diffs.
      feedback(fb, err.message, false);
      if (err.details?.verification) showVerification(err.details.verification);
    }
  });
  $('rollback-btn').addEventListener('click', () =>
    run(
      (p) => `Rolled back: readers use job ${p.job} again.`,
      () => api('/api/kappa/rollback', { method: 'POST' }),
    ),
  );
  return () => view;
}
