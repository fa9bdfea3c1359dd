/**
 * JSON schemas of the measurement routes' answers (serving-layer/plugins/metrics.ts): the metrics
 * snapshot (latency, correctness, maintenance, served correctness per layer), timeline marks and
 * the `since` query. They document the API (OpenAPI) and drive Fastify's serializer.
 */
export const nullableInt = { type: ['integer', 'null'] } as const;
export const nullableNum = { type: ['number', 'null'] } as const;

export const latencySchema = {
  type: 'object',
  properties: {
    count: { type: 'integer' },
    p50: nullableNum,
    p90: nullableNum,
    p99: nullableNum,
    max: nullableNum,
  },
} as const;

export const correctnessSchema = {
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
    sketch: {
      type: 'object',
      description:
        "The speed layer's distinct users only: its HyperLogLog's relative error per (campaign, window) against the exact count, beside the theoretical relative standard error sigma = 1.04/sqrt(m)",
      properties: {
        registers: { type: 'integer', minimum: 1, description: 'm: registers of the HyperLogLog in use' },
        standardError: { type: 'number', minimum: 0, description: 'sigma = 1.04/sqrt(m), relative' },
        windows: { type: 'integer', minimum: 0, description: 'cells judged (truth and sketch both answer)' },
        rmsRelError: { ...nullableNum, description: 'root mean square of the relative errors' },
        within1Sigma: { ...nullableNum, description: 'share of cells with |error| <= sigma (theory 0.68)' },
        within2Sigma: { ...nullableNum, description: 'share of cells with |error| <= 2 sigma (theory 0.95)' },
        within3Sigma: {
          ...nullableNum,
          description: 'share of cells with |error| <= 3 sigma (theory 0.997)',
        },
        recent: {
          type: 'array',
          description: 'the newest judged cells, oldest first (at most 200)',
          items: {
            type: 'object',
            properties: {
              window: { type: 'integer' },
              campaign_id: { type: 'string' },
              relError: { type: 'number', description: '(estimate - exact) / exact' },
            },
            required: ['window', 'campaign_id', 'relError'],
          },
        },
      },
      required: [
        'registers',
        'standardError',
        'windows',
        'rmsRelError',
        'within1Sigma',
        'within2Sigma',
        'within3Sigma',
        'recent',
      ],
    },
  },
} as const;

export const maintenanceSchema = {
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
    linesChanged: {
      type: 'array',
      description:
        "Lines added + removed per logic change vN → vN+1, Σ over the architecture's codebases (line diff of the logic lines)",
      items: {
        type: 'object',
        properties: { from: { type: 'integer' }, to: { type: 'integer' }, lines: { type: 'integer' } },
      },
    },
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

export const servedSchema = {
  type: 'object',
  description:
    'Served correctness of one architecture: what GET /api/views answered for each closed window at fixed ages after its close, judged on the final truth; and the time-to-correct per window',
  properties: {
    arch: { type: 'string', enum: ['lambda', 'kappa'] },
    byAge: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ageMs: { type: 'integer', description: 'ms after the window closed' },
          windows: { type: 'integer' },
          cells: { type: 'integer' },
          correctShare: nullableNum,
          windowsCorrectShare: nullableNum,
        },
      },
    },
    timeToCorrect: {
      type: 'object',
      properties: {
        windows: { type: 'integer' },
        p50: nullableNum,
        p90: nullableNum,
        max: nullableNum,
        neverCorrect: { type: 'integer' },
      },
    },
    recent: {
      type: 'array',
      items: { type: 'object', properties: { window: { type: 'integer' }, correctAtMs: nullableNum } },
    },
  },
} as const;

const interferenceLatencySchema = {
  type: 'object',
  properties: {
    before: {
      ...latencySchema,
      description: 'final-event latency (ms) of the windows that ended in the minute before the replay',
    },
    during: {
      ...latencySchema,
      description: 'final-event latency (ms) of the windows that ended while it ran',
    },
    p99Ratio: { ...nullableNum, description: 'during.p99 / before.p99' },
  },
} as const;

export const interferenceSchema = {
  type: 'object',
  description:
    'Replay interference: each Kappa replay (newest first, at most 10) with its rate beside the final-event latency of the live readers (the speed layer, and the active Kappa job N) before and during it',
  properties: {
    replaying: { ...nullableInt, description: 'the job replaying now' },
    replays: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          job: { type: 'integer' },
          logicVersion: nullableInt,
          rateLimit: { ...nullableInt, description: 'events/s; 0 = unlimited' },
          startedAt: { type: 'integer' },
          endedAt: nullableInt,
          ended: { type: ['string', 'null'], enum: ['caught-up', 'aborted', null] },
          events: { type: 'integer', description: 'events the replaying job checkpointed' },
          replayRate: { type: 'integer', description: 'events/s over the replay (until now while it runs)' },
          currentRate: { ...nullableInt, description: 'events/s over the last 5 s while it runs' },
          lambda: interferenceLatencySchema,
          kappa: interferenceLatencySchema,
        },
      },
    },
  },
} as const;

export const snapshotSchema = {
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
    served: { type: 'array', items: servedSchema },
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
    interference: interferenceSchema,
  },
} as const;

export const layerMap = (item: object) => ({
  type: 'object',
  properties: Object.fromEntries(
    ['batch', 'speed', 'lambda', 'kappa', 'kappa_candidate'].map((l) => [l, item]),
  ),
});

export const markSchema = {
  type: 'object',
  properties: {
    at: { type: 'integer' },
    kind: { type: 'string' },
    label: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
  },
} as const;

export const sinceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { type: 'integer', minimum: 0, example: 1_700_000_000_000, description: 'epoch ms (inclusive)' },
  },
} as const;
