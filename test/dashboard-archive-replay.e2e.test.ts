/**
 * The replay dialog's history source, end to end in headless Chromium against an embedded lab
 * whose log's retention dropped each partition's start after the batch ingest archived it: the
 * dialog shows the pre-flight's verdict (the log not possible and why, the archive possible with
 * its cut-over), the user picks the archive, and the Kappa+ replay starts and catches up.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../lab/create-lab.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { CHROMIUM, launchChromium, startDashboardLab, type DashboardLab } from './dashboard-lab.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');
/** History in the log before retention: ~10,000 events (~3 MB) per partition. */
const HISTORY = 40_000;
/**
 * Per partition: small segments and 512 KiB of retention. The history is appended in chunks of
 * 20,000 events and a segment rolls only between appends, so retention keeps the newest chunk.
 */
const LOG = { segmentBytes: 128 * 1024, retentionBytes: 512 * 1024 };

describe.skipIf(!existsSync(CHROMIUM))(
  'dashboard: replay from the archive after retention (embedded lab)',
  () => {
    let lkl: DashboardLab;
    let lab: Lab;
    let browser: Browser;
    let page: Page;
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      lkl = await startDashboardLab(HISTORY, Date.now(), 50, LOG);
      lab = lkl.lab;
      const s = lab.services;
      // The batch ingest has read the history; a batch run closes the split that archives it.
      const ends = await s.log.offsets(AD_EVENTS_TOPIC);
      await waitUntil(() => ends.every((e) => (s.batch.ingestPosition(e.partition) ?? 0) >= e.end), {
        what: 'the batch ingest to read the history',
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      const run = s.batch.requestRun('test');
      await waitUntil(() => ['completed', 'failed'].includes(s.batch.getRun(run.id)!.state), {
        what: 'the batch run',
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      expect(s.batch.getRun(run.id)!.state).toBe('completed');
      await (s.log as { enforceRetention?: () => Promise<void> }).enforceRetention!();
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await lkl?.close();
    }, 60_000);

    it('shows the pre-flight verdict per source; picking the archive starts a Kappa+ replay that catches up', async () => {
      const lows = (await lab.services.log.offsets(AD_EVENTS_TOPIC)).map((p) => p.low);
      expect(
        lows.every((low) => low > 0),
        `low offsets ${lows.join(', ')}`,
      ).toBe(true);
      const pre = await lab.services.kappa.preflight();
      expect(pre.options.log.possible).toBe(false);
      expect(pre.options.archive.possible).toBe(true);

      await page.goto(lkl.url);
      const verdict = (source: string) => page.locator(`#replay-preflight li[data-source="${source}"]`);
      await verdict('log').waitFor({ timeout: 15_000 });
      expect(await verdict('log').getAttribute('data-possible')).toBe('false');
      expect(await verdict('log').textContent()).toContain(
        `log: not possible — partition 0 of ${AD_EVENTS_TOPIC} starts at offset ${lows[0]}`,
      );
      expect(await verdict('archive').getAttribute('data-possible')).toBe('true');
      const archiveText = await verdict('archive').textContent();
      expect(archiveText).toContain('archive: possible — the master dataset up to the cut-over');
      for (const p of pre.options.archive.partitions)
        expect(archiveText).toContain(`${p.partition}: ${p.cutover.toLocaleString('en-US')}`);
      expect(await verdict('auto').textContent()).toBe('auto: replays from the archive');
      await page.locator('#kappa').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, '06-replay-preflight-archive.png') });

      // Picked explicitly (the dialog preselects the pre-flight's choice; the log stays selectable for force).
      await page.locator('#replay-source-log').check();
      await page.locator('#replay-source-archive').check();
      await page.locator('#replay-version').selectOption('2');
      await page.locator('#replay-btn').click();
      await expect
        .poll(() => page.locator('#kappa-feedback').textContent(), { timeout: 10_000 })
        .toContain(
          "Replay started: job 2 with logic v2 reads the archive (the batch layer's master dataset) up to the cut-over, then the log,",
        );
      const job2 = page.locator('#kappa-jobs [data-job="2"]');
      await job2.waitFor({ timeout: 10_000 });
      expect(await job2.textContent()).toContain('replay from the archive, then the log');
      const job = lab.services.kappa.job(2)!;
      expect(job.source).toBe('archive');
      expect(job.cutover).toEqual(
        pre.options.archive.partitions.map((p) => ({ partition: p.partition, cutover: p.cutover })),
      );
      await page.locator('#kappa-jobs [data-job="2"][data-state="caught-up"]').waitFor({ timeout: 60_000 });
      // The log alone holds less than the history; the replay counted all of it (the archive's part
      // below the cut-over), and no more events than the live job has seen (none twice).
      const inLog = (await lab.services.log.offsets(AD_EVENTS_TOPIC)).reduce((n, p) => n + p.end - p.low, 0);
      expect(inLog).toBeLessThan(HISTORY);
      const jobs = (await lab.services.kappa.view()).jobs;
      const replayed = jobs.find((j) => j.id === 2)!.counters.processed;
      expect(replayed).toBeGreaterThanOrEqual(HISTORY);
      expect(replayed).toBeLessThanOrEqual(jobs.find((j) => j.id === 1)!.counters.processed);
      expect(consoleErrors).toEqual([]);
    }, 120_000);
  },
);
