import type { FastifyInstance } from 'fastify';
import type { MeasuredMetric, Measurement } from '../../measurement/measurement-api.js';
import { MAX_DIVERGENCE_WINDOWS } from '../../measurement/lab-measurement.js';
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from '../../measurement/prometheus.js';
import type { LabServices } from '../lab-services.js';

const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;

const latencySchema = {
  type: 'object',
  properties: {
    count: { type: 'integer' },
    p50: nullableNum,
    p90: nullableNum,
    p99: nullableNum,
    max: nullableNum,
  },
} as const;

const correctnessSchema = {
  type: 'object',
  properties: {
    layer: { type: 'string', enum: ['batch', 'speed', 'lambda', 'kappa', 'kappa_candidate'] },
    metric: { type: 'string', enum: ['views', 'distinct_users'] },
    windows: { type: 'integer' },
    correct: { type: 'integer' },
    differ: { type: 'integer' },
    missing: { type: 'integer' },
    extra: { type: 'integer' },
    correctShare: nullableNum,
    absError: { type: 'number' },
    relError: nullableNum,
    truthLogicVersion: { type: 'integer' },
    signedError: { type: 'number' },
    from: nullableInt,
    to: nullableInt,
  },
} as const;

const maintenanceSchema = {
  type: 'object',
  properties: {
    arch: { type: 'string', enum: ['lambda', 'kappa'] },
    implementations: { type: 'integer' },
    logicFiles: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          path: { type: 'string' },
          language: { type: 'string', enum: ['sql', 'ts'] },
          lines: { type: 'integer' },
          logicVersion: { type: 'integer' },
        },
      },
    },
    logicLines: { type: 'integer' },
    linesChangedV1toV2: { type: 'integer' },
    runningComponents: { type: 'array', items: { type: 'string' } },
    computeMs: { type: 'object', additionalProperties: { type: 'number' } },
    workAmplification: nullableNum,
    storageBytes: { type: 'number' },
    storage: {
      type: 'array',
      items: { type: 'object', properties: { part: { type: 'string' }, bytes: nullableNum } },
    },
    currentLogic: { type: 'object', additionalProperties: { type: 'integer' } },
    recomputedEvents: { type: 'number' },
  },
} as const;

const snapshotSchema = {
  type: 'object',
  properties: {
    at: { type: 'integer' },
    closedBefore: nullableInt,
    correctness: { type: 'array', items: correctnessSchema },
    latency: {
      type: 'array',
      items: {
        type: 'object',
        properties: { arch: { type: 'string', enum: ['lambda', 'kappa'] }, finalEvent: latencySchema },
      },
    },
    batchBoundaryLagMs: nullableNum,
    servingLatency: latencySchema,
    maintenance: { type: 'array', items: maintenanceSchema },
    ingested: { type: 'integer' },
    truth: {
      type: 'object',
      properties: {
        logicVersion: { type: 'integer' },
        events: { type: 'integer' },
        lag: { type: 'integer' },
        watermark: nullableInt,
      },
    },
    computeMs: { type: 'object', additionalProperties: { type: 'number' } },
    measuredFrom: nullableInt,
  },
} as const;

const layerMap = (item: object) => ({
  type: 'object',
  properties: Object.fromEntries(
    ['batch', 'speed', 'lambda', 'kappa', 'kappa_candidate'].map((l) => [l, item]),
  ),
});

const markSchema = {
  type: 'object',
  properties: {
    at: { type: 'integer' },
    kind: { type: 'string' },
    label: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
  },
} as const;

const sinceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { since: { type: 'integer', minimum: 0, description: 'epoch ms (inclusive)' } },
} as const;

/** The measurement service, or a 503 naming why it is not there. */
function measurementOf(lab: LabServices): Measurement {
  return lab.measurement;
}

/** Times every GET /api/views for the serving-latency figures (register before the routes). */
export function registerQueryTiming(app: FastifyInstance, lab: LabServices): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === '/api/views' && reply.statusCode < 400)
      lab.measurement.recordQuery?.('/api/views', reply.elapsedTime);
  });
}

export async function metricsRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;

  app.get(
    '/api/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary:
          'A snapshot measured now: correctness per layer over closed windows (vs the truth oracle), final-event latency per architecture, batch boundary lag, serving latency, maintenance cost per architecture (docs/metrics.md).',
        response: { 200: snapshotSchema },
      },
    },
    async () => measurementOf(lab).snapshot(),
  );

  app.get<{ Querystring: { since?: number } }>(
    '/api/metrics/history',
    {
      schema: {
        tags: ['metrics'],
        summary: `Kept snapshots (one every measurement.intervalMs), oldest first; only those taken at or after "since".`,
        querystring: sinceQuery,
        response: {
          200: { type: 'object', properties: { points: { type: 'array', items: snapshotSchema } } },
        },
      },
    },
    async (request) => measurementOf(lab).history(request.query.since),
  );

  app.get<{ Querystring: { metric?: MeasuredMetric; from: number; to: number; campaign?: string } }>(
    '/api/divergence',
    {
      schema: {
        tags: ['metrics'],
        summary: `Per (campaign, window) in [from, to): every layer's value, the truth (intended logic version), value − truth, and the cause of each divergence. At most ${MAX_DIVERGENCE_WINDOWS} windows.`,
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            metric: { type: 'string', enum: ['views', 'distinct_users'], default: 'views' },
            from: { type: 'integer', minimum: 0, description: 'event time, epoch ms (inclusive)' },
            to: { type: 'integer', minimum: 0, description: 'event time, epoch ms (exclusive)' },
            campaign: { type: 'string', format: 'uuid' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              metric: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              truthLogicVersion: { type: 'integer' },
              boundary: nullableInt,
              closedBefore: nullableInt,
              cells: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    campaign_id: { type: 'string' },
                    window_start: { type: 'integer' },
                    truth: nullableNum,
                    values: layerMap(nullableNum),
                    differences: layerMap(nullableNum),
                    causes: layerMap({
                      type: 'string',
                      enum: [
                        'not-yet-in-batch',
                        'late-event',
                        'at-least-once-duplicate',
                        'hyperloglog-approximation',
                        'logic-versions-differ',
                        'replay-not-caught-up',
                        'window-open',
                        'unknown',
                      ],
                    }),
                    truthByLogic: { type: 'object', additionalProperties: { type: 'number' } },
                    logicVersions: layerMap({ type: 'integer' }),
                    lateViews: { type: 'integer' },
                    closed: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const q = request.query;
      // The measurement checks the range (to > from, at most MAX_DIVERGENCE_WINDOWS) with 400s.
      return measurementOf(lab).divergence({
        metric: q.metric ?? 'views',
        from: q.from,
        to: q.to,
        campaign: q.campaign,
      });
    },
  );

  app.get<{ Querystring: { since?: number } }>(
    '/api/timeline',
    {
      schema: {
        tags: ['metrics'],
        summary:
          'Timeline marks (batch runs, crashes, deploys, replay start, catch-up, switchover, rollback, abort), oldest first.',
        querystring: sinceQuery,
        response: { 200: { type: 'array', items: markSchema } },
      },
    },
    async (request) => measurementOf(lab).timeline(request.query.since),
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: 'The same snapshot in Prometheus text format (lklab_* series, docs/metrics.md).',
        produces: ['text/plain'],
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => {
      const text = toPrometheus(await measurementOf(lab).snapshot());
      return reply.type(PROMETHEUS_CONTENT_TYPE).send(text);
    },
  );
}
