import type { FastifyInstance } from 'fastify';
import type { MeasuredMetric, Measurement } from '../../measurement/measurement-api.js';
import { MAX_DIVERGENCE_WINDOWS } from '../../measurement/lab-measurement.js';
import { AD_EVENTS_TOPIC } from '../../kernel/events/ysb-event.js';
import { LabPrometheus } from '../../measurement/prometheus.js';
import type { LabServices } from '../lab-services.js';
import { eventTimeRange } from './range-query.js';
import { errorResponse } from './error-schema.js';
import { groupLags } from './status.js';
import {
  layerMap,
  markSchema,
  nullableInt,
  nullableNum,
  sinceQuery,
  snapshotSchema,
} from './metrics-schemas.js';

/** The measurement service, or a 503 naming why it is not there. */
function measurementOf(lab: LabServices): Measurement {
  return lab.measurement;
}

/** The serving layer's query routes: their latency is the serving latency. */
export const QUERY_ROUTES: ReadonlySet<string> = new Set(['/api/views']);

/**
 * The lab's Prometheus exposition, wired to its measurement, log and back-pressure monitor; the
 * final-event latency histogram follows the measurement's samples until the app closes.
 */
export function labPrometheus(app: FastifyInstance, lab: LabServices): LabPrometheus {
  const prometheus = new LabPrometheus({
    snapshot: () => lab.measurement.snapshot(),
    consumerLag: () => groupLags(lab.log, AD_EVENTS_TOPIC),
    backpressure: () => lab.lag.current,
  });
  const unsubscribe = lab.measurement.onFinalEventLatency?.((arch, ms) =>
    prometheus.observeFinalEventLatency(arch, ms / 1000),
  );
  app.addHook('onClose', async () => unsubscribe?.());
  return prometheus;
}

/**
 * Times every successful request to a query route, for the serving-latency figures and the
 * request-duration histogram (register before the routes).
 */
export function registerQueryTiming(
  app: FastifyInstance,
  lab: LabServices,
  prometheus?: LabPrometheus,
): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !QUERY_ROUTES.has(route) || reply.statusCode >= 400) return;
    lab.measurement.recordQuery?.(route, reply.elapsedTime);
    prometheus?.observeRequest(route, reply.elapsedTime / 1000);
  });
}

export async function metricsRoutes(
  app: FastifyInstance,
  opts: { lab: LabServices; prometheus: LabPrometheus },
): Promise<void> {
  const { lab, prometheus } = opts;

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
            ...eventTimeRange(MAX_DIVERGENCE_WINDOWS),
            campaign: {
              type: 'string',
              format: 'uuid',
              example: '00000000-0000-4000-8000-000000000000',
              description: 'only this campaign (GET /api/reference/ads lists them)',
            },
          },
        },
        response: {
          400: errorResponse(
            'LKL_ERR_API_BAD_REQUEST: a parameter does not match this schema, to ≤ from, or the range spans too many windows',
          ),
          503: errorResponse(
            'LKL_ERR_MEASUREMENT_TRUTH_UNAVAILABLE (the truth oracle does not run here), LKL_ERR_LOG_UNAVAILABLE or LKL_ERR_STORE_UNAVAILABLE',
          ),
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
        summary:
          'Prometheus text format (docs/metrics.md names every series): a snapshot measured now as lklab_* gauges and counters in base units (lklab_correctness_*, lklab_compute_seconds_total, lklab_storage_bytes, lklab_batch_boundary_lag_seconds, …), consumer lag per group and partition (lklab_consumer_lag_events), back-pressure (lklab_backpressure_*), histograms lklab_final_event_latency_seconds{arch} and lklab_serving_request_duration_seconds{route}, and the process metrics process_* and nodejs_*.',
        produces: ['text/plain'],
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => {
      const text = await prometheus.metrics();
      return reply.type(prometheus.contentType).send(text);
    },
  );
}
