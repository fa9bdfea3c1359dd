/**
 * The dashboard end to end, in real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core; no browser is ever downloaded) against a real embedded lab on a free port:
 * the page loads with no console error and no request leaving the lab's origin, live numbers move
 * without a reload, a replay started from the page shows progress and is switched over from the
 * page, a divergence cell opens with every layer's value. Screenshots go to test-artifacts/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../lab/create-lab.js';
import type { MetricsSnapshot } from '../measurement/measurement-api.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { deltaField, windowKey } from '../kappa-reprocessor/state/index.js';
import { CHROMIUM, launchChromium, startDashboardLab, type DashboardLab } from './dashboard-lab.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
/** History in the log before the page opens: the replay re-reads all of it. */
const HISTORY = 120_000;
/** Replay rate limit typed into the page (events/s): slow enough to watch progress move. */
const REPLAY_RATE = 30_000;

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

describe.skipIf(!existsSync(CHROMIUM))('dashboard in headless Chromium (embedded lab)', () => {
  let lkl: DashboardLab;
  let lab: Lab;
  let url: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // History ending now (event time = now − HISTORY × 10 ms … now), then live traffic on top.
    lkl = await startDashboardLab(HISTORY, Date.now());
    ({ lab, url } = lkl);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    const origin = new URL(url).origin;
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lkl?.close();
  }, 60_000);

  it('GET /api/stream pushes hello, live figures, Kappa jobs and metrics as Server-Sent Events', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${url}/api/stream`, { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const events = new Map<string, unknown>();
    let buffer = '';
    const deadline = performance.now() + 10_000;
    while (
      !(events.has('live') && events.has('kappa') && events.has('lambda')) &&
      performance.now() < deadline
    ) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const name = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (name && data) events.set(name, JSON.parse(data));
      }
    }
    ctrl.abort();
    const hello = events.get('hello') as { measurement: boolean; routes: Record<string, boolean> };
    expect(hello.routes.divergence).toBe(lab.app.hasRoute({ method: 'GET', url: '/api/divergence' }));
    const live = events.get('live') as { logEnd: number };
    expect(live.logEnd).toBeGreaterThanOrEqual(HISTORY);
    const kappa = events.get('kappa') as {
      active: number;
      jobs: Array<{ id: number; partitions: unknown[] }>;
    };
    expect(kappa.active).toBe(1);
    expect(kappa.jobs[0]!.partitions).toHaveLength(lab.services.config.log.partitions);
    if (hello.measurement) expect(events.has('history') || events.has('metrics')).toBe(true);
  });

  it('loads at / with chart.js from the lab itself, no console error and no external request', async () => {
    const res = await page.goto(url);
    expect(res?.status()).toBe(200);
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    await page.locator('#kappa-jobs [data-job="1"]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe(
      'function',
    );
    // chart.js drew the three time-series charts
    expect(await page.locator('canvas').count()).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.locator('#health-pill').textContent(), { timeout: 15_000 }).toBe('all up');
    // The maintenance table: one row per logic change vN → vN+1, with each architecture's measured lines.
    const metrics = (await lab.app.inject({ url: '/api/metrics' })).json() as MetricsSnapshot;
    const [lambdaM, kappaM] = (['lambda', 'kappa'] as const).map((a) =>
      metrics.maintenance.find((m) => m.arch === a)!,
    );
    expect(lambdaM!.linesChanged.map((x) => `${x.from}-${x.to}`)).toEqual(['1-2', '2-3']);
    for (const step of lambdaM!.linesChanged) {
      const row = page.locator('#maintenance-table tbody tr', {
        hasText: `lines changed by v${step.from} → v${step.to}`,
      });
      const kappaLines = kappaM!.linesChanged.find((x) => x.from === step.from)!.lines;
      await expect
        .poll(() => row.locator('td').allTextContents(), { timeout: 10_000 })
        .toEqual([String(step.lines), String(kappaLines)]);
    }
    await page.waitForTimeout(1500);
    await shot(page, '01-loaded-1280x800');
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('live numbers change without a reload (Server-Sent Events)', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    const read = async () => Number((await page.locator('#kpi-events').textContent())!.replace(/,/g, ''));
    const before = await read();
    expect(before).toBeGreaterThanOrEqual(HISTORY);
    await expect.poll(read, { timeout: 10_000 }).toBeGreaterThan(before);
    const after = await read();
    // the figure is the log's end offset: it matches the lab's own count at that moment (± live traffic)
    const end = (await lab.services.log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0);
    expect(after).toBeLessThanOrEqual(end);
    expect(end - after).toBeLessThan(2_000);
    expect(navigations).toEqual([]);
  });

  it('shows an error state when a dependency is down (GET /api/health) and clears it when it is back', async () => {
    const services = lab.services as { dependencies: typeof lab.services.dependencies };
    const real = services.dependencies.bind(lab.services);
    services.dependencies = async () =>
      (await real()).map((d) =>
        d.name === 'event-log'
          ? { ...d, kind: 'kafka', state: 'down' as const, detail: 'connect ECONNREFUSED 127.0.0.1:19092' }
          : d,
      );
    try {
      const banner = page.locator('#banners .banner-bad', { hasText: 'event-log (kafka) is down' });
      await banner.waitFor({ timeout: 15_000 });
      expect(await banner.textContent()).toContain('ECONNREFUSED');
      expect(await page.locator('#health-pill').textContent()).toBe('1 down');
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, '01b-event-log-down');
    } finally {
      services.dependencies = real;
    }
    await expect.poll(() => page.locator('#health-pill').textContent(), { timeout: 15_000 }).toBe('all up');
    expect(await page.locator('#banners .banner-bad').count()).toBe(0);
  }, 40_000);

  it('runs a batch from the page and lists it with map / shuffle / reduce timings', async () => {
    await page.locator('#batch-run-btn').click();
    await expect
      .poll(() => page.locator('#lambda-feedback').textContent())
      .toMatch(/Batch run \d+ requested/);
    const row = page.locator('#batch-runs tr[data-state="completed"]').first();
    await row.waitFor({ timeout: 60_000 });
    for (const phase of ['map', 'shuffle', 'reduce']) {
      const ms = Number((await row.locator(`td[data-phase="${phase}"]`).textContent())!.replace(/,/g, ''));
      expect(ms, phase).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(ms), phase).toBe(true);
    }
    const run = lab.services.batch.listRuns().find((r) => r.state === 'completed')!;
    expect(run.trigger).toBe('dashboard');
    await expect
      .poll(() => page.locator('#timeline').textContent(), { timeout: 10_000 })
      .toContain(`batch run ${run.id}`);
  }, 90_000);

  it('a replay started from the page shows progress, catches up and is switched over from the page', async () => {
    await page.locator('#replay-version').selectOption('2');
    await page.locator('#replay-rate').fill(String(REPLAY_RATE));
    await page.locator('#replay-btn').click();
    await expect.poll(() => page.locator('#kappa-feedback').textContent()).toContain('Replay started: job 2');
    const job2 = page.locator('#kappa-jobs [data-job="2"]');
    await job2.waitFor({ timeout: 10_000 });

    // Progress bars move: sample the total progress of job 2 while it replays.
    const seen: number[] = [];
    const total = async () =>
      job2
        .locator('progress')
        .evaluateAll((els) => els.reduce((s, e) => s + (e as HTMLProgressElement).value, 0));
    let screenshotTaken = false;
    for (let i = 0; i < 120; i++) {
      const state = await job2.getAttribute('data-state');
      if (state !== 'replaying') break;
      const v = await total();
      seen.push(v);
      if (!screenshotTaken && v > 0.5) {
        await job2.scrollIntoViewIfNeeded();
        await shot(page, '02-replay-progress');
        screenshotTaken = true;
      }
      await page.waitForTimeout(250);
    }
    const partitions = await job2.locator('progress').count();
    expect(partitions).toBe(lab.services.config.log.partitions);
    const intermediate = [...new Set(seen)].filter((v) => v > 0 && v < partitions);
    expect(intermediate.length, `progress samples ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
    // rate and ETA are shown per partition
    expect(await job2.locator('.part').first().textContent()).toMatch(/ev\/s · ETA/);

    await page.locator('#kappa-jobs [data-job="2"][data-state="caught-up"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('#switchover-btn').isEnabled(), { timeout: 5_000 }).toBe(true);
    expect(await page.locator('#kappa-active').textContent()).toContain('job 1');

    // Overview → Replay interference: the replay's limit and rate beside the live readers' p99.
    await expect
      .poll(() => page.locator('#interference-replay').textContent(), { timeout: 20_000 })
      .toMatch(/^Job 2 \(logic v2\), limit 30,000\/s: [\d,]+ events at [\d,]+ events\/s — caught-up$/);
    expect(await page.locator('#interference-table tbody th').allTextContents()).toEqual([
      'final-event p99 before',
      'final-event p99 during',
      'during ÷ before',
      'windows sampled during',
    ]);
    const interference = (await lab.services.measurement!.snapshot()).interference!.replays[0]!;
    expect(interference).toMatchObject({ job: 2, rateLimit: REPLAY_RATE, ended: 'caught-up' });
    expect(interference.events).toBeGreaterThan(0);

    // Before the switch: the gate's verdict and the per-window diff histogram (chart.js).
    const verify = page.locator('#kappa-verify[data-job="2"][data-verdict="passed"]');
    await verify.waitFor({ timeout: 20_000 });
    const bars = () =>
      page.evaluate(() => {
        const Chart = (globalThis as unknown as { Chart: { getChart(id: string): unknown } }).Chart;
        const c = Chart.getChart('chart-verify') as
          { data: { labels: string[]; datasets: Array<{ label: string; data: number[] }> } } | undefined;
        return c
          ? { labels: c.data.labels, sets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) }
          : null;
      });
    const passed = await lab.services.kappa.verification(2);
    await expect.poll(async () => (await bars())?.labels.length ?? 0, { timeout: 5_000 }).toBeGreaterThan(0);
    const ok = (await bars())!;
    expect(ok.sets.map((d) => d.label)).toEqual([
      '|diff| 0',
      '|diff| 1',
      '|diff| 2-9',
      '|diff| 10-99',
      '|diff| 100+',
    ]);
    // every cell of every window in the "0" bucket: the replay equals the truth of logic v2
    expect(ok.sets[0]!.data.every((n) => n > 0)).toBe(true);
    expect(ok.sets.slice(1).every((d) => d.data.every((n) => n === 0))).toBe(true);
    expect(await page.locator('#kappa-verify-windows tbody tr').count()).toBe(ok.labels.length);
    expect(passed.windows.length).toBe(lab.services.config.kappa.verifyWindows);
    await page.locator('#kappa').scrollIntoViewIfNeeded();
    await shot(page, '03a-verification-passed');

    // A wrong replay: 7 views added to its newest verified window through the store. The page's
    // check shows it in the "2-9" bucket, and the switch is refused with the server's reason.
    const bad = passed.windows.at(-1)!.window;
    const corrupt = (views: number, next: number) =>
      lab.services.store.apply({
        sets: [
          {
            key: windowKey(2, bad),
            field: deltaField(0, next),
            value: JSON.stringify({
              t: Date.now(),
              c: [['c-dash', views, []]],
            }),
          },
        ],
      });
    await corrupt(7, 999_999_998);
    await page.locator('#verify-btn').click();
    await page.locator('#kappa-verify[data-verdict="failed"]').waitFor({ timeout: 10_000 });
    const failed = (await bars())!;
    expect(failed.sets[2]!.data.reduce((a, b) => a + b, 0)).toBe(1);
    await page.locator('#switchover-btn').click();
    await expect
      .poll(() => page.locator('#kappa-feedback').textContent(), { timeout: 10_000 })
      .toContain('Switchover refused: job 2 (logic v2) differs from the truth in 1 of the last');
    expect(await page.locator('#kappa-feedback').textContent()).toContain('skipVerification');
    expect(await page.locator('#kappa-verify-windows tr.differs').count()).toBe(1);
    expect(await page.locator('#kappa-active').textContent()).toContain('job 1');
    expect(lab.services.kappa.activeJob).toBe(1);
    // Chromium logs every non-2xx answer; this 409 is the refusal the test asked for, and only it.
    expect(consoleErrors).toEqual([
      'Failed to load resource: the server responded with a status of 409 (Conflict)',
    ]);
    consoleErrors.splice(0);
    await shot(page, '03b-switchover-refused');

    // Undo the damage (a delta of −7 for the same cell), check again: the switch goes through.
    await corrupt(-7, 999_999_999);
    await page.locator('#verify-btn').click();
    await page.locator('#kappa-verify[data-verdict="passed"]').waitFor({ timeout: 10_000 });
    // The cutover mode choice: flip, overlap, gate, preselected from kappa.cutoverMode (flip).
    expect(
      await page
        .locator('#cutover-mode input[name="cutover"]')
        .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)),
    ).toEqual(['flip', 'overlap', 'gate']);
    expect(await page.locator('#cutover-flip').isChecked()).toBe(true);
    await page.locator('#switchover-btn').click();
    await expect
      .poll(() => page.locator('#kappa-active').textContent(), { timeout: 10_000 })
      .toContain('job 2');
    // The last cutover's count: the flip, as GET /api/kappa/cutover counted it, per window.
    await page.locator('#kappa-cutover:not([hidden])').waitFor({ timeout: 10_000 });
    const counted = (await (await lab.app.inject({ url: '/api/kappa/cutover' })).json()).last;
    expect(counted.mode).toBe('flip');
    await expect
      .poll(() => page.locator('#kappa-cutover-summary').textContent(), { timeout: 10_000 })
      .toMatch(/^flip: /);
    expect(await page.locator('#kappa-cutover-windows tbody tr').count()).toBe(counted.windows.length);
    expect(await page.locator('#kappa-active').textContent()).toContain('logic v2');
    await page.locator('#kappa-jobs [data-job="2"].active').waitFor({ timeout: 10_000 });
    await page.locator('#kappa-jobs [data-job="1"][data-state="grace"]').waitFor({ timeout: 10_000 });
    const view = await lab.services.kappa.view();
    expect(view.active).toBe(2);
    await expect
      .poll(() => page.locator('#timeline').textContent(), { timeout: 10_000 })
      .toContain('switchover');
    await expect.poll(() => page.locator('#rollback-btn').isEnabled(), { timeout: 5_000 }).toBe(true);
    await page.locator('#kappa').scrollIntoViewIfNeeded();
    await shot(page, '03-switched-over');
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('a divergence cell opens with every layer value, the truth and the cause', async () => {
    const hasDivergence = lab.app.hasRoute({ method: 'GET', url: '/api/divergence' });
    await page.locator('#divergence').scrollIntoViewIfNeeded();
    if (!hasDivergence) {
      // The measurement API is not wired into this lab: the inspector says so instead of faking it.
      await expect
        .poll(() => page.locator('#div-state').textContent(), { timeout: 5_000 })
        .toContain('needs the measurement API');
      await shot(page, '04-divergence-unavailable');
      return;
    }
    await page.locator('#div-layer').selectOption('speed');
    const cell = page
      .locator(
        '#div-grid .cell.c-correct, #div-grid .cell.c-small, #div-grid .cell.c-mid, #div-grid .cell.c-big',
      )
      .first();
    await cell.waitFor({ timeout: 30_000 });
    await cell.click();
    const values = page.locator('#div-detail-values');
    await values.waitFor({ timeout: 10_000 });
    const truth = await values.locator('tr[data-layer="truth"] td').first().textContent();
    expect(Number(truth!.replace(/,/g, ''))).toBeGreaterThan(0);
    for (const layer of ['lambda', 'speed', 'kappa']) {
      await values.locator(`tr[data-layer="${layer}"]`).waitFor({ timeout: 5_000 });
    }
    await expect
      .poll(() => page.locator('#div-detail').textContent(), { timeout: 10_000 })
      .toMatch(/from the (batch|speed) layer/);
    await shot(page, '04-divergence-cell');
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('the scenario runner panel appears only with GET /api/scenarios and follows a run started from the page', async () => {
    const hasScenarios = lab.app.hasRoute({ method: 'GET', url: '/api/scenarios' });
    expect(await page.locator('#scenarios').isVisible()).toBe(hasScenarios);
    if (!hasScenarios) return;
    const list = (await (await fetch(`${url}/api/scenarios`)).json()) as Array<{
      id: string;
      expectations: number;
    }>;
    const scenario = list.find((s) => s.id === 'hot-key') ?? list[0]!; // a quick one: 24,000 events
    const card = page.locator(`[data-scenario="${scenario.id}"]`);
    await card.scrollIntoViewIfNeeded();
    expect(await card.locator('input[type="checkbox"]').isChecked()).toBe(true); // fast-forward by default
    await card.locator('button').click();
    await expect
      .poll(() => page.locator('#scenario-feedback').textContent())
      .toContain(`Scenario ${scenario.id} started`);
    const run = page.locator('#scenario-runs .scenario').first();
    await run.waitFor({ timeout: 10_000 });
    // verdicts turn from pending to pass / fail / not-measured as the run ends
    await expect
      .poll(async () => (await run.locator('.state').first().textContent())?.trim(), {
        timeout: 90_000,
        interval: 1000,
      })
      .toMatch(/^(completed|failed)$/);
    expect(await run.locator('[data-verdict]').count()).toBe(scenario.expectations);
    expect(await run.locator('[data-verdict="pending"]').count()).toBe(0);
    await page.locator('#scenarios').scrollIntoViewIfNeeded();
    await shot(page, '06-scenario-run');
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('pauses, resumes and cancels a live scenario run from the page', async () => {
    if (!lab.app.hasRoute({ method: 'POST', url: '/api/scenarios/runs/:runId/pause' })) return;
    const card = page.locator('[data-scenario="ysb-baseline"]');
    await card.scrollIntoViewIfNeeded();
    await card.locator('input[type="checkbox"]').uncheck(); // live
    await card.locator('button').click();
    const run = page.locator('#scenario-runs .scenario').first();
    const pause = run.locator('button[data-action="pause"]');
    await pause.waitFor({ timeout: 10_000 });
    const runId = await run.getAttribute('data-run');
    await pause.click();
    await run.locator('[data-paused]').waitFor({ timeout: 10_000 });
    const paused = (await (await fetch(`${url}/api/scenarios/runs/${runId}`)).json()) as { paused: boolean };
    expect(paused.paused).toBe(true);
    await run.locator('button[data-action="resume"]').click();
    await run.locator('button[data-action="pause"]').waitFor({ timeout: 10_000 });
    expect(await run.locator('[data-paused]').count()).toBe(0);
    // Cancel stops the run's lab (and its generator, for the rest of the suite)
    await run.locator('button[data-action="cancel"]').click();
    await run.locator('[data-state="cancelled"]').waitFor({ timeout: 20_000 });
    expect(await run.locator('button[data-action="cancel"]').count()).toBe(0);
    const cancelled = (await (await fetch(`${url}/api/scenarios/runs/${runId}`)).json()) as { state: string };
    expect(cancelled.state).toBe('cancelled');
    await expect
      .poll(() => page.locator('#scenario-feedback').textContent())
      .toContain(`Run ${runId} cancelled`);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('is usable at phone width (390 px): no horizontal page scroll, controls reachable', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(800);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // elements sticking out of the viewport outside any scroll container, to name the culprit
    const culprits = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((el) => {
          if (el.getBoundingClientRect().right <= window.innerWidth + 0.5) return false;
          for (let p = el.parentElement; p; p = p.parentElement)
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return false;
          return true;
        })
        .slice(0, 10)
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`),
    );
    expect(overflow, culprits.join(', ')).toBeLessThanOrEqual(0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, '05-phone-390');
    await page.locator('#replay-btn').scrollIntoViewIfNeeded();
    expect(await page.locator('#replay-btn').isVisible()).toBe(true);
    // every form control has a label
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('select, input')]
        .filter((el) => !el.closest('label') && !(el.id && document.querySelector(`label[for="${el.id}"]`)))
        .map((el) => el.id),
    );
    expect(unlabelled).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});
