import type { FastifyInstance } from 'fastify';
import type { GeneratorStats } from '../../kernel/workload/generator-runner.js';
import type { LagSnapshot } from '../../kernel/ingest/lag-monitor.js';
import type { EventLog, GroupLag } from '../../kernel/ports/event-log.js';
import type { LabServices } from '../lab-services.js';
import { unavailableResponse } from './error-schema.js';
import { generatorStatsSchema, statusSchema } from './response-schemas.js';

export interface LabStatus {
  mode: string;
  uptimeMs: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; low: number; end: number }>;
    low: number;
    end: number;
  }>;
  groups: Array<{
    group: string;
    topic: string;
    totalLag: number;
    partitions: Array<{ partition: number; committed: number | null; end: number; lag: number }>;
  }>;
  generator: GeneratorStats;
  /** Consumer lag per latency-bounding consumer and whether producers are told to wait. */
  backpressure: LagSnapshot;
  ingest: { accepted: number; rejected: number };
  deadLetters: number;
}

/** Lag per partition of every consumer group that has committed an offset on `topic` (GET /metrics). */
export async function groupLags(log: EventLog, topic: string): Promise<GroupLag[]> {
  const lags: GroupLag[] = [];
  for (const group of await log.listGroups()) {
    const committed = await log.committedOffsets(group, topic);
    if (committed.every((c) => c.offset === null)) continue;
    lags.push(await log.lag(group, topic));
  }
  return lags;
}

/** Collects the log's topics, offsets and consumer-group lag. */
export async function collectStatus(lab: LabServices): Promise<LabStatus> {
  const topics = await lab.log.listTopics();
  const topicStatus = await Promise.all(
    topics.map(async (t) => {
      const partitions = await lab.log.offsets(t.name);
      return {
        name: t.name,
        partitions,
        low: partitions.reduce((s, p) => s + p.low, 0),
        end: partitions.reduce((s, p) => s + p.end, 0),
      };
    }),
  );
  const groups = [];
  for (const group of await lab.log.listGroups()) {
    for (const t of topics) {
      const committed = await lab.log.committedOffsets(group, t.name);
      if (committed.every((c) => c.offset === null)) continue;
      groups.push(await lab.log.lag(group, t.name));
    }
  }
  return {
    mode: lab.mode,
    uptimeMs: lab.clock.now() - lab.startedAt,
    topics: topicStatus,
    groups,
    generator: lab.generator.status,
    backpressure: lab.lag.current,
    ingest: lab.ingest.counters,
    deadLetters: lab.deadLetters.counts().total,
  };
}

export async function statusRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  app.get(
    '/api/status',
    {
      schema: {
        tags: ['status'],
        summary:
          'Mode, topics with low/end offsets, consumer groups with lag, generator and ingest counters.',
        response: { 200: statusSchema, 503: unavailableResponse() },
      },
    },
    async () => collectStatus(opts.lab),
  );
  app.post<{ Body: { rate: number } }>(
    '/api/generator',
    {
      schema: {
        tags: ['status'],
        summary: 'Change the generator rate (events/s; 0 stops it).',
        body: {
          type: 'object',
          required: ['rate'],
          additionalProperties: false,
          properties: { rate: { type: 'number', minimum: 0, maximum: 10_000_000, example: 0 } },
        },
        response: { 200: generatorStatsSchema },
      },
    },
    async (request) => {
      await opts.lab.generator.setRate(request.body.rate);
      return opts.lab.generator.status;
    },
  );
}
