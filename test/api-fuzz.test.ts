/**
 * Fuzzing of the HTTP API from its own OpenAPI document: for every route, fast-check derives
 * requests from the route's schemas (path, query, body) — mostly plausible values, with edge cases
 * mixed in — and adds garbage: wrong types, huge and unicode strings, huge numbers, invalid JSON,
 * wrong content types, deep nesting, oversized bodies, unknown parameters, other methods. Nothing
 * may answer 5xx, and the lab must still be healthy at the end: responsive (health under 100 ms),
 * its scenario runs bounded (docs/limits.md), its memory under a bound.
 *
 * LKLAB_FUZZ_RUNS sets the requests per route and kind (default 60).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { VirtualClock } from '../kernel/clock/virtual-clock.js';
import { loadConfig } from '../kernel/config/load-config.js';
import { AD_EVENTS_TOPIC, encodeEvent, type YsbEvent } from '../kernel/events/ysb-event.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';

const RUNS = Number(process.env.LKLAB_FUZZ_RUNS ?? 60);
/** After the fuzzing: /api/health answers within this (median of 10), docs/limits.md. */
const HEALTH_BOUND_MS = 100;
/** ... and the test process (the lab, its scenario-run labs, vitest) stays under this RSS, MB. */
const RSS_BOUND_MB = 1000;
const T0 = 1_700_000_000_000;
const TOKEN = 'fuzz-token-0123456789abcdef';
/** Routes a request/response test cannot drive: the SSE stream never ends. */
const SKIP = new Set(['GET /api/stream']);

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  nullable?: boolean;
}
interface Operation {
  parameters?: Array<{ in: 'path' | 'query' | 'header'; name: string; schema: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}
type Spec = { paths: Record<string, Record<string, Operation>> };

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

const EDGE_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '1e999',
  'NaN',
  'Infinity',
  'null',
  'true',
  '9'.repeat(400),
  '\u0000',
  '\ufeff\u202e',
  '💥'.repeat(200),
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '../../../etc/passwd',
  '%00%ff',
  '__proto__',
  'constructor',
  'a'.repeat(10_000),
];
const EDGE_NUMBERS = [
  0,
  -0,
  -1,
  1,
  1.5,
  -1.5,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  5e-324,
];

/** Anything at all: the values a confused or hostile client sends. */
const wild: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, {}, [], { __proto__: { polluted: 1 } }, [[[[[]]]]]),
  fc.constantFrom(...EDGE_STRINGS),
  fc.constantFrom(...EDGE_NUMBERS),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

/** Values shaped by a JSON schema — mostly plausible, sometimes at or past the bounds — or wild ones. */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return wild;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  let shaped: fc.Arbitrary<unknown>;
  if (schema.enum) shaped = fc.constantFrom(...schema.enum);
  else if (type === 'integer' || type === 'number') {
    const min = schema.minimum ?? -(2 ** 40);
    const max = schema.maximum ?? 2 ** 40;
    shaped = fc.oneof(
      type === 'integer'
        ? fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) })
        : fc.double({ min, max, noNaN: true }),
      fc.constantFrom(min, max, min - 1, max + 1, ...EDGE_NUMBERS),
    );
  } else if (type === 'string') {
    shaped =
      schema.format === 'uuid'
        ? fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }))
        : fc.oneof(
            fc.string({ maxLength: Math.min(schema.maxLength ?? 60, 400), unit: 'grapheme' }),
            fc.constant('x'.repeat((schema.maxLength ?? 200) + 1)),
          );
  } else if (type === 'boolean') shaped = fc.boolean();
  else if (type === 'array') shaped = fc.array(fromSchema(schema.items, depth + 1), { maxLength: 5 });
  else if (type === 'object' || schema.properties) {
    const props = schema.properties ?? {};
    const record = fc.record(
      Object.fromEntries(Object.entries(props).map(([k, s]) => [k, fromSchema(s, depth + 1)])),
      { requiredKeys: (schema.required ?? []).filter((k) => k in props) },
    );
    shaped = fc.oneof(
      { weight: 4, arbitrary: record },
      // An unknown property, or the required ones missing.
      {
        weight: 1,
        arbitrary: fc
          .tuple(record, fc.string({ maxLength: 10 }), wild)
          .map(([r, k, v]) => ({ ...r, [k]: v })),
      },
      {
        weight: 1,
        arbitrary: fc.record(
          Object.fromEntries(Object.entries(props).map(([k, s]) => [k, fromSchema(s, depth + 1)])),
          { requiredKeys: [] },
        ),
      },
    );
  } else shaped = wild;
  return fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: wild });
}

const asParam = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined ? '' : (JSON.stringify(v) ?? String(v));

const ref = buildReferenceData();
const validEvent = fc
  .record({
    user: fc.nat(ref.userPool.length - 1),
    ad: fc.nat(ref.ads.length - 1),
    t: fc.integer({ min: 0, max: 600_000 }),
  })
  .map(({ user, ad, t }) =>
    encodeEvent({
      user_id: ref.userPool[user]!,
      page_id: ref.pagePool[0]!,
      ad_id: ref.ads[ad]!.ad_id,
      ad_type: 'banner',
      event_type: 'view',
      event_time: String(T0 - t),
      ip_address: '1.2.3.4',
    } satisfies YsbEvent),
  );

/** A body for a route: JSON from its schema, or garbage with a matching or a wrong content type. */
function bodyFor(
  route: string,
  schema: JsonSchema | undefined,
): fc.Arbitrary<{ payload?: string; type?: string }> {
  const garbageText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom(
      '{"a":',
      '{"logicVersion": 1e999}',
      '{"logicVersion": 123456789012345678901234567890}',
      '{"__proto__": {"x": 1}, "constructor": {"prototype": {"y": 1}}}',
      '['.repeat(20_000) + ']'.repeat(20_000),
      '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000),
      '\ufeff{}',
      'null',
      '"string"',
      '12',
    ),
  );
  const types = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-16',
    'text/plain',
    'application/x-ndjson',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=----x',
    'application/xml',
    'image/png',
    '',
    'garbage/;;;',
  );
  const options: Array<fc.Arbitrary<{ payload?: string; type?: string }>> = [
    fromSchema(schema).map((v) => ({ payload: JSON.stringify(v) ?? 'null', type: 'application/json' })),
    fc.tuple(garbageText, types).map(([payload, type]) => ({ payload, type })),
    fc.constant({}),
  ];
  if (route === 'POST /api/events') {
    options.push(
      fc
        .array(fc.oneof({ weight: 2, arbitrary: validEvent }, { weight: 1, arbitrary: wild.map(asParam) }), {
          maxLength: 20,
        })
        .chain((lines) =>
          fc.constantFrom(
            { payload: lines.join('\n'), type: 'application/x-ndjson' },
            { payload: `[${lines.filter((l) => l.startsWith('{')).join(',')}]`, type: 'application/json' },
            { payload: lines.join('\r\n'), type: 'text/plain' },
          ),
        ),
    );
  }
  return fc.oneof(...options);
}

function requestsFor(path: string, method: string, op: Operation): fc.Arbitrary<FuzzRequest> {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const bodySchema = op.requestBody?.content?.['application/json']?.schema;
  const route = `${method} ${path}`;
  const pathArb = fc.tuple(...pathParams.map((p) => fromSchema(p.schema))).map((values) => {
    let url = path;
    pathParams.forEach((p, i) => {
      url = url.replace(`{${p.name}}`, encodeURIComponent(asParam(values[i])) || '%20');
    });
    return url;
  });
  const queryArb = fc
    .tuple(
      fc.tuple(...queryParams.map((p) => fc.option(fromSchema(p.schema), { nil: undefined }))),
      fc.option(fc.tuple(fc.string({ maxLength: 12 }), wild.map(asParam)), { nil: undefined }),
      fc.option(fc.constantFrom('%zz', 'a[b]=c', '&&&', '=', 'limit=1&limit=2', 'from=1&from=x'), {
        nil: undefined,
      }),
    )
    .map(([values, extra, raw]) => {
      const q = new URLSearchParams();
      queryParams.forEach((p, i) => {
        if (values[i] !== undefined) q.append(p.name, asParam(values[i]));
      });
      if (extra) q.append(extra[0], extra[1]);
      const s = q.toString();
      return [s, raw].filter(Boolean).join('&');
    });
  return fc
    .record({
      url: pathArb,
      query: queryArb,
      body:
        method === 'GET' ? fc.constant<{ payload?: string; type?: string }>({}) : bodyFor(route, bodySchema),
      auth: fc.constantFrom('token', 'token', 'token', 'none', 'wrong'),
    })
    .map(({ url, query, body, auth }) => {
      const headers: Record<string, string> = {};
      if (auth === 'token') headers.authorization = `Bearer ${TOKEN}`;
      if (auth === 'wrong') headers.authorization = 'Bearer nope';
      if (body.type !== undefined) headers['content-type'] = body.type;
      return {
        method,
        url: query ? `${url}?${query}` : url,
        headers,
        ...(body.payload !== undefined ? { payload: body.payload } : {}),
      };
    });
}

describe('API fuzzing from the OpenAPI document (embedded lab, inject)', () => {
  let dir: string;
  let lab: Lab;
  let spec: Spec;
  const statuses = new Map<number, number>();
  let requests = 0;

  async function send(req: FuzzRequest): Promise<number> {
    const res = await lab.app.inject({
      method: req.method as 'GET',
      url: req.url,
      headers: req.headers,
      ...(req.payload !== undefined ? { payload: req.payload } : {}),
    });
    requests++;
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    // The generator is a control too: keep it off whatever the fuzzer set (the clock is virtual anyway).
    if (req.url.startsWith('/api/generator')) await lab.services.generator.setRate(0);
    if (res.statusCode >= 500) {
      throw new Error(
        `${req.method} ${req.url.slice(0, 300)} [${JSON.stringify(req.headers)}] body ${JSON.stringify(req.payload?.slice(0, 300))} → ${res.statusCode} ${res.body.slice(0, 500)}`,
      );
    }
    return res.statusCode;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-fuzz-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: dir,
          server: { token: TOKEN, rateLimit: 0 },
          generator: { rate: 0 },
          batch: { intervalMs: 0 },
          kappa: { replayParallelism: 1 },
        },
      }),
      { clock: new VirtualClock(T0) },
    );
    const events = fc.sample(validEvent, { numRuns: 200, seed: 7 });
    await lab.services.log.append(
      AD_EVENTS_TOPIC,
      events.map((value) => ({ key: 'k', value })),
    );
    spec = (await lab.app.inject({ method: 'GET', url: '/docs/json' })).json<Spec>();
  }, 60_000);
  afterAll(async () => {
    console.log(
      `API fuzz: ${requests} requests over ${Object.values(spec?.paths ?? {}).reduce((s, ops) => s + Object.keys(ops).length, 0)} routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the spec lists the API', () => {
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/health',
        '/api/events',
        '/api/views',
        '/api/kappa/replays',
        '/api/lambda/deploy',
      ]),
    );
  });

  it('no route answers 5xx to requests derived from its schema, or to garbage', async () => {
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        const method = m.toUpperCase();
        if (SKIP.has(`${method} ${path}`)) continue;
        await fc.assert(
          fc.asyncProperty(requestsFor(path, method, op), async (req) => void (await send(req))),
          {
            numRuns: RUNS,
            seed: Number(process.env.LKLAB_FUZZ_SEED ?? 20261130),
            endOnFailure: false,
          },
        );
      }
    }
  }, 600_000);

  it('no 5xx for other methods, unknown paths, odd URLs and oversized bodies', async () => {
    const paths = Object.keys(spec.paths).map((p) => p.replace(/\{[^}]+\}/g, '1'));
    const odd = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      url: fc.oneof(
        fc.constantFrom(...paths),
        fc.constantFrom(...paths).map((p) => `${p}/../../..`),
        fc.constantFrom(...paths).map((p) => `${p}%00`),
        fc.constantFrom(
          '//',
          '/api//health',
          '/api/%2e%2e/',
          '/docs/../../etc/passwd',
          '/%F0%9F%92%A5',
          '/api/' + 'x'.repeat(5000),
        ),
        fc.webPath().map((p) => `/api${p}`),
      ),
    });
    await fc.assert(
      fc.asyncProperty(odd, async ({ method, url }) => {
        if (url === '/api/stream' && (method === 'GET' || method === 'HEAD')) return;
        await send({ method, url, headers: { authorization: `Bearer ${TOKEN}` } });
      }),
      { numRuns: RUNS * 5, seed: 4242 },
    );
    for (const url of ['/api/events', '/api/kappa/replays', '/api/lambda/deploy', '/api/generator']) {
      const status = await send({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        payload: `{"pad":"${'x'.repeat(url === '/api/events' ? 65 * 1024 * 1024 : 2 * 1024 * 1024)}"}`,
      });
      expect(status, url).toBe(413);
    }
  }, 300_000);

  it('the lab is still responsive, its scenario runs bounded and its memory under the bound', async () => {
    // The fuzzer rarely hits a real scenario id: add the abuse that took 6 GB before the limits.
    const ids = (await lab.app.inject({ url: '/api/scenarios' }))
      .json<Array<{ id: string; needsInfrastructure: boolean }>>()
      .filter((x) => !x.needsInfrastructure)
      .map((x) => x.id);
    const burst = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        lab.app.inject({
          method: 'POST',
          url: `/api/scenarios/${ids[i % ids.length]}/runs`,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          payload: { fast: i % 2 === 0 },
        }),
      ),
    );
    const codes = burst.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 202).length, JSON.stringify(codes)).toBeLessThanOrEqual(10);
    expect(codes.filter((c) => c !== 202).every((c) => c === 429)).toBe(true);
    await new Promise((r) => setTimeout(r, 3000)); // the run slots' labs start
    const runs = (await lab.app.inject({ url: '/api/scenarios/runs' })).json<
      Array<{ mode: string; state: string }>
    >();
    for (const mode of ['live', 'fast'])
      expect(
        runs.filter((r) => r.mode === mode && r.state === 'running').length,
        `${mode} runs running`,
      ).toBeLessThanOrEqual(1);
    expect(runs.filter((r) => r.state === 'queued').length).toBeLessThanOrEqual(8);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const res = await lab.app.inject({ method: 'GET', url: '/api/health' });
      latencies.push(performance.now() - t);
      expect(res.statusCode).toBe(200);
    }
    latencies.sort((a, b) => a - b);
    const mem = process.memoryUsage();
    console.log(
      `API fuzz after: /api/health median ${latencies[5]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; RSS ${Math.round(mem.rss / 2 ** 20)} MB (bound ${RSS_BOUND_MB}), heap ${Math.round(mem.heapUsed / 2 ** 20)} MB; scenario runs ${JSON.stringify(runs.map((r) => `${r.mode}:${r.state}`))}`,
    );
    expect(latencies[5]!).toBeLessThan(HEALTH_BOUND_MS);
    expect(mem.rss / 2 ** 20).toBeLessThan(RSS_BOUND_MB);
  });

  it('the lab is still healthy and still ingests', async () => {
    const health = await lab.app.inject({ method: 'GET', url: '/api/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json().status).toBe('ok');
    const before = lab.services.ingest.counters.accepted;
    const res = await send({
      method: 'POST',
      url: '/api/events',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' },
      payload: fc.sample(validEvent, { numRuns: 3, seed: 1 }).join('\n'),
    });
    expect(res).toBe(200);
    expect(lab.services.ingest.counters.accepted).toBe(before + 3);
  });
});
