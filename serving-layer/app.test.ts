import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { VirtualClock } from '../kernel/clock/virtual-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { encodeEvent, type YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';

const ref = buildReferenceData();
const T0 = 1_700_000_000_000;

function event(over: Partial<YsbEvent> = {}): YsbEvent {
  return {
    user_id: ref.userPool[0]!,
    page_id: ref.pagePool[0]!,
    ad_id: ref.ads[0]!.ad_id,
    ad_type: 'banner',
    event_type: 'view',
    event_time: String(T0),
    ip_address: '1.2.3.4',
    ...over,
  };
}

describe('serving app (embedded lab, inject)', () => {
  let lab: Lab;
  let dir: string;
  const clock = new VirtualClock(T0);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-app-'));
    lab = await createLab(loadConfig({ env: {}, overrides: { dataDir: dir, generator: { rate: 0 } } }), {
      clock,
    });
  });
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /api/health with the mode and the log as a dependency', async () => {
    const res = await lab.app.inject({ method: 'GET', url: '/api/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ok');
    expect(body.mode).toBe('embedded');
    expect(body.dependencies[0]).toMatchObject({ name: 'event-log', kind: 'embedded', state: 'up' });
  });

  it('serves the reference data: 1,000 ads over 100 campaigns, and the bots', async () => {
    const ads = (await lab.app.inject({ url: '/api/reference/ads' })).json() as Array<{
      ad_id: string;
      campaign_id: string;
    }>;
    expect(ads).toHaveLength(1000);
    expect(new Set(ads.map((a) => a.campaign_id)).size).toBe(100);
    expect(ads[0]).toEqual({ ad_id: ref.ads[0]!.ad_id, campaign_id: ref.ads[0]!.campaign_id });
    const bots = (await lab.app.inject({ url: '/api/reference/bots' })).json() as string[];
    expect(bots).toEqual(ref.bots);
    // logic v3's reorganisation: one ad of every campaign, each to the campaign after its own
    const moved = (await lab.app.inject({ url: '/api/reference/moved-ads' })).json() as Array<{
      ad_id: string;
      campaign_id: string;
    }>;
    expect(moved).toHaveLength(100);
    const campaignOf = new Map(ads.map((a) => [a.ad_id, a.campaign_id]));
    for (const m of moved) {
      const from = ref.campaigns.indexOf(campaignOf.get(m.ad_id)!);
      expect(m.campaign_id).toBe(ref.campaigns[(from + 1) % ref.campaigns.length]);
    }
  });

  it('ingests NDJSON, dead-letters malformed lines with line and reason, keeps every valid event', async () => {
    const before = await endOffset(lab, 'ad-events');
    const lines = [
      encodeEvent(event()),
      '{"user_id": "x"', // torn JSON
      encodeEvent(event({ event_time: String(T0 + 10) })),
      JSON.stringify({ ...event(), event_time: 5 }), // number, not string
      '',
      JSON.stringify({ ...event(), extra: 'field' }),
      encodeEvent(event({ ad_id: '00000000-0000-4000-8000-000000000000' })), // unknown ad
    ];
    const res = await lab.app.inject({
      method: 'POST',
      url: '/api/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: lines.join('\n'),
    });
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s).toMatchObject({ accepted: 2, rejected: 4, format: 'ndjson' });
    expect(s.rejections.map((r: { line: number }) => r.line)).toEqual([2, 4, 6, 7]);
    expect(s.rejections[0].reason).toContain('not valid JSON');
    expect(s.rejections[1].reason).toContain('field "event_time" must be a string');
    expect(s.rejections[2].reason).toContain('unexpected field(s) "extra"');
    expect(s.rejections[3].reason).toContain('not in the reference data');
    expect((await endOffset(lab, 'ad-events')) - before).toBe(2);
    const dl = (await lab.app.inject({ url: '/api/dead-letters' })).json();
    expect(dl.total).toBe(4);
    expect(dl.recent.at(-1)).toMatchObject({ line: 7, source: 'POST /api/events' });
    expect(await endOffset(lab, 'ad-events-dead-letter')).toBe(4);
  });

  it('ingests a JSON array and rejects an unreadable body with 400 and nothing appended', async () => {
    const ok = await lab.app.inject({
      method: 'POST',
      url: '/api/events',
      payload: [event(), event({ event_type: 'click' })],
    });
    expect(ok.json()).toMatchObject({ accepted: 2, rejected: 0, format: 'json-array' });
    const before = await endOffset(lab, 'ad-events');
    const bad = await lab.app.inject({
      method: 'POST',
      url: '/api/events',
      headers: { 'content-type': 'application/json' },
      payload: '[{"a":1},',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('LKL_ERR_INGEST_BODY_INVALID');
    expect(bad.json().error.message).toContain('NDJSON');
    const empty = await lab.app.inject({
      method: 'POST',
      url: '/api/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: '',
    });
    expect(empty.statusCode).toBe(400);
    expect(await endOffset(lab, 'ad-events')).toBe(before);
  });

  it('rejects invalid API calls with 4xx and a message', async () => {
    const r1 = await lab.app.inject({ method: 'POST', url: '/api/generator', payload: { rate: -1 } });
    expect(r1.statusCode).toBe(400);
    expect(r1.json().error.message).toMatch(/rate/);
    const r2 = await lab.app.inject({ url: '/api/nope' });
    expect(r2.statusCode).toBe(404);
    expect(r2.json().error.code).toBe('LKL_ERR_API_NOT_FOUND');
    // a path that exists with other methods: 405 and Allow, also under a path parameter
    const r4 = await lab.app.inject({ url: '/api/views', method: 'DELETE' });
    expect(r4.statusCode).toBe(405);
    expect(r4.headers.allow).toBe('GET, HEAD');
    expect(r4.json().error.code).toBe('LKL_ERR_API_METHOD_NOT_ALLOWED');
    const r5 = await lab.app.inject({ url: '/api/scenarios/runs/abc', method: 'PUT' });
    expect(r5.statusCode).toBe(405);
    expect(r5.headers.allow).toMatch(/DELETE/);
    expect(r5.headers.allow).toMatch(/GET/);
    // a JSON body is taken as typed: null is not a boolean (no silent coercion)
    const r6 = await lab.app.inject({
      method: 'POST',
      url: '/api/scenarios/ysb-baseline/runs',
      payload: { fast: null },
    });
    expect(r6.statusCode).toBe(400);
    expect(r6.json().error.message).toMatch(/fast/);
    const r3 = await lab.app.inject({ url: '/api/events?firstLine=0', method: 'POST', payload: [event()] });
    expect(r3.statusCode).toBe(400);
    // errors of the router itself come in the one error shape too
    const r7 = await lab.app.inject({ url: `/api/lambda/batch-runs/${'1'.repeat(150)}` });
    expect(r7.statusCode).toBe(414);
    expect(r7.json().error.code).toBe('LKL_ERR_API_BAD_REQUEST');
    const r8 = await lab.app.inject({ url: '/api/scenarios/runs/%zz' });
    expect(r8.statusCode).toBe(400);
    expect(r8.json().error.code).toBe('LKL_ERR_API_BAD_REQUEST');
  });

  it('runs the generator on the clock and reports offsets and lag in /api/status', async () => {
    const before = await endOffset(lab, 'ad-events');
    await lab.app.inject({ method: 'POST', url: '/api/generator', payload: { rate: 2000 } });
    await clock.advance(1000);
    await lab.app.inject({ method: 'POST', url: '/api/generator', payload: { rate: 0 } });
    const status = (await lab.app.inject({ url: '/api/status' })).json();
    const topic = status.topics.find((t: { name: string }) => t.name === 'ad-events');
    expect(topic.end - before).toBe(2000);
    expect(topic.partitions).toHaveLength(4);
    expect(status.generator.produced).toBe(2000);
    await lab.services.log.commitOffsets('g1', 'ad-events', [{ partition: 0, offset: 1 }]);
    const s2 = (await lab.app.inject({ url: '/api/status' })).json();
    const g = s2.groups.find((x: { group: string }) => x.group === 'g1');
    expect(g.totalLag).toBe(topic.end - 1);
  });

  it('publishes an OpenAPI document', async () => {
    const res = await lab.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().paths)).toEqual(
      expect.arrayContaining(['/api/health', '/api/events', '/api/status', '/api/reference/ads']),
    );
  });
});

async function endOffset(lab: Lab, topic: string): Promise<number> {
  return (await lab.services.log.offsets(topic)).reduce((s, p) => s + p.end, 0);
}
