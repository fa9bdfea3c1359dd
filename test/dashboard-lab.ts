/**
 * Set-up shared by the dashboard's end-to-end suites: an embedded lab on a free port with YSB
 * history in its log and live traffic on top, and Debian's headless Chromium driven by
 * playwright-core (no browser is ever downloaded).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { appendCatchUp } from '../test-support/kappa-harness.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface DashboardLab {
  lab: Lab;
  url: string;
  close(): Promise<void>;
}

/**
 * An embedded lab with `history` events in its log (event time = now − history × 10 ms … now,
 * `now` being the wall clock the lab runs on), Kappa job 1 caught up on them, the generator at
 * `rate` events/s and the server listening.
 */
export async function startDashboardLab(
  history: number,
  now: number,
  rate = 400,
  /** Overrides of the lab's `log` section (retention, segment size). */
  log: { retentionBytes?: number; segmentBytes?: number } = {},
): Promise<DashboardLab> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-dashboard-'));
  const lab = await createLab(
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        server: { host: '127.0.0.1', port: 0 },
        generator: { rate: 0 },
        batch: { intervalMs: 0 },
        log,
        kappa: {
          checkpointIntervalMs: 200,
          catchUpDwellMs: 500,
          autoSwitchover: false,
          replayParallelism: 1,
        },
      },
    }),
  );
  await appendCatchUp(lab.services.log, AD_EVENTS_TOPIC, 7, history, now - history * 10);
  await lab.services.kappa.sync(1, 60_000);
  await lab.services.generator.setRate(rate);
  const url = await lab.listen();
  return {
    lab,
    url,
    close: async () => {
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
