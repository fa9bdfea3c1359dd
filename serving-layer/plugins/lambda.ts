import type { FastifyInstance } from 'fastify';
import { availableBatchLogicVersions } from '../../batch-layer/index.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import { SPEED_LOGIC } from '../../speed-layer/index.js';
import type { LabServices } from '../lab-services.js';
import { errorResponse, unavailableResponse } from './error-schema.js';
import { batchRunSchema, deploySchema, lambdaStateSchema } from './response-schemas.js';

export async function lambdaRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;

  app.get(
    '/api/lambda',
    {
      schema: {
        tags: ['lambda'],
        summary:
          'Lambda state: logic version per layer, current batch view and boundary, speed-layer status.',
        response: { 200: lambdaStateSchema, 503: unavailableResponse() },
      },
    },
    async () => {
      const view = lab.batch.views.current();
      return {
        batch: {
          logicVersion: lab.batch.logicVersion,
          availableLogicVersions: availableBatchLogicVersions(),
          view: view
            ? {
                version: view.version,
                boundary: view.boundary,
                logicVersion: view.logicVersion,
                events: view.events,
                createdAt: view.createdAt,
              }
            : null,
          boundaryLagMs: view ? lab.clock.now() - view.boundary : null,
          master: {
            splits: lab.batch.master.snapshot.splits.length,
            events: lab.batch.master.totalEvents(),
            bytes: lab.batch.master.totalBytes(),
          },
          ingestError: lab.batch.ingestError ?? null,
        },
        speed: { ...(await lab.speed.currentStatus()), availableLogicVersions: [...SPEED_LOGIC.keys()] },
      };
    },
  );

  app.post<{ Body: { trigger?: string } }>(
    '/api/lambda/batch-runs',
    {
      schema: {
        tags: ['lambda'],
        summary:
          'Start a batch run now (coalesces with one already waiting). Returns the run; poll GET /api/lambda/batch-runs/:id.',
        // The body is optional: no body (or an empty object) starts a run triggered by "api".
        body: {
          type: 'object',
          nullable: true,
          description: 'Optional. `trigger` names who asked for the run (default "api").',
          additionalProperties: false,
          properties: { trigger: { type: 'string', maxLength: 50, example: 'api' } },
        },
        response: { 202: batchRunSchema },
      },
    },
    async (request, reply) => reply.status(202).send(lab.batch.requestRun(request.body?.trigger ?? 'api')),
  );

  app.get(
    '/api/lambda/batch-runs',
    {
      schema: {
        tags: ['lambda'],
        summary: 'Batch runs, newest first, with phases and boundaries.',
        response: { 200: { type: 'array', items: batchRunSchema } },
      },
    },
    async () => lab.batch.listRuns(),
  );

  app.get<{ Params: { id: number } }>(
    '/api/lambda/batch-runs/:id',
    {
      schema: {
        tags: ['lambda'],
        summary:
          'One batch run: state, per-phase timings (map / shuffle / reduce / publish), boundary and view version.',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'integer', minimum: 1, example: 1 } },
        },
        response: {
          200: batchRunSchema,
          404: errorResponse('LKL_ERR_API_NOT_FOUND: there is no batch run with this id'),
        },
      },
    },
    async (request) => {
      const run = lab.batch.getRun(request.params.id);
      if (!run)
        throw new LabError(
          'LKL_ERR_API_NOT_FOUND',
          `Batch run ${request.params.id} does not exist; GET /api/lambda/batch-runs lists the runs.`,
        );
      return run;
    },
  );

  app.post<{ Body: { layer: 'batch' | 'speed'; logicVersion: number } }>(
    '/api/lambda/deploy',
    {
      schema: {
        tags: ['lambda'],
        summary:
          'Deploy a logic version to ONE Lambda layer (batch SQL or speed TS). Deploying only one shows the divergence of two codebases.',
        body: {
          type: 'object',
          required: ['layer', 'logicVersion'],
          additionalProperties: false,
          properties: {
            layer: { type: 'string', enum: ['batch', 'speed'] },
            logicVersion: {
              type: 'integer',
              minimum: 1,
              example: 1,
              description: "one of the layer's available logic versions (GET /api/lambda), else 400",
            },
          },
        },
        response: {
          200: deploySchema,
          400: errorResponse(
            'LKL_ERR_API_BAD_REQUEST: the body does not match this schema, or the layer has no such logic version',
          ),
          503: unavailableResponse(),
        },
      },
    },
    async (request) => {
      const { layer, logicVersion } = request.body;
      const available = layer === 'batch' ? availableBatchLogicVersions() : [...SPEED_LOGIC.keys()];
      if (!available.includes(logicVersion)) {
        throw new LabError(
          'LKL_ERR_API_BAD_REQUEST',
          `The ${layer} layer has no logic v${logicVersion}; available: ${available.map((v) => `v${v}`).join(', ')}.`,
        );
      }
      if (layer === 'batch') lab.batch.deploy(logicVersion);
      else await lab.speed.requestDeploy(logicVersion);
      return {
        layer,
        logicVersion,
        batchLogicVersion: lab.batch.logicVersion,
        speedLogicVersion: lab.speed.logicVersion,
      };
    },
  );
}
