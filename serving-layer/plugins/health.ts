import type { FastifyInstance } from 'fastify';
import type { LabServices } from '../lab-services.js';

export async function healthRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { lab } = opts;
  const dependencySchema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      kind: { type: 'string' },
      state: { type: 'string', enum: ['up', 'down'] },
      detail: { type: 'string' },
    },
  } as const;
  const healthSchema = {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ok', 'degraded'] },
      mode: { type: 'string', enum: ['embedded', 'distributed'] },
      uptimeMs: { type: 'number' },
      dependencies: { type: 'array', items: dependencySchema },
    },
  } as const;

  const health = async (): Promise<{
    status: 'ok' | 'degraded';
    mode: string;
    uptimeMs: number;
    dependencies: unknown[];
  }> => {
    const dependencies = await lab.dependencies();
    return {
      status: dependencies.every((d) => d.state === 'up') ? 'ok' : 'degraded',
      mode: lab.mode,
      uptimeMs: lab.clock.now() - lab.startedAt,
      dependencies,
    };
  };

  app.get(
    '/api/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the server answers; status says whether every dependency is up.',
        response: { 200: healthSchema },
      },
    },
    async () => health(),
  );
  app.get(
    '/api/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 when every dependency is up, 503 (degraded) otherwise.',
        response: { 200: healthSchema, 503: healthSchema },
      },
    },
    async (_req, reply) => {
      const h = await health();
      return reply.status(h.status === 'ok' ? 200 : 503).send(h);
    },
  );
}
