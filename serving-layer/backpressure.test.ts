import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, encodeEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';

const ref = buildReferenceData();
const line = (t: number): string =>
  encodeEvent({
    user_id: ref.userPool[0]!,
    page_id: ref.pagePool[0]!,
    ad_id: ref.ads[0]!.ad_id,
    ad_type: 'banner',
    event_type: 'view',
    event_time: String(t),
    ip_address: '1.2.3.4',
  });

describe('back-pressure on POST /api/events (embedded lab, system clock)', () => {
  let lab: Lab;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-bp-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          generator: { rate: 0 },
          backpressure: { maxLagEvents: 50, refreshMs: 20 },
        },
      }),
    );
  });
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 429 with Retry-After while a consumer is behind, appends nothing, then accepts again', async () => {
    const post = (n: number): ReturnType<Lab['app']['inject']> =>
      lab.app.inject({
        method: 'POST',
        url: '/api/events',
        headers: { 'content-type': 'application/x-ndjson' },
        payload: Array.from({ length: n }, (_, i) => line(Date.now() - 1000 + i)).join('\n'),
      });
    expect((await post(10)).statusCode).toBe(200);
    await lab.services.speed.sync(10_000); // read, flushed and committed
    // The speed layer stops here: its in-memory position is gone, its committed offset stays behind.
    await lab.services.speed.stop();
    const before = (await lab.services.log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0);
    expect((await post(500)).statusCode).toBe(200);
    const snap = await lab.services.lag.refresh();
    expect(snap.consumers.find((c) => c.name === 'speed layer')).toMatchObject({ from: 'committed' });
    expect(snap.saturated).toBe(true);
    const refused = await post(5);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json().error.code).toBe('LKL_ERR_INGEST_BACKPRESSURE');
    const after = (await lab.services.log.offsets(AD_EVENTS_TOPIC)).reduce((s, p) => s + p.end, 0);
    expect(after).toBe(before + 500);
    const status = (await lab.app.inject({ url: '/api/status' })).json();
    expect(status.backpressure.saturated).toBe(true);
    expect(status.backpressure.throttled).toBeGreaterThanOrEqual(1);
    // The speed layer back: it catches up, the lag falls under the limit, ingest is accepted again.
    await lab.services.speed.start();
    await lab.services.speed.waitProcessed(10_000);
    expect((await lab.services.lag.refresh()).saturated).toBe(false);
    expect((await post(5)).statusCode).toBe(200);
  });
});
