import type { FastifyInstance } from 'fastify';
import type { LabServices } from '../lab-services.js';
import { kappaCutoverSchema } from './cutover-schemas.js';
import { errorResponse, unavailableResponse } from './error-schema.js';
import {
  activePointerSchema,
  kappaJobSchema,
  kappaJobsSchema,
  kappaPreflightSchema,
  kappaVerificationSchema,
  switchoverResultSchema,
} from './response-schemas.js';

const jobIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'integer', minimum: 1, example: 2 } },
} as const;

const refused = (codes: string): Record<string, unknown> => errorResponse(codes);

/** The Kappa control plane: jobs, replay (and its pre-flight), switchover, rollback, abort. Errors are 4xx with a message that says what to do. */
export async function kappaRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;

  app.get(
    '/api/kappa/jobs',
    {
      schema: {
        tags: ['kappa'],
        summary:
          'Kappa jobs, newest first: state (live, replaying, caught-up, grace, retired, aborted), logic version, table, which one is active, lag, rate, per-partition progress and ETA, counters (late, dropped, invalid), retention warnings.',
        response: { 200: kappaJobsSchema, 503: unavailableResponse() },
      },
    },
    async () => lab.kappa.view(),
  );

  app.get(
    '/api/kappa/replays/preflight',
    {
      schema: {
        tags: ['kappa'],
        summary:
          "The replay pre-flight without starting anything: does the log still hold the whole history (retention), can the archive (the batch layer's master dataset) supply it up to a cut-over per partition with the log holding the rest, and what source 'auto' would choose (log, archive or refuse).",
        response: { 200: kappaPreflightSchema, 503: unavailableResponse() },
      },
    },
    async () => lab.kappa.preflight(),
  );

  app.post<{
    Body: { logicVersion: number; force?: boolean; rateLimit?: number; source?: 'log' | 'archive' | 'auto' };
  }>(
    '/api/kappa/replays',
    {
      schema: {
        tags: ['kappa'],
        summary:
          "Start job N+1: logic version, new consumer group, new table, from the earliest offset, with more parallelism than the live job. Source 'log' (default): refused (409 LKL_ERR_KAPPA_HISTORY_INCOMPLETE) when the log no longer holds the whole history, unless force is true (a warning is recorded on the job). Source 'archive' (Kappa+): history below each partition's cut-over from the batch layer's master dataset, then the log; refused when the log no longer reaches back to the cut-over. Source 'auto': the log if it can, else the archive. The 409's details.options list what is possible (GET /api/kappa/replays/preflight).",
        body: {
          type: 'object',
          required: ['logicVersion'],
          additionalProperties: false,
          properties: {
            logicVersion: {
              type: 'integer',
              minimum: 1,
              example: 2,
              description:
                'one of availableLogicVersions (GET /api/kappa/jobs), else 400 LKL_ERR_KAPPA_LOGIC_UNKNOWN',
            },
            force: { type: 'boolean', default: false },
            rateLimit: {
              type: 'integer',
              minimum: 0,
              description: 'events/s; 0 = unlimited; default kappa.replayRateLimit',
            },
            source: {
              type: 'string',
              enum: ['log', 'archive', 'auto'],
              default: 'log',
              description:
                "where the history is read: 'log' from offset 0; 'archive' from the master dataset up to the cut-over, then the log (Kappa+); 'auto' the log if it holds everything, else the archive",
            },
          },
        },
        response: {
          202: kappaJobSchema,
          400: refused(
            'LKL_ERR_API_BAD_REQUEST (the body does not match this schema) or LKL_ERR_KAPPA_LOGIC_UNKNOWN (no such logic version)',
          ),
          409: refused(
            'LKL_ERR_KAPPA_REPLAY_RUNNING (a replay is replaying or caught up) or LKL_ERR_KAPPA_HISTORY_INCOMPLETE (the chosen source lacks part of the history — the log lost it (force overrides), or the archive and the log leave a gap; details.options lists the sources that are possible)',
          ),
          503: unavailableResponse(),
        },
      },
    },
    async (request, reply) => {
      const { logicVersion, force, rateLimit, source } = request.body;
      const job = await lab.kappa.startReplay({
        logicVersion,
        force: force ?? false,
        source: source ?? 'log',
        ...(rateLimit === undefined ? {} : { rateLimit }),
      });
      return reply.status(202).send(job);
    },
  );

  app.get<{ Querystring: { job?: number } }>(
    '/api/kappa/verification',
    {
      schema: {
        tags: ['kappa'],
        summary:
          "The switchover gate's verdict, computed now: job N+1's table (default: the replay in progress, else the active job) against the truth oracle and against job N (the active job) over the last kappa.verifyWindows closed windows, per (campaign, window). passed | failed (with per-window diffs) | unavailable (reason says why). Each window carries a histogram of cells per |diff| bucket (buckets), against the truth and against what the logic change explains.",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            job: {
              type: 'integer',
              minimum: 1,
              example: 2,
              description: 'the job to verify; default the replay in progress, else the active job',
            },
          },
        },
        response: {
          200: kappaVerificationSchema,
          400: refused('LKL_ERR_API_BAD_REQUEST: job is not a positive integer'),
          404: refused('LKL_ERR_KAPPA_JOB_UNKNOWN: no such job, or it has already ended'),
          503: unavailableResponse(),
        },
      },
    },
    async (request) => lab.kappa.verification(request.query.job),
  );

  app.get(
    '/api/kappa/cutover',
    {
      schema: {
        tags: ['kappa'],
        summary:
          "The last switchover's cutover: its mode (flip = one atomic pointer flip; overlap = jobs N and N+1 served summed for kappa.overlapMs, at-least-once; gate = windows before the cut-over event time T from N, the rest from N+1), T and the partitions found idle, and — counted by the truth oracle over the closed windows around the cut-over, as readers were served them right after the switch — per window the events lost and duplicated. last is null before the first switchover.",
        response: { 200: kappaCutoverSchema, 503: unavailableResponse() },
      },
    },
    async () => ({ defaultMode: lab.kappa.settings.cutoverMode, last: await lab.kappa.cutover() }),
  );

  app.post<{
    Body: { skipVerification?: boolean; mode?: 'flip' | 'overlap' | 'gate'; cutoverTime?: number } | null;
  }>(
    '/api/kappa/switchover',
    {
      schema: {
        tags: ['kappa'],
        summary:
          'Point readers at the caught-up replay: one atomic flip of the active pointer. The previous job is kept for kappa.graceMs (rollback window). Before the flip the gate compares the replay with the truth and the active job over the last kappa.verifyWindows closed windows (GET /api/kappa/verification): a failed verdict refuses the switch (409 LKL_ERR_KAPPA_VERIFICATION_FAILED, details.verification) unless skipVerification is true; an unavailable verdict lets it happen. The answer carries the verdict. 409 also when the replay has not caught up.',
        body: {
          type: 'object',
          nullable: true,
          description:
            "Optional. `skipVerification: true` switches even when the gate says failed; `mode` says how readers move (default kappa.cutoverMode); `cutoverTime` is the gate's T.",
          additionalProperties: false,
          properties: {
            skipVerification: { type: 'boolean', default: false, example: false },
            mode: {
              type: 'string',
              enum: ['flip', 'overlap', 'gate'],
              description:
                'flip: one atomic pointer flip; overlap: both jobs served summed for kappa.overlapMs (duplicates); gate: windows before T from job N, the rest from N+1 (GET /api/kappa/cutover counts what each loses or duplicates)',
            },
            cutoverTime: {
              type: 'integer',
              minimum: 0,
              description:
                'gate: cut-over event time T in ms (rounded down to a window); default the first window job N has not finalized in every non-idle partition. Later than that: 400',
            },
          },
        },
        response: {
          200: switchoverResultSchema,
          400: refused(
            'LKL_ERR_API_BAD_REQUEST: the body does not match this schema, or cutoverTime is later than the newest window job N has finalized',
          ),
          409: refused(
            'LKL_ERR_KAPPA_NO_CANDIDATE (no replay to switch to), LKL_ERR_KAPPA_NOT_CAUGHT_UP (the replay has not caught up) or LKL_ERR_KAPPA_VERIFICATION_FAILED (the replay differs from the truth in the windows the message names; details.verification has the per-window diffs)',
          ),
          503: unavailableResponse(),
        },
      },
    },
    async (request) =>
      lab.kappa.switchover({
        skipVerification: request.body?.skipVerification === true,
        mode: request.body?.mode,
        at: request.body?.cutoverTime,
      }),
  );

  app.post(
    '/api/kappa/rollback',
    {
      schema: {
        tags: ['kappa'],
        summary: 'Point readers back at the previous job while it still exists (during its grace period).',
        response: {
          200: activePointerSchema,
          409: refused(
            'LKL_ERR_KAPPA_NO_ROLLBACK: no previous job in its grace period (no switchover yet, or kappa.graceMs is over)',
          ),
          503: unavailableResponse(),
        },
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
        response: {
          200: kappaJobSchema,
          400: refused(
            'LKL_ERR_API_BAD_REQUEST: the id is not a positive integer, or the job is not a replay (replaying or caught-up)',
          ),
          404: refused('LKL_ERR_KAPPA_JOB_UNKNOWN: no such job, or it has already ended'),
          409: refused('LKL_ERR_KAPPA_JOB_ACTIVE: the job is the one readers use'),
          503: unavailableResponse(),
        },
      },
    },
    async (request) => lab.kappa.abortReplay(request.params.id, 'aborted via the API'),
  );
}
