import type { FastifyInstance } from 'fastify';
import { LabError } from '../../kernel/errors/lab-error.js';
import type { LabServices } from '../lab-services.js';
import { eventTimeRange } from './range-query.js';
import { errorResponse, unavailableResponse } from './error-schema.js';
import {
  BatchRowCache,
  MAX_QUERY_WINDOWS,
  queryViewsJson,
  type Arch,
  type Metric,
} from '../../query/view-query.js';

interface ViewsQuerystring {
  arch: Arch;
  metric?: Metric;
  from: number;
  to: number;
  campaign?: string;
}

export async function viewRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;
  // The serialized rows of published batch windows, shared by the queries that cover them.
  const batchRows = new BatchRowCache();
  app.get<{ Querystring: ViewsQuerystring }>(
    '/api/views',
    {
      schema: {
        tags: ['views'],
        summary:
          'Views per campaign and 10 s window. arch=lambda merges at the batch boundary (below: batch view, at/above: realtime view); batch and speed answer from one layer; kappa answers from the active Kappa table (source kappa, version = job N). Each window carries its provenance.',
        querystring: {
          type: 'object',
          required: ['arch', 'from', 'to'],
          additionalProperties: false,
          properties: {
            arch: { type: 'string', enum: ['lambda', 'batch', 'speed', 'kappa'] },
            metric: { type: 'string', enum: ['views', 'distinct_users'], default: 'views' },
            ...eventTimeRange(MAX_QUERY_WINDOWS),
            campaign: {
              type: 'string',
              format: 'uuid',
              example: '00000000-0000-4000-8000-000000000000',
              description: 'only this campaign (GET /api/reference/ads lists them)',
            },
          },
        },
        // A response schema lets Fastify serialise answers with a compiled serializer (fast-json-stringify).
        response: {
          400: errorResponse(
            'LKL_ERR_API_BAD_REQUEST: a parameter does not match this schema, to ≤ from, or the range is longer than allowed',
          ),
          503: unavailableResponse(),
          200: {
            type: 'object',
            properties: {
              arch: { type: 'string' },
              metric: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              boundary: { type: ['integer', 'null'] },
              batchVersion: { type: ['integer', 'null'] },
              batchLogicVersion: { type: ['integer', 'null'] },
              boundaryLagMs: { type: ['integer', 'null'] },
              windows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    campaign_id: { type: 'string' },
                    window_start: { type: 'integer' },
                    value: { type: 'number' },
                    source: { type: 'string', enum: ['batch', 'speed', 'kappa'] },
                    version: { type: 'integer' },
                    logicVersion: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (q.to <= q.from)
        throw new LabError(
          'LKL_ERR_API_BAD_REQUEST',
          `"to" (${q.to}) must be greater than "from" (${q.from}).`,
        );
      if ((q.to - q.from) / 10_000 > MAX_QUERY_WINDOWS) {
        throw new LabError(
          'LKL_ERR_API_BAD_REQUEST',
          `The range spans more than ${MAX_QUERY_WINDOWS} windows of 10 s; query a shorter range.`,
        );
      }
      // Already JSON (the bytes the response schema's serializer would write): sent as is.
      const json = await queryViewsJson(
        { arch: q.arch, metric: q.metric ?? 'views', from: q.from, to: q.to, campaign: q.campaign },
        lab.batch.views,
        lab.store,
        lab.clock.now(),
        batchRows,
      );
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );
}
