import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLabError } from '../../kernel/errors/lab-error.js';
import { redactUrls } from '../../kernel/util/redact.js';
import { isControlRoute } from '../security/control-routes.js';
import { RATE_LIMIT_EXEMPT_ROUTES } from '../security/security.js';
import { errorResponse } from './error-schema.js';

/** Every error answer has one shape: { error: { code, message, retriable, details? } }. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isLabError(err)) {
      // A limit the client hit (429/503) says when to come back: details.retryAfterS → Retry-After.
      const after = err.details?.retryAfterS;
      if (typeof after === 'number' && after > 0) void reply.header('retry-after', String(Math.ceil(after)));
      return reply.status(err.httpStatus).send({ error: err.toJSON() });
    }
    if (err.validation) {
      const where = err.validationContext ?? 'request';
      const detail = err.validation
        .map(
          (v) =>
            `${where}${v.instancePath ? v.instancePath.replace(/\//g, '.') : ''} ${v.message ?? 'is invalid'}`,
        )
        .join('; ');
      return reply.status(400).send({
        error: {
          code: 'LKL_ERR_API_BAD_REQUEST',
          message: `Invalid request: ${detail}. See /docs for the expected shape.`,
          retriable: false,
        },
      });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'unhandled error');
    const code =
      status === 413
        ? 'LKL_ERR_API_BAD_REQUEST'
        : status === 500
          ? 'LKL_ERR_API_INTERNAL'
          : 'LKL_ERR_API_BAD_REQUEST';
    const message =
      status === 413
        ? request.url.startsWith('/api/events')
          ? `Request body is larger than the limit (ingest.maxBodyBytes). Split it, e.g. with \`lklab import FILE\`, which sends chunks.`
          : `Request body is larger than the limit (server.maxBodyBytes); this route takes small JSON bodies (see /docs).`
        : status === 415
          ? `Unsupported content type. Send application/json (a JSON array) or application/x-ndjson.`
          : redactUrls(err.message);
    return reply.status(status).send({ error: { code, message, retriable: status >= 500 } });
  });
  const routes = new RouteMethods();
  app.addHook('onRoute', (r) => {
    routes.add(r.url, r.method);
    documentErrorResponses(r as unknown as Parameters<typeof documentErrorResponses>[0]);
  });
  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.allowed(request.url.split('?')[0]!);
    if (allowed.length > 0) {
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .send({
          error: {
            code: 'LKL_ERR_API_METHOD_NOT_ALLOWED',
            message: `${request.method} is not a method of ${request.url.split('?')[0]}; it takes ${allowed.join(', ')} (the Allow header). The API is listed at /docs.`,
            retriable: false,
          },
        });
    }
    return reply.status(404).send({
      error: {
        code: 'LKL_ERR_API_NOT_FOUND',
        message: `No route ${request.method} ${request.url}. The API is listed at /docs.`,
        retriable: false,
      },
    });
  });
}

/**
 * Errors the router answers before any route or hook runs (a path that is not valid URL encoding,
 * a path parameter longer than maxParamLength), in the one error shape instead of Fastify's own
 * ({ error: "Bad Request", code: "FST_ERR_..." }): 400 and 414 LKL_ERR_API_BAD_REQUEST.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0]!;
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const status = tooLong ? 414 : err.code === 'FST_ERR_BAD_URL' ? 400 : 500;
  const message = tooLong
    ? `A path segment of ${path.slice(0, 200)} is longer than the server takes (100 characters); ids are short (see /docs).`
    : status === 400
      ? `The path ${path.slice(0, 200)} is not valid URL encoding; percent-encode it (see /docs).`
      : redactUrls(err.message);
  void reply.status(status).send({
    error: {
      code: status === 500 ? 'LKL_ERR_API_INTERNAL' : 'LKL_ERR_API_BAD_REQUEST',
      message,
      retriable: status === 500,
    },
  });
}

/**
 * States in the OpenAPI document the error answers every /api route can give besides its own
 * (which a route lists itself: 404 for an unknown run, 409 for a refused command, ...): 400 when
 * it validates a part of the request, 413/415 when it takes a body, 401/403 on a control route
 * (docs/security.md), 429 when it is rate-limited (server.rateLimit), 500 on every route. A
 * status the route already lists is left as it is.
 */
export function documentErrorResponses(r: {
  url: string;
  method: string | string[];
  schema?: Record<string, unknown>;
  config?: { control?: boolean; rateLimit?: unknown };
}): void {
  if (!r.url.startsWith('/api/') || !r.schema || r.schema.hide === true) return;
  const methods = Array.isArray(r.method) ? r.method : [r.method];
  const response = ((r.schema.response as Record<string, unknown> | undefined) ??= {});
  const add = (status: number, description: string): void => {
    if (!(status in response) && !(String(status) in response)) response[status] = errorResponse(description);
  };
  // A route that states only its errors still answers 2xx: say so, without a schema (the body
  // is serialised as it is; the route's summary says what it holds).
  if (!Object.keys(response).some((k) => k.startsWith('2'))) response['2xx'] = { description: 'success' };
  const validates = ['body', 'querystring', 'params', 'headers'].some((k) => r.schema![k] !== undefined);
  const hasBody = methods.some((m) => !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(m.toUpperCase()));
  if (validates || hasBody)
    add(400, 'LKL_ERR_API_BAD_REQUEST: the request does not match this schema (the message names the field)');
  if (r.url.includes('/:')) add(414, 'LKL_ERR_API_BAD_REQUEST: a path parameter longer than 100 characters');
  if (hasBody) {
    add(413, 'LKL_ERR_API_BAD_REQUEST: the body is larger than the limit (server.maxBodyBytes)');
    add(415, 'LKL_ERR_API_BAD_REQUEST: the content type is not application/json');
  }
  if (methods.some((m) => isControlRoute(m, r.config))) {
    add(401, 'LKL_ERR_API_UNAUTHORIZED: a control route without the bearer token (server.token)');
    add(
      403,
      'LKL_ERR_API_FORBIDDEN: a cross-site or rebinding request to a control route (docs/security.md)',
    );
  }
  // Any route: a fault of the lab itself, in the same error shape (docs/errors.md).
  add(
    500,
    "LKL_ERR_API_INTERNAL (or the failing part's own code, e.g. LKL_ERR_KAPPA_STATE_CORRUPT): a fault of the lab itself; the message says what failed",
  );
  if (!RATE_LIMIT_EXEMPT_ROUTES.has(r.url) && r.config?.rateLimit !== false)
    add(
      429,
      'LKL_ERR_API_RATE_LIMITED: more requests per minute than server.rateLimit (Retry-After says when)',
    );
}

/**
 * The methods of every registered route by path pattern (`:param` segments, a trailing `*`), so
 * that a request whose path exists with other methods gets 405 and `Allow` instead of 404.
 */
export class RouteMethods {
  private readonly patterns = new Map<string, { re: RegExp; methods: Set<string> }>();

  add(url: string, method: string | string[]): void {
    let p = this.patterns.get(url);
    if (!p) {
      const re = new RegExp(
        `^${url
          .split('/')
          .map((seg) =>
            seg === '*' ? '.*' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
          )
          .join('/')}/?$`,
      );
      this.patterns.set(url, (p = { re, methods: new Set() }));
    }
    for (const m of Array.isArray(method) ? method : [method]) p.methods.add(m.toUpperCase());
  }

  /** The methods `path` takes, sorted; empty when no route has this path. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const { re, methods } of this.patterns.values())
      if (re.test(path)) for (const m of methods) out.add(m);
    return [...out].sort();
  }
}
