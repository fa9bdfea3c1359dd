import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/create-lab.js';
import { loadConfig, type DeepPartial } from '../../kernel/config/load-config.js';
import type { LabConfig } from '../../kernel/config/defaults.js';
import { isLabError } from '../../kernel/errors/lab-error.js';
import { redactSetting, redactText, redactUrl } from '../../kernel/util/redact.js';
import { assertSafeBind, isLoopbackHost } from './bind-policy.js';
import { isControlRoute } from './control-routes.js';
import { tokenMatches } from './security.js';

type LightResponse = Awaited<ReturnType<Lab['app']['inject']>>;
const TOKEN = 'test-token-0123456789abcdef';
const dirs: string[] = [];

async function lab(overrides: DeepPartial<LabConfig> = {}): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-sec-'));
  dirs.push(dir);
  return createLab(
    loadConfig({
      env: {},
      overrides: {
        dataDir: dir,
        generator: { rate: 0 },
        batch: { intervalMs: 0, ingestIntervalMs: 60_000 },
        ...overrides,
      },
    }),
  );
}

type Spec = { paths: Record<string, Record<string, unknown>> };

/** Every route of the OpenAPI document as [METHOD, url with path parameters filled in]. */
async function routes(app: Lab['app']): Promise<Array<[string, string]>> {
  const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json<Spec>();
  return Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m): [string, string] => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, '1')]),
  );
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('bind policy', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of [
      '0.0.0.0',
      '::',
      '10.0.0.5',
      '192.168.1.2',
      'example.org',
      '128.0.0.1',
      'localhost.evil.org',
    ])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses a non-loopback bind without a token, naming the setting and the fix', () => {
    expect(() => assertSafeBind({ host: '127.0.0.1', port: 3000, token: '' })).not.toThrow();
    expect(() => assertSafeBind({ host: '0.0.0.0', port: 3000, token: TOKEN })).not.toThrow();
    let err: unknown;
    try {
      assertSafeBind({ host: '0.0.0.0', port: 3000, token: '' });
    } catch (e) {
      err = e;
    }
    expect(isLabError(err) && err.code).toBe('LKL_ERR_CONFIG_UNSAFE_BIND');
    expect((err as Error).message).toContain('server.token');
    expect((err as Error).message).toContain('LKLAB_TOKEN');
    expect((err as Error).message).toContain('127.0.0.1');
  });

  it('refuses listen() on 0.0.0.0 without a token, before binding', async () => {
    const l = await lab({ server: { host: '0.0.0.0', port: 0 } });
    try {
      await expect(l.listen()).rejects.toMatchObject({ code: 'LKL_ERR_CONFIG_UNSAFE_BIND' });
      expect(l.url).toBeUndefined();
    } finally {
      await l.close();
    }
  });
});

describe('control routes and the token', () => {
  let l: Lab;
  beforeAll(async () => {
    l = await lab({ server: { token: TOKEN } });
  });
  afterAll(async () => l?.close());

  it('classifies routes by method unless the route says otherwise', () => {
    expect(isControlRoute('POST', {})).toBe(true);
    expect(isControlRoute('DELETE', undefined)).toBe(true);
    expect(isControlRoute('GET', {})).toBe(false);
    expect(isControlRoute('GET', { control: true })).toBe(true);
    expect(isControlRoute('POST', { control: false })).toBe(false);
  });

  it('compares tokens exactly', () => {
    expect(tokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(tokenMatches(`bearer  ${TOKEN} `, TOKEN)).toBe(true);
    expect(tokenMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN, TOKEN)).toBe(false);
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
  });

  it('answers 401 on every control route of the spec without the token or with a wrong one', async () => {
    const control = (await routes(l.app)).filter(([m]) => m !== 'GET');
    expect(control.map(([m, u]) => `${m} ${u}`)).toEqual(
      expect.arrayContaining([
        'POST /api/events',
        'POST /api/kappa/replays',
        'POST /api/kappa/switchover',
        'POST /api/kappa/rollback',
        'POST /api/kappa/replays/1/abort',
        'POST /api/lambda/deploy',
        'POST /api/lambda/batch-runs',
      ]),
    );
    for (const [method, url] of control) {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${TOKEN}`]) {
        const res = await l.app.inject({
          method: method as 'POST',
          url,
          headers: authorization ? { authorization } : {},
          payload: {},
        });
        expect(res.statusCode, `${method} ${url} with ${authorization}`).toBe(401);
        expect(res.json().error.code).toBe('LKL_ERR_API_UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="lklab"');
        expect(res.body).not.toContain(TOKEN);
      }
    }
    // Nothing happened: no replay started, nothing appended.
    expect((await l.app.inject({ method: 'GET', url: '/api/kappa/jobs' })).json().jobs).toHaveLength(1);
    expect(l.services.ingest.counters.accepted).toBe(0);
  });

  it('never shows the token in any answer of the API', async () => {
    const reads = (await routes(l.app)).filter(([m, u]) => m === 'GET' && u !== '/api/stream');
    expect(reads.length).toBeGreaterThan(10);
    for (const [, url] of [...reads, ['GET', '/docs/json'] as [string, string]]) {
      const res = await l.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.body, url).not.toContain(TOKEN);
      expect(JSON.stringify(res.headers), url).not.toContain(TOKEN);
    }
  });

  it('lets the token through and leaves reads open', async () => {
    const bad = await l.app.inject({
      method: 'POST',
      url: '/api/lambda/deploy',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { layer: 'speed', logicVersion: 99 },
    });
    expect(bad.statusCode).toBe(400); // authorised, then validated
    const ok = await l.app.inject({
      method: 'POST',
      url: '/api/lambda/batch-runs',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: {},
    });
    expect(ok.statusCode).toBe(202);
    for (const url of ['/api/health', '/api/ready', '/api/status', '/api/kappa/jobs', '/api/dead-letters'])
      expect((await l.app.inject({ method: 'GET', url })).statusCode, url).toBeLessThan(400);
  });
});

describe('without a token, on loopback', () => {
  let l: Lab;
  beforeAll(async () => {
    l = await lab();
  });
  afterAll(async () => l?.close());

  it('control routes work for the CLI and the same-origin dashboard, not for other sites', async () => {
    const call = (headers: Record<string, string>): Promise<LightResponse> =>
      l.app.inject({ method: 'POST', url: '/api/lambda/batch-runs', headers, payload: {} });
    expect((await call({})).statusCode).toBe(202);
    expect((await call({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' })).statusCode).toBe(202);
    const csrf = await call({ host: '127.0.0.1:3000', origin: 'https://evil.example' });
    expect(csrf.statusCode).toBe(403);
    expect(csrf.json().error.code).toBe('LKL_ERR_API_FORBIDDEN');
    expect((await call({ host: '127.0.0.1:3000', origin: 'null' })).statusCode).toBe(403);
  });

  it('refuses requests naming a non-loopback host (DNS rebinding)', async () => {
    const res = await l.app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { host: 'rebind.evil.example:3000' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('LKL_ERR_API_FORBIDDEN');
    expect(
      (await l.app.inject({ method: 'GET', url: '/api/status', headers: { host: 'localhost:3000' } }))
        .statusCode,
    ).toBe(200);
  });

  it('limits bodies: small JSON for control routes, ingest.maxBodyBytes for events', async () => {
    const big = JSON.stringify({ logicVersion: 2, pad: 'x'.repeat(2 * 1024 * 1024) });
    const res = await l.app.inject({
      method: 'POST',
      url: '/api/kappa/replays',
      headers: { 'content-type': 'application/json' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.message).toContain('server.maxBodyBytes');
    const events = await l.app.inject({
      method: 'POST',
      url: '/api/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${'{"x":1}\n'.repeat(300_000)}`, // 2.4 MB of (invalid) records: accepted by size, dead-lettered
    });
    expect(events.statusCode).toBe(200);
    expect(events.json().rejected).toBe(300_000);
  });
});

describe('rate limiting', () => {
  let l: Lab;
  beforeAll(async () => {
    l = await lab({ server: { rateLimit: 5 } });
  });
  afterAll(async () => l?.close());

  it('answers 429 after server.rateLimit requests a minute from one remote client, others unaffected', async () => {
    const get = (remoteAddress: string, url = '/api/health'): Promise<LightResponse> =>
      l.app.inject({ method: 'GET', url, remoteAddress });
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await get('10.1.2.3')).statusCode);
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await get('10.1.2.3');
    expect(limited.json().error.code).toBe('LKL_ERR_API_RATE_LIMITED');
    expect(limited.json().error.retriable).toBe(true);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get('10.9.9.9')).statusCode).toBe(200); // another client
    for (let i = 0; i < 20; i++) expect((await get('127.0.0.1')).statusCode).toBe(200); // loopback
    expect((await get('10.1.2.3', '/docs/json')).statusCode).toBe(200); // docs and static files
  });
});

describe('no secrets in logs and errors', () => {
  it('redacts URL passwords and the token', () => {
    expect(redactUrl('redis://:s3cret@redis:6379/0')).toBe('redis://:***@redis:6379/0');
    expect(redactUrl('rediss://user:s3cret@h:1')).toBe('rediss://user:***@h:1');
    expect(redactUrl('redis://127.0.0.1:16379')).toBe('redis://127.0.0.1:16379');
    expect(redactText(`failed at redis://u:pw@h:1 with ${TOKEN}`, [TOKEN])).toBe(
      'failed at redis://u:***@h:1 with ***',
    );
    expect(redactSetting('server.token', TOKEN)).toBe('"***"');
  });

  it('config errors never print the token or a Redis password', () => {
    for (const env of [
      { LKLAB_TOKEN: 'short secret' },
      { REDIS_URL: 'http://:hunter2-password@redis:6379' },
    ]) {
      let message = '';
      try {
        loadConfig({ env });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('Invalid configuration');
      expect(message).not.toContain('short secret');
      expect(message).not.toContain('hunter2');
    }
  });
});
