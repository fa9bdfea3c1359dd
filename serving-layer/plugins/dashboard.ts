import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard's folder (`dashboard/public/`), found from this file whether it runs from the
 * TypeScript source (`serving-layer/plugins/`) or compiled (`dist/serving-layer/plugins/`).
 */
export function dashboardRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'dashboard', 'public');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new Error(
    `dashboard/public/index.html not found above ${from}; the dashboard ships with the repository.`,
  );
}

/** chart.js's distribution folder, resolved from node_modules like any import. */
export function chartJsRoot(): string {
  return resolve(dirname(createRequire(import.meta.url).resolve('chart.js')));
}

/**
 * The live dashboard at `/`: plain HTML, CSS and ES modules from `dashboard/public/`, chart.js's UMD
 * build from node_modules at `/vendor/chart.js/` — every asset from this server, none from anywhere
 * else. The page reads only the public API (and the SSE stream `GET /api/stream`).
 */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: dashboardRoot(),
    prefix: '/',
    index: 'index.html',
    wildcard: false,
    cacheControl: false,
    setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
  });
  // chart.js's UMD build (it sets window.Chart; the ESM build imports a bare specifier a browser
  // cannot resolve without a bundler) and its source map, read once.
  const vendor = chartJsRoot();
  for (const [file, type] of [
    ['chart.umd.min.js', 'text/javascript; charset=utf-8'],
    ['chart.umd.min.js.map', 'application/json; charset=utf-8'],
  ] as const) {
    const body = await readFile(join(vendor, file));
    app.get(`/vendor/chart.js/${file}`, { schema: { hide: true } }, async (_req, reply) =>
      reply.type(type).header('cache-control', 'public, max-age=3600').send(body),
    );
  }
}
