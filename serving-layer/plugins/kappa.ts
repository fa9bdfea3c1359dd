import type { FastifyInstance } from 'fastify';
import type { LabServices } from '../lab-services.js';

const jobIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

/** The Kappa control plane: jobs, replay, switchover, rollback, abort. Errors are 4xx with a message that says what to do. */
export async function kappaRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;

  app.get(
    '/api/kappa/jobs',
    {
      schema: {
        tags: ['kappa'],
        summary:
          'Kappa jobs, newest first: state (live, replaying, caught-up, grace, retired, aborted), logic version, table, which one is active, lag, rate, per-partition progress and ETA, counters (late, dropped, invalid), retention warnings.',
      },
    },
    async () => lab.kappa.view(),
  );

  app.post<{ Body: { logicVersion: number; force?: boolean; rateLimit?: number } }>(
    '/api/kappa/replays',
    {
      schema: {
        tags: ['kappa'],
        summary:
          'Start job N+1: logic version, new consumer group, new table, from the earliest offset, with more parallelism than the live job. Refused (409 LKL_ERR_KAPPA_HISTORY_INCOMPLETE) when the log no longer holds the whole history, unless force is true (a warning is recorded on the job).',
        body: {
          type: 'object',
          required: ['logicVersion'],
          additionalProperties: false,
          properties: {
            logicVersion: { type: 'integer', minimum: 1 },
            force: { type: 'boolean', default: false },
            rateLimit: {
              type: 'integer',
              minimum: 0,
              description: 'events/s; 0 = unlimited; default kappa.replayRateLimit',
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { logicVersion, force, rateLimit } = request.body;
      const job = await lab.kappa.startReplay({
        logicVersion,
        force: force ?? false,
        ...(rateLimit === undefined ? {} : { rateLimit }),
      });
      return reply.status(202).send(job);
    },
  );

  app.post(
    '/api/kappa/switchover',
    {
      schema: {
        tags: ['kappa'],
        summary:
          'Point readers at the caught-up replay: one atomic flip of the active pointer. The previous job is kept for kappa.graceMs (rollback window). 409 when the replay has not caught up.',
      },
    },
    async () => lab.kappa.switchover(),
  );

  app.post(
    '/api/kappa/rollback',
    {
      schema: {
        tags: ['kappa'],
        summary: 'Point readers back at the previous job while it still exists (during its grace period).',
      },
    },
    async () => lab.kappa.rollback(),
  );

  app.post<{ Params: { id: number } }>(
    '/api/kappa/replays/:id/abort',
    {
      schema: {
        tags: ['kappa'],
        summary:
          'Cancel a replay (replaying or caught-up): stop it and remove its table, consumer group and offsets. The active job cannot be aborted.',
        params: jobIdParams,
      },
    },
    async (request) => lab.kappa.abortReplay(request.params.id, 'aborted via the API'),
  );
}
