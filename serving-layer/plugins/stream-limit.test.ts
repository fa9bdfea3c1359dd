import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../lab/create-lab.js';
import { loadConfig } from '../../kernel/config/load-config.js';
import { waitUntil } from '../../kernel/util/wait-until.js';

describe('GET /api/stream is bounded (server.maxStreams, real socket)', () => {
  let lab: Lab;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-streams-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: { dataDir: dir, generator: { rate: 0 }, server: { port: 0, maxStreams: 2 } },
      }),
      { roles: { speed: false, kappa: false, generator: false } },
    );
    url = await lab.listen();
  });
  afterAll(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves 2 streams, answers a third 429 LKL_ERR_API_TOO_MANY_STREAMS with Retry-After, and one more once a stream closes', async () => {
    const aborts = [new AbortController(), new AbortController()];
    const open = await Promise.all(aborts.map((a) => fetch(`${url}/api/stream`, { signal: a.signal })));
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const third = await fetch(`${url}/api/stream`);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBe(5);
    const body = (await third.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('LKL_ERR_API_TOO_MANY_STREAMS');
    expect(body.error.message).toContain('server.maxStreams = 2');

    aborts[0]!.abort();
    const again = await waitUntil(
      async () => {
        const a = new AbortController();
        const res = await fetch(`${url}/api/stream`, { signal: a.signal });
        if (res.status === 200) {
          a.abort();
          return res;
        }
        await res.text();
        return undefined;
      },
      { what: 'a closed stream to free its place', timeoutMs: 2_500, intervalMs: 50 },
    );
    expect(again.status, 'a closed stream frees its place').toBe(200);
    aborts[1]!.abort();
  });
});
