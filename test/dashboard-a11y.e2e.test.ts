/**
 * The dashboard's accessibility, in real headless Chromium against a real embedded lab (the same
 * set-up as dashboard.e2e.test.ts): axe-core audits the whole page and every view with live data
 * loaded (overview, divergence with a cell open, Lambda, Kappa, scenarios with a finished run)
 * against WCAG 2 A/AA and axe's best practices and must find no violation; the divergence grid is
 * driven from the keyboard alone (one tab stop, arrow keys, Home/End, Enter and Space open a
 * cell's detail). Each audit's report lands in test-artifacts/dashboard/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, startDashboardLab, type DashboardLab } from './dashboard-lab.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** WCAG 2.0, 2.1 and 2.2 level A and AA, plus axe's best practices. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const HISTORY = 60_000;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** Runs axe-core in the page on `selector` (the whole document without one). */
async function audit(page: Page, name: string, selector?: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(
    async ({ selector, tags }) => {
      const axe = (window as unknown as { axe: AxeLike }).axe;
      const r = await axe.run(selector ? { include: [selector] } : document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      });
      return {
        passes: r.passes.length,
        violations: r.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          targets: v.nodes.map((n) => n.target.join(' >>> ')),
        })),
      };
    },
    { selector, tags: AXE_TAGS },
  );
  writeFileSync(join(ARTIFACTS, `a11y-${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result.violations.map(
    (v: Violation) =>
      `${v.id} (${v.impact}): ${v.help} — ${v.targets.length} element(s): ${v.targets.slice(0, 25).join(', ')}`,
  );
}

/** The part of axe's API the audit uses (the page's `window.axe`). */
interface AxeLike {
  run(
    context: unknown,
    options: unknown,
  ): Promise<{
    passes: unknown[];
    violations: Array<{
      id: string;
      impact: string | null;
      help: string;
      nodes: Array<{ target: string[] }>;
    }>;
  }>;
}

const expectNoViolations = (violations: string[]) =>
  expect(violations, `${violations.length} axe violation(s):\n${violations.join('\n')}`).toEqual([]);

/** The focused element's cell key in the divergence grid, or null when focus is elsewhere. */
const focusedCell = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || !el.closest('#div-grid') || el.getAttribute('role') !== 'gridcell') return null;
    const row = el.closest('[role="row"]')!;
    const rows = [...document.querySelectorAll('#div-grid [role="row"]')];
    return {
      campaign: el.dataset.campaign!,
      window: Number(el.dataset.window),
      row: rows.indexOf(row),
      col: [...row.querySelectorAll('[role="gridcell"]')].indexOf(el),
      cols: row.querySelectorAll('[role="gridcell"]').length,
      tabStops: document.querySelectorAll('#div-grid [tabindex="0"]').length,
    };
  });

describe.skipIf(!existsSync(CHROMIUM))('dashboard accessibility in headless Chromium (embedded lab)', () => {
  let lkl: DashboardLab;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    lkl = await startDashboardLab(HISTORY, Date.now());
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    await page.goto(lkl.url);
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 10_000 });
    await page.locator('#kappa-jobs [data-job="1"]').waitFor({ timeout: 10_000 });
    await page.locator('#health-pill', { hasText: 'all up' }).waitFor({ timeout: 15_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lkl?.close();
  }, 60_000);

  const hasDivergence = () => lkl.lab.app.hasRoute({ method: 'GET', url: '/api/divergence' });
  const hasScenarios = () => lkl.lab.app.hasRoute({ method: 'GET', url: '/api/scenarios' });

  /** Follows the top bar's link to a view, as a reader would. */
  const open = async (view: string) => {
    await page.locator(`nav.jump a[href="#${view}"]`).click();
    await page.locator(`#${view}`).waitFor({ state: 'visible' });
  };

  it('the divergence grid is a grid of rows of header and data cells, with a legend that is not colour alone', async () => {
    if (!hasDivergence()) return;
    await open('divergence');
    await page.locator('#div-grid [role="gridcell"]').first().waitFor({ timeout: 30_000 });
    const shape = await page.evaluate(() => {
      const grid = document.getElementById('div-grid')!;
      const rows = [...grid.children];
      return {
        allRows: rows.every((r) => r.getAttribute('role') === 'row'),
        headerRow: [...rows[0]!.children].map((c) => c.getAttribute('role')),
        bodyRow: [...rows[1]!.children].map((c) => c.getAttribute('role')),
        emptyHeaders: [...grid.querySelectorAll('[role="columnheader"], [role="rowheader"]')].filter(
          (c) => !c.textContent!.trim(),
        ).length,
        columns: rows[0]!.children.length,
      };
    });
    expect(shape.allRows).toBe(true);
    expect(shape.headerRow.every((r) => r === 'columnheader')).toBe(true);
    expect(shape.bodyRow[0]).toBe('rowheader');
    expect(shape.bodyRow.slice(1).every((r) => r === 'gridcell')).toBe(true);
    expect(shape.bodyRow).toHaveLength(shape.columns);
    expect(shape.emptyHeaders).toBe(0);
    // every verdict has a symbol of its own, in the grid and in the legend, beside its colour
    const symbols = await page.evaluate(() => {
      const out: Record<string, string> = {};
      for (const el of document.querySelectorAll<HTMLElement>('#div-legend [data-verdict]'))
        out[el.dataset.verdict!] = el.textContent!.trim();
      return out;
    });
    for (const v of ['correct', 'small', 'mid', 'big', 'missing', 'extra'])
      expect(symbols[v], `legend symbol for ${v}`).toMatch(/\S/);
    expect(new Set(Object.values(symbols).filter(Boolean)).size).toBe(
      Object.values(symbols).filter(Boolean).length,
    );
    const cell = page.locator('#div-grid [role="gridcell"][data-verdict="correct"]').first();
    if ((await cell.count()) > 0) expect((await cell.textContent())!.trim()).toBe(symbols.correct);
  }, 60_000);

  it('the whole page has no axe violation (landmarks, headings, contrast, labels)', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    expectNoViolations(await audit(page, 'page'));
  }, 60_000);

  it('overview: no axe violation with live figures, charts and the maintenance table', async () => {
    await open('overview');
    await expect
      .poll(async () => Number((await page.locator('#kpi-events').textContent())!.replace(/,/g, '')), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(HISTORY);
    await page.locator('#maintenance-table tbody tr').first().waitFor({ timeout: 20_000 });
    expectNoViolations(await audit(page, 'overview', '#overview'));
  }, 60_000);

  it('divergence: no axe violation with the grid filled and a cell open', async () => {
    await open('divergence');
    if (!hasDivergence()) {
      expectNoViolations(await audit(page, 'divergence', '#divergence'));
      return;
    }
    const cell = page.locator('#div-grid [role="gridcell"]:not([data-verdict="none"])').first();
    await cell.waitFor({ timeout: 30_000 });
    await cell.click();
    await page.locator('#div-detail-values').waitFor({ timeout: 10_000 });
    await expect
      .poll(() => page.locator('#div-detail').textContent(), { timeout: 10_000 })
      .toMatch(/(from the (batch|speed) layer|no window served)/);
    expectNoViolations(await audit(page, 'divergence', '#divergence'));
  }, 60_000);

  it('Lambda: no axe violation with a batch run listed', async () => {
    await open('lambda');
    await page.locator('#batch-run-btn').click();
    await page.locator('#batch-runs tr[data-state="completed"]').first().waitFor({ timeout: 60_000 });
    expectNoViolations(await audit(page, 'lambda', '#lambda'));
  }, 90_000);

  it('Kappa: no axe violation with the live job and its partitions', async () => {
    await open('kappa');
    await page.locator('#kappa-jobs [data-job="1"] progress').first().waitFor({ timeout: 10_000 });
    expectNoViolations(await audit(page, 'kappa', '#kappa'));
  }, 60_000);

  it('scenarios: no axe violation with the list and a finished run with its verdicts', async () => {
    if (!hasScenarios()) return;
    await open('scenarios');
    const card = page.locator('[data-scenario="hot-key"]'); // a quick one: 24,000 events
    await card.waitFor({ timeout: 10_000 });
    await card.locator('button').click();
    const run = page.locator('#scenario-runs .scenario').first();
    await run.waitFor({ timeout: 10_000 });
    await expect
      .poll(async () => (await run.locator('.state').first().textContent())?.trim(), {
        timeout: 90_000,
        interval: 1000,
      })
      .toMatch(/^(completed|failed)$/);
    expectNoViolations(await audit(page, 'scenarios', '#scenarios'));
  }, 120_000);

  it('the divergence grid is driven from the keyboard: one tab stop, arrows, Home / End, Enter and Space', async () => {
    if (!hasDivergence()) return;
    await open('divergence');
    await page.locator('#div-follow').uncheck(); // a re-render must not matter, but keep the grid still
    await page.locator('#div-grid [role="gridcell"]').first().waitFor({ timeout: 30_000 });
    // Tab from the last control before the grid lands on its single tab stop
    await page.locator('#div-follow').focus();
    await page.keyboard.press('Tab');
    const start = await focusedCell(page);
    expect(start, 'Tab enters the grid').not.toBeNull();
    expect(start!.tabStops).toBe(1);
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(ring).not.toBe('none');

    await page.keyboard.press('Home');
    const first = (await focusedCell(page))!;
    expect(first.col).toBe(0);
    await page.keyboard.press('ArrowRight');
    const right = (await focusedCell(page))!;
    expect(right).toMatchObject({ row: first.row, col: 1, campaign: first.campaign, tabStops: 1 });
    expect(right.window - first.window).toBe(10_000);
    await page.keyboard.press('ArrowLeft');
    expect(await focusedCell(page)).toMatchObject({ row: first.row, col: 0 });
    await page.keyboard.press('ArrowLeft'); // stays at the edge
    expect(await focusedCell(page)).toMatchObject({ row: first.row, col: 0 });
    await page.keyboard.press('End');
    const end = (await focusedCell(page))!;
    expect(end).toMatchObject({ row: first.row, col: end.cols - 1 });
    const rows = await page.locator('#div-grid [role="row"]').count();
    if (rows > 2) {
      await page.keyboard.press('ArrowDown');
      const down = (await focusedCell(page))!;
      expect(down).toMatchObject({ row: first.row + 1, col: end.cols - 1, window: end.window });
      expect(down.campaign).not.toBe(end.campaign);
      await page.keyboard.press('ArrowUp');
      expect(await focusedCell(page)).toMatchObject({ row: first.row, campaign: end.campaign });
    }
    await page.keyboard.press('Control+End');
    expect(await focusedCell(page)).toMatchObject({ row: rows - 1, col: end.cols - 1 });
    await page.keyboard.press('Control+Home');
    const origin = (await focusedCell(page))!;
    expect(origin).toMatchObject({ row: 1, col: 0, tabStops: 1 });

    // Enter opens the focused cell's detail, as a click does
    await page.keyboard.press('Enter');
    const short = origin.campaign.slice(0, 8);
    await expect
      .poll(() => page.locator('#div-detail-title').textContent(), { timeout: 5_000 })
      .toContain(`Campaign ${short}`);
    expect(await page.locator('#div-grid [aria-selected="true"]').getAttribute('data-campaign')).toBe(
      origin.campaign,
    );
    // Space too, on another cell; focus stays in the grid
    await page.keyboard.press('ArrowRight');
    const next = (await focusedCell(page))!;
    await page.keyboard.press(' ');
    await expect
      .poll(() => page.locator('#div-grid [aria-selected="true"]').getAttribute('data-window'))
      .toBe(String(next.window));
    expect(await focusedCell(page)).toMatchObject({ campaign: next.campaign, window: next.window });
    // a live re-render keeps the focused cell and the single tab stop
    await page.locator('#div-follow').check();
    await page.locator('#div-grid [role="gridcell"][tabindex="0"]').focus();
    const before = (await focusedCell(page))!;
    await page.evaluate(() => document.activeElement!.setAttribute('data-before-render', ''));
    await expect
      .poll(() => page.locator('#div-grid [data-before-render]').count(), { timeout: 10_000 })
      .toBe(0); // the grid was rendered anew
    const after = await focusedCell(page);
    expect(after).toMatchObject({ campaign: before.campaign, window: before.window, tabStops: 1 });
    // Tab leaves the grid in one press
    await page.keyboard.press('Tab');
    expect(await focusedCell(page)).toBeNull();
    await page.locator('#divergence').screenshot({ path: join(ARTIFACTS, 'a11y-divergence-keyboard.png') });
    expect(consoleErrors).toEqual([]);
  }, 90_000);
});
