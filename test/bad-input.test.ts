/**
 * Bad input never crashes the lab: every class of bad record goes to the dead-letter topic with
 * its reason and is counted, and the valid events sent after it are counted by every layer.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';
import {
  AD_EVENTS_TOPIC,
  DEAD_LETTER_TOPIC,
  encodeEvent,
  type YsbEvent,
} from '../kernel/events/ysb-event.js';
import type { DeadLetter } from '../kernel/ingest/dead-letter.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';

const ref = buildReferenceData();
const NOW = Date.now();
const DAY = 24 * 3600 * 1000;

let seq = 0;
function event(over: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    user_id: ref.userPool[seq % ref.userPool.length]!,
    page_id: ref.pagePool[0]!,
    ad_id: ref.ads[seq % ref.ads.length]!.ad_id,
    ad_type: 'banner',
    event_type: 'view',
    event_time: String(NOW - 3_600_000 + seq), // an hour ago: below the batch boundary
    ip_address: '1.2.3.4',
    ...over,
  };
}
const valid = (): string => encodeEvent(event() as unknown as YsbEvent);
function without(field: string): Record<string, unknown> {
  const e = event();
  delete e[field];
  return e;
}

/** One bad record per class, with the reason its dead letter must give. */
const CLASSES: Array<{ name: string; raw: string; reason: RegExp }> = [
  { name: 'malformed JSON', raw: '{"user_id": "a", "page_id":', reason: /^not valid JSON/ },
  { name: 'not an object', raw: '"a string"', reason: /^not a JSON object/ },
  { name: 'null', raw: 'null', reason: /^not a JSON object/ },
  { name: 'missing field', raw: JSON.stringify(without('ad_type')), reason: /^missing field "ad_type"/ },
  {
    name: 'extra field',
    raw: JSON.stringify(event({ campaign_id: 'x' })),
    reason: /^unexpected field\(s\) "campaign_id"/,
  },
  {
    name: 'wrong type (number)',
    raw: JSON.stringify(event({ event_time: NOW })),
    reason: /^field "event_time" must be a string, got number/,
  },
  {
    name: 'wrong type (null)',
    raw: JSON.stringify(event({ ad_id: null })),
    reason: /^field "ad_id" must be a string, got null/,
  },
  {
    name: 'wrong type (object)',
    raw: JSON.stringify(event({ user_id: { $gt: '' } })),
    reason: /^field "user_id" must be a string, got object/,
  },
  {
    name: 'bad enum',
    raw: JSON.stringify(event({ event_type: 'hover' })),
    reason: /^event_type "hover" is not one of view, click, purchase/,
  },
  {
    name: 'huge record',
    raw: JSON.stringify(event({ ip_address: 'x'.repeat(100_000) })),
    reason: /^record is \d+ bytes, above the 4096-byte limit/,
  },
  {
    name: 'far-future timestamp',
    raw: JSON.stringify(event({ event_time: String(NOW + 30 * DAY) })),
    reason: /^event_time \d+ is further in the future than allowed .*ingest\.maxFutureMs/,
  },
  {
    name: 'negative timestamp',
    raw: JSON.stringify(event({ event_time: '-1000' })),
    reason: /^event_time "-1000" must be non-negative epoch milliseconds/,
  },
  {
    name: 'non-numeric timestamp',
    raw: JSON.stringify(event({ event_time: '1e400' })),
    reason: /^event_time "1e400" must be non-negative epoch milliseconds/,
  },
  {
    name: 'unknown ad',
    raw: JSON.stringify(event({ ad_id: '00000000-0000-4000-8000-000000000000' })),
    reason: /^ad_id 00000000-0000-4000-8000-000000000000 is not in the reference data/,
  },
  {
    name: 'id not a UUID',
    raw: JSON.stringify(event({ user_id: "'; DROP TABLE users; --" })),
    reason: /^user_id .* is not a UUID/,
  },
  { name: 'unicode garbage', raw: '\u0000\ufffe☃🦄 \u202e{"x"', reason: /^not valid JSON/ },
];

describe('bad input: dead letter with the reason, counters, the pipeline keeps running', () => {
  let dir: string;
  let lab: Lab;
  let validSent = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-bad-input-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          generator: { rate: 0 },
          batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
          speed: { flushIntervalMs: 100 },
          kappa: { checkpointIntervalMs: 100 },
        },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deadLetters = async (): Promise<{
    total: number;
    byReason: Record<string, number>;
    recent: DeadLetter[];
  }> => (await lab.app.inject({ method: 'GET', url: '/api/dead-letters?limit=100' })).json();

  it.each(CLASSES)(
    '$name → dead letter with its reason; the valid events after it are counted',
    async (c) => {
      const before = await deadLetters();
      const acceptedBefore = lab.services.ingest.counters.accepted;
      const res = await lab.app.inject({
        method: 'POST',
        url: `/api/events?source=${encodeURIComponent(c.name)}`,
        headers: { 'content-type': 'application/x-ndjson' },
        payload: [c.raw, valid(), valid()].join('\n'),
      });
      expect(res.statusCode).toBe(200);
      const summary = res.json<{
        accepted: number;
        rejected: number;
        rejections: Array<{ line: number; reason: string }>;
      }>();
      expect(summary.accepted).toBe(2);
      expect(summary.rejected).toBe(1);
      expect(summary.rejections[0]!.line).toBe(1);
      expect(summary.rejections[0]!.reason).toMatch(c.reason);
      validSent += 2;

      const after = await deadLetters();
      expect(after.total).toBe(before.total + 1);
      const letter = after.recent.at(-1)!;
      expect(letter.source).toBe(c.name);
      expect(letter.line).toBe(1);
      expect(letter.reason).toMatch(c.reason);
      expect(letter.raw).toBe(c.raw.slice(0, 64 * 1024)); // kept as received (cut at 64 KiB)
      expect(Object.values(after.byReason).reduce((s, n) => s + n, 0)).toBe(after.total);
      expect(lab.services.ingest.counters.accepted).toBe(acceptedBefore + 2);
    },
  );

  it('the dead-letter topic holds every rejected record, the event topic only the valid ones, and every layer counted them', async () => {
    const sum = async (topic: string): Promise<number> =>
      (await lab.services.log.offsets(topic)).reduce((s, p) => s + p.end, 0);
    expect(await sum(DEAD_LETTER_TOPIC)).toBe(CLASSES.length);
    expect(await sum(AD_EVENTS_TOPIC)).toBe(validSent);
    const status = (await lab.app.inject({ method: 'GET', url: '/api/status' })).json();
    expect(status.ingest).toEqual({ accepted: validSent, rejected: CLASSES.length });
    expect(status.deadLetters).toBe(CLASSES.length);

    // Kappa and the speed layer consumed every valid event (all views of known ads).
    await lab.services.kappa.sync(1, 30_000);
    await lab.services.speed.sync(30_000);
    const speed = (await lab.services.speed.currentStatus()) as { processed: number; invalid: number };
    expect(speed.processed).toBe(validSent);
    expect(speed.invalid).toBe(0);
    const jobs = (await lab.app.inject({ method: 'GET', url: '/api/kappa/jobs' })).json();
    const live = jobs.jobs.find((j: { id: number }) => j.id === 1);
    expect(live.counters).toMatchObject({ processed: validSent, counted: validSent, invalid: 0 });
  });

  it('records that bypass ingest (a foreign producer on the log) are counted as invalid or dead-lettered, never crash a layer', async () => {
    const before = (await deadLetters()).total;
    const foreign = [
      'not json at all',
      '{"event_type":"view","ad_id":"' + ref.ads[0]!.ad_id + '","event_time":"abc","user_id":"u"}',
      '{"event_type":"view","ad_id":"' + ref.ads[0]!.ad_id + '","event_time":"-5","user_id":"u"}',
      'null',
      '"a string"',
      JSON.stringify(event({ ad_id: randomUUID() })),
    ];
    await lab.services.log.append(
      AD_EVENTS_TOPIC,
      foreign.map((value) => ({ key: 'foreign', value })),
    );
    await lab.services.log.append(AD_EVENTS_TOPIC, [
      { key: 'k', value: valid() },
      { key: 'k', value: valid() },
    ]);
    const total = validSent + foreign.length + 2;

    await lab.services.kappa.sync(1, 30_000);
    const jobs = (await lab.app.inject({ method: 'GET', url: '/api/kappa/jobs' })).json();
    const live = jobs.jobs.find((j: { id: number }) => j.id === 1);
    expect(live.counters.processed).toBe(total);
    expect(live.counters.counted).toBe(validSent + 2);
    // The last foreign record is a well-formed event of an unknown ad: the join drops it.
    expect(live.counters.invalid).toBe(foreign.length - 1);

    await lab.services.speed.sync(30_000);
    const speed = (await lab.services.speed.currentStatus()) as {
      processed: number;
      invalid: number;
      running: boolean;
    };
    expect(speed.processed).toBe(total);
    expect(speed.invalid).toBe(foreign.length - 1); // the unknown ad is well-formed: the join drops it
    expect(speed.running).toBe(true);
    // No garbage window (NaN, negative) reached the realtime views.
    const windows = (await lab.services.store.keys('lklab:speed:views:')).map((k) =>
      Number(k.slice('lklab:speed:views:'.length)),
    );
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.filter((w) => !Number.isFinite(w) || w < 0)).toEqual([]);

    // The batch layer's ingest dead-letters them with the reason and builds its view from the rest.
    const run = (await lab.app.inject({ method: 'POST', url: '/api/lambda/batch-runs', payload: {} })).json<{
      id: number;
    }>();
    const done = await lab.services.batch.waitForRun(run.id, 60_000);
    expect(done.state, JSON.stringify(done)).toBe('completed');
    const after = await deadLetters();
    const fresh = after.recent.slice(-(after.total - before));
    // Batch ingest and the Kappa job each dead-letter the 5 unreadable records (the unknown ad is a
    // well-formed record: the join drops it).
    const batchLetters = fresh.filter((l) => l.source.startsWith('batch-ingest'));
    expect(batchLetters).toHaveLength(foreign.length - 1);
    expect(batchLetters.map((l) => l.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^not valid JSON/),
        expect.stringMatching(/^missing field/),
        expect.stringMatching(/^not a JSON object/),
      ]),
    );
    const lambda = (await lab.app.inject({ method: 'GET', url: '/api/lambda' })).json();
    expect(lambda.batch.view.events).toBe(validSent + 2 + 1);
  });
});
