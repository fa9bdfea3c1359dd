import { createHash, timingSafeEqual } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LabConfig } from '../../kernel/config/defaults.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import { isLoopbackHost } from './bind-policy.js';
import { isControlRoute } from './control-routes.js';

/** /api routes never rate-limited: the dashboard's live stream holds one long request open. */
export const RATE_LIMIT_EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/api/stream']);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of a presented bearer token with the configured one. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(digest(m[1] as string), digest(token));
}

function hostOf(hostHeader: string): string {
  // "127.0.0.1:3000" → 127.0.0.1, "[::1]:3000" → ::1, "localhost" → localhost
  const h = hostHeader.trim();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

function crossSite(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || origin === '') return false;
  try {
    return new URL(origin).host.toLowerCase() !== String(request.headers.host ?? '').toLowerCase();
  } catch {
    return true; // "null" (sandboxed frames, file:) or garbage
  }
}

/**
 * The API's safety rules (docs/security.md), on the root instance so that they cover every route,
 * including routes other plugins add later:
 * - control routes (control-routes.ts) need `Authorization: Bearer <server.token>` when a token is set;
 * - control routes refuse cross-site browser requests (an Origin other than the Host), so a web page
 *   cannot drive a lab on loopback (CSRF);
 * - bound to loopback, requests must name a loopback Host (DNS rebinding);
 * - /api routes are rate-limited per client address (server.rateLimit per minute), except loopback
 *   clients, the live stream and routes with `config: { rateLimit: false }`.
 * Must be called before the routes are registered (the rate limiter hooks into each new route).
 */
export async function registerSecurity(
  app: FastifyInstance,
  server: Readonly<LabConfig['server']>,
): Promise<void> {
  const loopbackOnly = isLoopbackHost(server.host);
  app.addHook('onRequest', async (request) => {
    if (loopbackOnly && request.headers.host !== undefined && !isLoopbackHost(hostOf(request.headers.host))) {
      throw new LabError(
        'LKL_ERR_API_FORBIDDEN',
        `This lab listens on loopback only and answers requests addressed to localhost or 127.0.0.1, not "${hostOf(request.headers.host).slice(0, 100)}" (protection against DNS rebinding). To expose it, see docs/security.md.`,
      );
    }
    if (request.routeOptions.url === undefined) return; // no route: the 404 handler answers
    if (!isControlRoute(request.method, request.routeOptions.config)) return;
    if (crossSite(request)) {
      throw new LabError(
        'LKL_ERR_API_FORBIDDEN',
        `${request.method} ${request.routeOptions.url} changes the lab and refuses cross-site requests (Origin ${String(request.headers.origin).slice(0, 100)} is not this server). Use the lab's own dashboard or the CLI.`,
      );
    }
    if (server.token !== '' && !tokenMatches(request.headers.authorization, server.token)) {
      throw new LabError(
        'LKL_ERR_API_UNAUTHORIZED',
        `${request.method} ${request.routeOptions.url} changes the lab and needs "Authorization: Bearer <token>" with the token of server.token (LKLAB_TOKEN); the CLI sends it when LKLAB_TOKEN is set. See docs/security.md.`,
      );
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="lklab"');
    return payload;
  });

  if (server.rateLimit > 0) {
    await app.register(fastifyRateLimit, {
      global: true,
      max: server.rateLimit,
      timeWindow: 60_000,
      allowList: (request) =>
        isLoopbackHost(request.ip) ||
        !request.url.startsWith('/api/') ||
        RATE_LIMIT_EXEMPT_ROUTES.has(request.routeOptions.url ?? ''),
      errorResponseBuilder: (_request, context) =>
        new LabError(
          'LKL_ERR_API_RATE_LIMITED',
          `Too many requests: at most ${context.max} per minute per client (server.rateLimit). Retry in ${context.after}.`,
          { details: { max: context.max, retryAfterMs: context.ttl } },
        ),
    });
  }
}
