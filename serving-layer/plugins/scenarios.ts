import type { FastifyInstance } from 'fastify';
import { LabError } from '../../kernel/errors/lab-error.js';
import { loadScenarios, findScenario } from '../../scenarios/scenario-loader.js';
import { ScenarioRuns } from '../../scenarios/scenario-runs.js';
import type { LabServices } from '../lab-services.js';

const verdict = {
  type: 'object',
  description: 'One expectation: pending until its time range is over, then pass, fail or unavailable.',
  properties: {
    name: { type: 'string' },
    metric: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'pass', 'fail', 'unavailable'] },
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
    state: { type: 'string', enum: ['running', 'completed', 'failed'] },
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
    passed: { type: ['boolean', 'null'], description: 'no verdict failed (null while running)' },
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
 * POST /api/scenarios/runs/:runId/pause and /resume (live runs).
 */
export async function scenarioRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const runs = new ScenarioRuns(opts.lab.config);
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
    async () =>
      loadScenarios().map(({ scenario: s }) => ({
        id: s.id,
        title: s.title,
        goal: s.goal.trim(),
        duration: s.duration,
        actions: s.timeline.length,
        expectations: s.expectations.length,
        needsInfrastructure: s.timeline.some((t) => t.action === 'stop' || t.action === 'start'),
      })),
  );

  app.post<{ Params: { id: string }; Body: { fast?: boolean; seed?: number } | undefined }>(
    '/api/scenarios/:id/runs',
    {
      schema: {
        tags: ['scenarios'],
        summary:
          'Starts a run of a scenario in a lab of its own (fast: virtual clock, deterministic for the seed; otherwise live, paced in real time). Poll GET /api/scenarios/runs/:runId.',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            fast: { type: 'boolean', default: false },
            seed: { type: 'integer', minimum: 0 },
          },
        },
        response: { 202: runStateSchema },
      },
    },
    async (request, reply) => {
      const loaded = findScenario(request.params.id);
      const state = runs.start(loaded, { fast: request.body?.fast ?? false, seed: request.body?.seed });
      return reply.code(202).send(state);
    },
  );

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
          'The scenario runs this server started (the last 50), newest first: mode, state, paused, progress, verdict.',
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
                state: { type: 'string', enum: ['running', 'completed', 'failed'] },
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
          params: { type: 'object', properties: { runId: { type: 'string' } }, required: ['runId'] },
          response: { 200: runStateSchema },
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
        params: { type: 'object', properties: { runId: { type: 'string' } }, required: ['runId'] },
        response: { 200: runStateSchema },
      },
    },
    async (request) => {
      const state = runs.get(request.params.runId);
      if (!state) throw unknownRun(request.params.runId);
      return state;
    },
  );
}
