/**
 * The dashboard's sketch-error chart in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core) against an embedded lab whose speed layer counts enough distinct users for its
 * HyperLogLog to err: 2 campaigns, a pool of 1,000,000 users, 12,500 views per (campaign, window).
 * The chart draws every closed cell's observed relative error over the ±σ / ±2σ band of
 * σ = 1.04/√m, with the figures GET /api/metrics answers; the band's pixels are on the canvas.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, WINDOW_MS, encodeEvent, windowStart } from '../kernel/events/ysb-event.js';
import { YsbGenerator } from '../kernel/workload/ysb-generator.js';
import type { MetricsSnapshot, SketchErrorFigures } from '../measurement/measurement-api.js';
import { CHROMIUM, launchChromium } from './dashboard-lab.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
/** Windows of history; the watermark closes all but the last (measurement.allowedLatenessMs 0). */
const WINDOWS = 6;
/** Events per 10 s window: a third are views, over 2 campaigns → 12,500 views per cell. */
const PER_WINDOW = 75_000;

/** Events of `WINDOWS` whole windows ending at the current window's start, 7,500/s of event time. */
async function appendHistory(lab: Lab): Promise<number> {
  const start = windowStart(Date.now()) - WINDOWS * WINDOW_MS;
  const gen = new YsbGenerator(lab.services.reference, {
    seed: 3,
    mode: 'catch-up',
    rate: 0,
    startTime: start,
  });
  for (let w = 0; w < WINDOWS; w++) {
    const records = gen.take(PER_WINDOW).map((r, i) => {
      const event = {
        ...r.event!,
        event_time: String(start + w * WINDOW_MS + Math.floor((i * WINDOW_MS) / PER_WINDOW)),
      };
      return { key: event.ad_id, value: encodeEvent(event) };
    });
    await lab.services.log.append(AD_EVENTS_TOPIC, records);
  }
  return start;
}

/** In the page: the sketch chart's observed points as [x, y]. */
function observedPoints(): number[][] {
  const { Chart } = globalThis as unknown as { Chart: { getChart(id: string): PageChart } };
  return Chart.getChart('chart-sketch').data.datasets[4]!.data.map((p) => [p.x, p.y]);
}

/** What the test reads of a chart.js chart in the page. */
interface PageChart {
  data: { datasets: Array<{ label: string; data: Array<{ x: number; y: number }> }> };
  chartArea: { left: number; right: number; top: number };
  scales: { y: { getPixelForValue(v: number): number } };
  ctx: { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
  currentDevicePixelRatio: number;
}

describe.skipIf(!existsSync(CHROMIUM))(
  'dashboard: the sketch error beside its ±σ band (headless Chromium)',
  () => {
    let dir: string;
    let lab: Lab;
    let url: string;
    let browser: Browser;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      dir = mkdtempSync(join(tmpdir(), 'lkl-dashboard-sketch-'));
      lab = await createLab(
        loadConfig({
          env: {},
          overrides: {
            dataDir: dir,
            server: { host: '127.0.0.1', port: 0 },
            generator: { rate: 0 },
            batch: { intervalMs: 0 },
            reference: { campaigns: 2, userPool: 1_000_000 },
            measurement: { intervalMs: 1000, allowedLatenessMs: 0, cpuSampleIntervalUs: 0 },
          },
        }),
      );
      await appendHistory(lab);
      await lab.services.speed.sync(120_000); // folded and flushed to the store
      url = await lab.listen();
      browser = await launchChromium();
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await lab?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('draws every closed window’s observed error over the ±σ and ±2σ band GET /api/metrics gives', async () => {
      const closedCells = (WINDOWS - 1) * 2;
      // the measurement's own figures: σ from the store's register count, the observed cells
      await lab.services.measurement.sync!(60_000);
      const snapshot = (await (await fetch(`${url}/api/metrics`)).json()) as MetricsSnapshot;
      const sketch: SketchErrorFigures = snapshot.correctness.find(
        (c) => c.layer === 'speed' && c.metric === 'distinct_users',
      )!.sketch!;
      expect(sketch.registers).toBe(16_384);
      expect(sketch.standardError).toBeCloseTo(1.04 / 128, 12);
      expect(sketch.windows).toBe(closedCells);
      // the pool makes the sketch err: no cell is exact, every one well within a few σ
      expect(sketch.recent.every((r) => r.relError !== 0)).toBe(true);
      expect(sketch.within3Sigma).toBe(1);

      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(url);
      // The history's older snapshots were taken while the speed layer was still catching up (its
      // estimates far below the truth); the stream's newer ones settle on the figures above.
      const expected = sketch.recent.map((r) => [r.window, r.relError * 100]);
      await expect.poll(() => page.evaluate(observedPoints), { timeout: 30_000 }).toEqual(expected);
      await expect
        .poll(() => page.locator('#sketch-figures').textContent())
        .toContain(`${closedCells} windows`);
      const caption = (await page.locator('#sketch-figures').textContent())!;
      expect(caption).toContain('σ = 1.04/√m = 0.81 % (m = 16,384)');

      const drawn = await page.evaluate(() => {
        const { Chart } = globalThis as unknown as { Chart: { getChart(id: string): PageChart } };
        const chart = Chart.getChart('chart-sketch');
        const sets = chart.data.datasets.map((d) => ({
          label: d.label,
          data: d.data.map((p) => ({ x: p.x, y: p.y })),
        }));
        // The band's fill on the canvas: the least alpha of the pixels between kLo·σ and kHi·σ above
        // zero, across the chart — grid lines, the band's edges and points only ever add to it.
        const { left, right, top } = chart.chartArea;
        const sigma = sets[1]!.data[0]!.y;
        const ratio = chart.currentDevicePixelRatio;
        const leastAlpha = (kLo: number, kHi: number): number => {
          const from = Math.ceil((kHi === Infinity ? top : chart.scales.y.getPixelForValue(kHi * sigma)) + 3);
          const to = Math.floor(chart.scales.y.getPixelForValue(kLo * sigma) - 3);
          const x0 = Math.ceil(left + 4);
          const pixels = chart.ctx.getImageData(
            Math.round(x0 * ratio),
            Math.round(from * ratio),
            Math.round((right - 4 - x0) * ratio),
            Math.round((to - from) * ratio),
          ).data;
          let least = 255;
          for (let a = 3; a < pixels.length; a += 4) least = Math.min(least, pixels[a]!);
          return least;
        };
        return {
          sets,
          alpha: { inner: leastAlpha(0, 1), outer: leastAlpha(1, 2), outside: leastAlpha(2, Infinity) },
        };
      });
      const pct = sketch.standardError * 100;
      const labels = drawn.sets.map((s) => s.label);
      expect(labels).toEqual(['±2σ', '±σ', '−σ', '−2σ', 'observed (campaign, window)']);
      const level = (i: number) => new Set(drawn.sets[i]!.data.map((p) => p.y));
      expect(level(0)).toEqual(new Set([2 * pct]));
      expect(level(1)).toEqual(new Set([pct]));
      expect(level(2)).toEqual(new Set([-pct]));
      expect(level(3)).toEqual(new Set([-2 * pct]));
      // the band spans the observed windows
      const observed = drawn.sets[4]!.data;
      expect(observed).toHaveLength(closedCells);
      expect(Math.min(...drawn.sets[0]!.data.map((p) => p.x))).toBeLessThanOrEqual(
        Math.min(...observed.map((p) => p.x)),
      );
      expect(Math.max(...drawn.sets[0]!.data.map((p) => p.x))).toBeGreaterThanOrEqual(
        Math.max(...observed.map((p) => p.x)),
      );
      // the points are the measured cells
      expect(observed.map((p) => [p.x, p.y])).toEqual(expected);
      console.info(
        `sketch band alpha: within ±σ ${drawn.alpha.inner}, ±σ..±2σ ${drawn.alpha.outer}, beyond ${drawn.alpha.outside}`,
      );
      // ±σ is drawn darker than ±2σ, and nothing past it
      expect(drawn.alpha.inner).toBeGreaterThan(drawn.alpha.outer);
      expect(drawn.alpha.outer).toBeGreaterThan(0);
      expect(drawn.alpha.outside).toBe(0);
      await page.locator('#chart-sketch').screenshot({ path: join(ARTIFACTS, '07-sketch-band.png') });
      await page.screenshot({ path: join(ARTIFACTS, '07-sketch-overview.png') });
      expect(errors).toEqual([]);
      await page.close();
    }, 90_000);
  },
);
