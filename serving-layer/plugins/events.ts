import type { FastifyInstance } from 'fastify';
import { LabError } from '../../kernel/errors/lab-error.js';
import { IngestService } from '../../kernel/ingest/ingest-service.js';
import type { LabServices } from '../lab-services.js';
import { errorResponse, unavailableResponse } from './error-schema.js';
import { deadLettersSchema } from './response-schemas.js';

/** One YSB event as the body's example (the OpenAPI document shows it; conformance testers send it). */
const EXAMPLE_EVENT = JSON.stringify({
  user_id: '5c3b2f0e-8d6a-4f3e-9a51-1d2b3c4d5e6f',
  page_id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
  ad_id: '00000000-0000-4000-8000-000000000000',
  ad_type: 'banner',
  event_type: 'view',
  event_time: '1700000000000',
  ip_address: '1.2.3.4',
});

/** POST /api/events: NDJSON or a JSON array of YSB events; invalid records go to the dead-letter topic. */
export async function eventRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;
  // Take the body as text whatever the type, and split it ourselves: a bad record must not fail the batch.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(
    ['application/json', 'application/x-ndjson', 'text/plain'],
    { parseAs: 'string', bodyLimit: lab.config.ingest.maxBodyBytes },
    (_req, body, done) => done(null, body),
  );

  app.post<{ Querystring: { firstLine?: number; source?: string }; Body: string }>(
    '/api/events',
    {
      bodyLimit: lab.config.ingest.maxBodyBytes,
      schema: {
        tags: ['events'],
        summary:
          'Append YSB events to the log (NDJSON, one event per line, or a JSON array). Invalid records go to the dead-letter topic with their line and reason.',
        consumes: ['application/x-ndjson', 'application/json', 'text/plain'],
        body: {
          type: 'string',
          description:
            "Required: YSB events as NDJSON (one JSON object per line) or as one JSON array; read as text and split here, so that a bad record goes to the dead letters instead of failing the request. An empty body is 400 LKL_ERR_INGEST_BODY_INVALID. ad_id must be one of GET /api/reference/ads (the example's is not: it goes to the dead letters).",
          example: EXAMPLE_EVENT,
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            firstLine: {
              type: 'integer',
              minimum: 1,
              description: 'Line number of the first record (for import chunks).',
            },
            source: {
              type: 'string',
              maxLength: 200,
              description: 'Name recorded with dead letters (e.g. the file name).',
            },
          },
        },
        response: {
          400: errorResponse(
            'LKL_ERR_INGEST_BODY_INVALID (the body is empty or not NDJSON / a JSON array) or LKL_ERR_API_BAD_REQUEST (query parameters)',
          ),
          429: errorResponse(
            "LKL_ERR_INGEST_BACKPRESSURE (the lab's consumers are more than backpressure.maxLagEvents behind; nothing appended) or LKL_ERR_API_RATE_LIMITED; Retry-After says when to try again",
          ),
          413: errorResponse(
            'LKL_ERR_API_BAD_REQUEST: the body is larger than ingest.maxBodyBytes; split it (lklab import sends chunks)',
          ),
          415: errorResponse(
            'LKL_ERR_API_BAD_REQUEST: the content type is none of application/x-ndjson, application/json, text/plain',
          ),
          503: unavailableResponse(),
          200: {
            type: 'object',
            properties: {
              accepted: { type: 'integer' },
              rejected: { type: 'integer' },
              format: { type: 'string' },
              rejections: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { line: { type: 'integer' }, reason: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const body = typeof request.body === 'string' ? request.body : '';
      if (body.trim() === '') {
        throw new LabError(
          'LKL_ERR_INGEST_BODY_INVALID',
          'The body is empty: send YSB events as NDJSON (one JSON object per line) or as a JSON array.',
        );
      }
      if (lab.lag.saturated()) {
        lab.lag.noteThrottled();
        const snap = lab.lag.current;
        throw new LabError(
          'LKL_ERR_INGEST_BACKPRESSURE',
          `The lab's consumers are ${snap.maxLag} events behind (limit ${snap.limit}): nothing was appended. Retry after the Retry-After seconds (lklab import does).`,
          {
            retriable: true,
            details: { lag: snap.maxLag, limit: snap.limit, retryAfterS: lab.lag.retryAfterSeconds() },
          },
        );
      }
      const split = IngestService.splitBody(body);
      if ('error' in split)
        throw new LabError('LKL_ERR_INGEST_BODY_INVALID', `Cannot read the body: ${split.error}.`);
      const summary = await lab.ingest.ingestLines(
        split.lines,
        request.query.source ?? 'POST /api/events',
        request.query.firstLine ?? 1,
      );
      return { ...summary, format: split.format };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/dead-letters',
    {
      schema: {
        tags: ['events'],
        summary: 'Rejected records with their reason: totals per reason and the most recent ones.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: { 200: deadLettersSchema },
      },
    },
    async (request) => ({
      ...lab.deadLetters.counts(),
      topic: lab.deadLetters.topic,
      recent: lab.deadLetters.recent(request.query.limit ?? 100),
    }),
  );
}
