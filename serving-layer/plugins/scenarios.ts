import type { FastifyInstance } from 'fastify';
import { LabError } from '../../kernel/errors/lab-error.js';
import type { ScenarioService } from '../scenario-service.js';
import { errorResponse } from './error-schema.js';

const verdict = {
  type: 'object',
  description:
    'One expectation: pending until its time range is over, then pass, fail or not-measured (no value to decide on; the run does not pass).',
  properties: {
    name: { type: 'string' },
    metric: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'pass', 'fail', 'not-measured'] },
    op: { type: 'string' },
    expected: { type: 'string' },
    detail: { type: 'string' },
    lesson: { type: 'string' },
    source: { type: 'string', enum: ['measurement', 'probe'] },
    observed: {
      type: 'array',
      items: {
        type: 'object',
        properties: { t: { type: 'number' }, value: {}, against: {} },
      },
    },
  },
};

export const runStateSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string' },
    scenarioId: { type: 'string' },
    title: { type: 'string' },
    goal: { type: 'string' },
    mode: { type: 'string', enum: ['fast', 'live'] },
    seed: { type: 'integer' },
    state: {
      type: 'string',
      enum: ['queued', 'running', 'completed', 'failed', 'cancelled'],
      description:
        'queued: waiting for a free run slot (scenarios.maxLiveRuns / maxFastRuns); cancelled: DELETE /api/scenarios/runs/:runId',
    },
    position: {
      type: 'integer',
      minimum: 1,
      description: 'while queued: 1 = the next run of its mode (live or fast) to start',
    },
    paused: {
      type: 'boolean',
      description:
        'a live run paused by POST /api/scenarios/runs/:runId/pause (its scenario time stands still)',
    },
    progress: {
      type: 'object',
      properties: {
        t: { type: 'number', description: 'scenario seconds done' },
        duration: { type: 'number' },
      },
    },
    beats: {
      type: 'array',
      description: 'narrative beats reached so far',
      items: { type: 'object', properties: { t: { type: 'number' }, text: { type: 'string' } } },
    },
    timeline: {
      type: 'array',
      description:
        "the scenario's actions (with their outcome) and the lab's instrumentation events, in seconds since the start",
      items: {
        type: 'object',
        properties: {
          t: { type: 'number' },
          kind: { type: 'string', enum: ['action', 'lab-event'] },
          name: { type: 'string' },
          label: { type: 'string' },
          outcome: { type: 'string', enum: ['ok', 'refused', 'error'] },
          detail: { type: 'string' },
        },
      },
    },
    verdicts: { type: 'array', items: verdict },
    passed: {
      type: ['boolean', 'null'],
      description: 'every verdict passed: a failed or not-measured one fails the run (null while running)',
    },
    tally: {
      type: ['object', 'null'],
      description: 'verdicts passed, failed and not measured, once the run is over (null before)',
      properties: {
        passed: { type: 'integer' },
        failed: { type: 'integer' },
        notMeasured: { type: 'integer' },
      },
    },
    latest: {
      type: ['object', 'null'],
      description: "the last sample's metrics by dotted path (docs/scenarios.md)",
      additionalProperties: true,
    },
    error: { type: ['string', 'null'] },
    startedAt: { type: 'string' },
    finishedAt: { type: ['string', 'null'] },
  },
};

/**
 * GET /api/scenarios, POST /api/scenarios/:id/runs, GET /api/scenarios/runs[/:runId],
 * DELETE /api/scenarios/runs/:runId (cancel), POST /api/scenarios/runs/:runId/pause and /resume
 * (live runs). Runs are bounded (scenarios.* settings, docs/limits.md).
 */
export async function scenarioRoutes(
  app: FastifyInstance,
  opts: { scenarios: ScenarioService },
): Promise<void> {
  const runs = opts.scenarios;
  app.addHook('onClose', async () => runs.close());

  app.get(
    '/api/scenarios',
    {
      schema: {
        tags: ['scenarios'],
        summary: 'The teaching scenarios in scenarios/*.yaml.',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                title: { type: 'string' },
                goal: { type: 'string' },
                duration: { type: 'number', description: 'seconds of scenario time' },
                actions: { type: 'integer' },
                expectations: { type: 'integer' },
                needsInfrastructure: {
                  type: 'boolean',
                  description: 'stops/starts Kafka or Redis: runs only live against the real stack',
                },
              },
            },
          },
        },
      },
    },
    async () => runs.scenarios(),
  );

  app.post<{ Params: { id: string }; Body: { fast?: boolean; seed?: number } | undefined }>(
    '/api/scenarios/:id/runs',
    {
      schema: {
        tags: ['scenarios'],
        summary:
          'Starts a run of a scenario in a lab of its own (fast: virtual clock, deterministic for the seed; otherwise live, paced in real time). Poll GET /api/scenarios/runs/:runId. Runs are bounded (docs/limits.md): at most scenarios.maxLiveRuns live and scenarios.maxFastRuns fast runs at once; a run without a free slot is answered 202 with state "queued" and its position; when scenarios.maxQueuedRuns runs wait already, 429 LKL_ERR_SCENARIO_QUEUE_FULL with Retry-After.',
        params: {
          type: 'object',
          properties: {
            id: {
              type: 'string',
              example: 'approximate-distinct',
              description: 'a scenario id from GET /api/scenarios (else 404)',
            },
          },
          required: ['id'],
        },
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            fast: { type: 'boolean', default: false, example: true },
            seed: { type: 'integer', minimum: 0, example: 1 },
          },
        },
        response: {
          202: runStateSchema,
          400: errorResponse(
            'LKL_ERR_API_BAD_REQUEST (the body does not match this schema; no coercion: `"fast": null` is 400) or LKL_ERR_SCENARIO_INVALID (the scenario cannot run in this mode)',
          ),
          404: errorResponse('LKL_ERR_SCENARIO_UNKNOWN'),
          429: errorResponse(
            'LKL_ERR_SCENARIO_QUEUE_FULL: every run slot is busy and the queue is full; the Retry-After header says when to try again',
          ),
        },
      },
    },
    async (request, reply) => {
      const state = runs.start(request.params.id, {
        fast: request.body?.fast ?? false,
        seed: request.body?.seed,
      });
      return reply.code(202).send(state);
    },
  );

  const runIdParams = {
    type: 'object',
    properties: {
      runId: {
        type: 'string',
        example: 'run-unknown',
        description: 'the runId of POST /api/scenarios/:id/runs (an unknown one is 404)',
      },
    },
    required: ['runId'],
  };

  const unknownRun = (runId: string): LabError =>
    new LabError(
      'LKL_ERR_SCENARIO_RUN_UNKNOWN',
      `There is no scenario run "${runId}" on this server; start one with POST /api/scenarios/:id/runs.`,
      { details: { runId } },
    );

  app.get(
    '/api/scenarios/runs',
    {
      schema: {
        tags: ['scenarios'],
        summary:
          'The scenario runs this server started (queued and running ones, and the last scenarios.keepRuns finished), newest first: mode, state, queue position, paused, progress, verdict.',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                runId: { type: 'string' },
                scenarioId: { type: 'string' },
                title: { type: 'string' },
                mode: { type: 'string', enum: ['fast', 'live'] },
                seed: { type: 'integer' },
                state: runStateSchema.properties.state,
                position: runStateSchema.properties.position,
                paused: { type: 'boolean' },
                progress: runStateSchema.properties.progress,
                passed: { type: ['boolean', 'null'] },
                error: { type: ['string', 'null'] },
                startedAt: { type: 'string' },
                finishedAt: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
    },
    async () => runs.list(),
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { runId: string } }>(
      `/api/scenarios/runs/:runId/${action}`,
      {
        schema: {
          tags: ['scenarios'],
          summary:
            action === 'pause'
              ? 'Pauses a live run: its scenario time stands still (no action, beat or sample comes due) and the generator stops; the layers keep draining the log. Idempotent. 409 LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE for a fast or finished run.'
              : 'Resumes a paused live run: scenario time and the generator run again (the pause is left out of its seconds). Idempotent. 409 LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE for a fast or finished run.',
          params: runIdParams,
          response: {
            200: runStateSchema,
            404: errorResponse('LKL_ERR_SCENARIO_RUN_UNKNOWN'),
            409: errorResponse('LKL_ERR_SCENARIO_RUN_NOT_PAUSABLE'),
          },
        },
      },
      async (request) => {
        const state = await runs.setPaused(request.params.runId, action === 'pause');
        if (!state) throw unknownRun(request.params.runId);
        return state;
      },
    );
  }

  app.get<{ Params: { runId: string } }>(
    '/api/scenarios/runs/:runId',
    {
      schema: {
        tags: ['scenarios'],
        summary: 'A scenario run: state, narrative beats so far, timeline, expectation verdicts.',
        params: runIdParams,
        response: { 200: runStateSchema, 404: errorResponse('LKL_ERR_SCENARIO_RUN_UNKNOWN') },
      },
    },
    async (request) => {
      const state = runs.get(request.params.runId);
      if (!state) throw unknownRun(request.params.runId);
      return state;
    },
  );

  app.delete<{ Params: { runId: string } }>(
    '/api/scenarios/runs/:runId',
    {
      schema: {
        tags: ['scenarios'],
        summary:
          'Cancels a scenario run: a queued run never starts; a running one has its lab stopped and its data removed before the answer (state "cancelled"). Cancelling a cancelled run answers it again; 409 LKL_ERR_SCENARIO_RUN_FINISHED for a completed or failed run.',
        params: runIdParams,
        response: {
          200: runStateSchema,
          404: errorResponse('LKL_ERR_SCENARIO_RUN_UNKNOWN'),
          409: errorResponse('LKL_ERR_SCENARIO_RUN_FINISHED'),
        },
      },
    },
    async (request) => {
      const state = await runs.cancel(request.params.runId);
      if (!state) throw unknownRun(request.params.runId);
      return state;
    },
  );
}
