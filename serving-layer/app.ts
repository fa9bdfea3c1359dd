import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { LabServices } from './lab-services.js';
import type { ScenarioService } from './scenario-service.js';
import { frameworkErrors, registerErrorHandling } from './plugins/errors.js';
import { dashboardRoutes } from './plugins/dashboard.js';
import { eventRoutes } from './plugins/events.js';
import { healthRoutes } from './plugins/health.js';
import { kappaRoutes } from './plugins/kappa.js';
import { lambdaRoutes } from './plugins/lambda.js';
import { labPrometheus, metricsRoutes, registerQueryTiming } from './plugins/metrics.js';
import { referenceRoutes } from './plugins/reference.js';
import { scenarioRoutes } from './plugins/scenarios.js';
import { statusRoutes } from './plugins/status.js';
import { streamRoutes } from './plugins/stream.js';
import { viewRoutes } from './plugins/views.js';
import { registerSecurity } from './security/security.js';
import { requestValidatorCompiler } from './validation.js';

/**
 * The document generator marks every request body required; a route whose body schema is nullable
 * (POST /api/lambda/batch-runs) takes none, and its document says so.
 */
function optionalNullableBodies<T>(doc: T): T {
  const paths =
    (doc as { paths?: Record<string, Record<string, { requestBody?: OpenApiBody }>> }).paths ?? {};
  for (const ops of Object.values(paths))
    for (const op of Object.values(ops)) {
      const body = op.requestBody;
      if (body?.content && Object.values(body.content).every((c) => c.schema?.nullable === true))
        body.required = false;
    }
  return doc;
}

interface OpenApiBody {
  required?: boolean;
  content?: Record<string, { schema?: { nullable?: boolean } }>;
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /** The scenario runs behind /api/scenarios (scenarios/scenario-service.ts; closed with the app). */
  scenarios: ScenarioService;
}

/**
 * The serving layer's app factory: plugins per concern, no listen() here (the composition root,
 * lab/create-lab.ts, builds it and the CLI listens; tests use app.inject()).
 */
export async function buildApp(lab: LabServices, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // The Authorization header (the token) never reaches a log line.
    logger:
      options.logger === true
        ? { redact: ['req.headers.authorization', 'headers.authorization'] }
        : (options.logger ?? false),
    // Every route but POST /api/events (its own limit, ingest.maxBodyBytes) takes small bodies.
    bodyLimit: lab.config.server.maxBodyBytes,
    // Router errors (bad URL encoding, an overlong path parameter) in the one error shape.
    frameworkErrors,
  });
  app.setValidatorCompiler(requestValidatorCompiler());
  registerErrorHandling(app);
  // Token on control routes, CSRF and DNS-rebinding checks, rate limits: before any route (docs/security.md).
  await registerSecurity(app, lab.config.server);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Lambda–Kappa Lab API',
        version: '0.1.0',
        description:
          'Run Lambda and Kappa side by side on YSB; every number the dashboard shows comes from here.',
      },
    },
    transformObject: (documentObject) =>
      optionalNullableBodies((documentObject as { openapiObject: Record<string, unknown> }).openapiObject),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  const prometheus = labPrometheus(app, lab);
  registerQueryTiming(app, lab, prometheus);
  await app.register(healthRoutes, { lab });
  await app.register(referenceRoutes, { lab });
  await app.register(statusRoutes, { lab });
  await app.register(eventRoutes, { lab });
  await app.register(viewRoutes, { lab });
  await app.register(lambdaRoutes, { lab });
  await app.register(kappaRoutes, { lab });
  await app.register(metricsRoutes, { lab, prometheus });
  await app.register(scenarioRoutes, { scenarios: options.scenarios });
  await app.register(streamRoutes, { lab });
  await app.register(dashboardRoutes);
  return app;
}
