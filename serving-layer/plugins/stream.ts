import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { AD_EVENTS_TOPIC } from '../../kernel/events/ysb-event.js';
import { LAB_EVENTS, type LabEvent, type LabEventName } from '../../kernel/instrumentation/lab-events.js';
import type { Measurement, MetricsSnapshot, TimelineMark } from '../../measurement/measurement-api.js';
import { DEFAULTS } from '../../kernel/config/defaults.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import type { LabServices } from '../lab-services.js';
import { errorResponse } from './error-schema.js';

export interface StreamOptions {
  lab: LabServices;
  /** How often live figures (status, Lambda, Kappa jobs, new metrics and marks) are pushed, ms. */
  intervalMs?: number;
  /** Dependencies' health is pushed every this many ticks (and at connect). */
  healthEvery?: number;
  /** Streams open at once; one more is answered 429 LKL_ERR_API_TOO_MANY_STREAMS (default server.maxStreams). */
  maxStreams?: number;
}

/** Retry-After of a refused stream, in seconds (a dashboard tab closing frees one). */
const STREAM_RETRY_AFTER_S = 5;

/** The measurement service once the composition root wires it (LabServices.measurement). */
export function measurementOf(lab: LabServices): Measurement | undefined {
  return (lab as LabServices & { measurement?: Measurement }).measurement;
}

/**
 * Timeline marks derived from the lab's instrumentation events, used while the measurement service
 * is not wired (it keeps the marks itself once it is).
 */
const MARK_OF: Partial<Record<LabEventName, (p: Record<string, unknown>) => Omit<TimelineMark, 'at'>>> = {
  [LAB_EVENTS.BATCH_RUN_FINISHED]: (p) => ({
    kind: 'batch-run',
    label: `batch run ${String(p.run)} → batch view v${String(p.version)}`,
  }),
  [LAB_EVENTS.BATCH_RUN_FAILED]: (p) => ({
    kind: 'batch-failed',
    label: `batch run ${String(p.run)} failed`,
  }),
  [LAB_EVENTS.LOGIC_DEPLOYED]: (p) => ({
    kind: 'deploy',
    label: `deploy logic v${String(p.logicVersion)} to the ${String(p.layer)} layer`,
  }),
  [LAB_EVENTS.SPEED_CRASH]: (p) => ({ kind: 'crash', label: `speed layer crash (${String(p.point)})` }),
  [LAB_EVENTS.KAPPA_REPLAY_STARTED]: (p) => ({
    kind: 'replay-start',
    label: `Kappa replay starts: job ${String(p.job)} with logic v${String(p.logicVersion)}`,
  }),
  [LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP]: (p) => ({
    kind: 'caught-up',
    label: `Kappa job ${String(p.job)} caught up`,
  }),
  [LAB_EVENTS.KAPPA_SWITCHOVER]: (p) => ({
    kind: 'switchover',
    label: `switchover: Kappa job ${String(p.from)} → ${String(p.to)} (logic v${String(p.logicVersion)})`,
  }),
  [LAB_EVENTS.KAPPA_ROLLBACK]: (p) => ({
    kind: 'rollback',
    label: `rollback: Kappa job ${String(p.from)} → ${String(p.to)}`,
  }),
  [LAB_EVENTS.KAPPA_REPLAY_ABORTED]: (p) => ({
    kind: 'abort',
    label: `Kappa replay ${String(p.job)} aborted`,
  }),
};

export function markFromLabEvent(e: LabEvent): TimelineMark | undefined {
  const make = MARK_OF[e.name];
  return make ? { at: e.at, ...make(e.payload) } : undefined;
}

/** What the stream pushes as `live` every tick: figures that move with every event. */
export interface LiveFigures {
  at: number;
  mode: string;
  uptimeMs: number;
  /** records in the `ad-events` log (sum of end offsets) and its low-water mark */
  logEnd: number;
  logLow: number;
  generator: unknown;
  /** Consumer lag and whether producers are throttled (kernel/ingest/lag-monitor.ts). */
  backpressure: unknown;
  ingest: { accepted: number; rejected: number };
  deadLetters: number;
  measurement: boolean;
}

/** Routes of other plugins the dashboard uses when they exist (`hello.routes`). */
const OPTIONAL_ROUTES = {
  metrics: '/api/metrics',
  divergence: '/api/divergence',
  timeline: '/api/timeline',
  scenarios: '/api/scenarios',
} as const;

/** At connect, at most this many kept snapshots and marks are sent (`history`, `marks`). */
const MAX_INITIAL_POINTS = 900;
const MAX_INITIAL_MARKS = 500;

const BATCH_RUN_EVENTS = new Set<LabEventName>([
  LAB_EVENTS.BATCH_RUN_STARTED,
  LAB_EVENTS.BATCH_RUN_PHASE,
  LAB_EVENTS.BATCH_RUN_FINISHED,
  LAB_EVENTS.BATCH_RUN_FAILED,
]);

/**
 * `GET /api/stream`: Server-Sent Events for the dashboard. At connect: `hello`, `marks` (the kept
 * TimelineMarks) and, with the measurement service, `history` (a MetricsHistory). Then: `live`,
 * `lambda`, `kappa` (GET /api/kappa/jobs) every tick; `batch-runs` on batch-run events; `metrics`
 * (each new MetricsSnapshot, with the measurement service); `mark` (each new TimelineMark);
 * `health` (GET /api/health's dependencies) every few ticks. Each `data:` line is one JSON
 * document. Streams end when the server closes.
 */
export async function streamRoutes(app: FastifyInstance, opts: StreamOptions): Promise<void> {
  const { lab } = opts;
  const intervalMs = opts.intervalMs ?? 1000;
  const healthEvery = opts.healthEvery ?? 5;
  const maxStreams = opts.maxStreams ?? lab.config?.server?.maxStreams ?? DEFAULTS.server.maxStreams;
  const open = new Set<ServerResponse>();

  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    open.clear();
  });

  app.get(
    '/api/stream',
    {
      schema: {
        tags: ['dashboard'],
        summary:
          'Server-Sent Events for the dashboard: live figures, Lambda state, Kappa jobs with per-partition progress, batch runs, metrics snapshots, timeline marks and dependency health, pushed every second and on every lab event. At most server.maxStreams streams are open at once (docs/limits.md); one more is answered 429 LKL_ERR_API_TOO_MANY_STREAMS with Retry-After.',
        response: {
          200: { description: 'text/event-stream: one JSON document per `data:` line', type: 'string' },
          429: errorResponse(
            'LKL_ERR_API_TOO_MANY_STREAMS: server.maxStreams streams are open; the Retry-After header says when to try again',
          ),
        },
      },
    },
    async (request, reply) => {
      if (open.size >= maxStreams)
        throw new LabError(
          'LKL_ERR_API_TOO_MANY_STREAMS',
          `${open.size} event streams are open, the most this lab serves at once (server.maxStreams = ${maxStreams}). Close dashboard tabs or stream clients you do not watch, retry in ${STREAM_RETRY_AFTER_S} s, or raise server.maxStreams.`,
          { details: { open: open.size, maxStreams, retryAfterS: STREAM_RETRY_AFTER_S } },
        );
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      open.add(res);
      let closed = false;
      let ticks = 0;
      let lastMetricsAt = -Infinity;
      let lastMarkAt = lab.clock.now();
      let chain: Promise<void> = Promise.resolve();

      const send = (event: string, data: unknown): void => {
        if (closed) return;
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      /** Runs producers one after another, so events never interleave and a slow tick never piles up. */
      const queue = (work: () => Promise<void>): void => {
        chain = chain.then(work).catch((err: Error) => {
          send('stream-error', { at: lab.clock.now(), message: err.message });
        });
      };

      const measurement = measurementOf(lab);
      const pushLive = async (): Promise<void> => {
        const offsets = await lab.log.offsets(AD_EVENTS_TOPIC).catch(() => []);
        const live: LiveFigures = {
          at: lab.clock.now(),
          mode: lab.mode,
          uptimeMs: lab.clock.now() - lab.startedAt,
          logEnd: offsets.reduce((s, p) => s + p.end, 0),
          logLow: offsets.reduce((s, p) => s + p.low, 0),
          generator: lab.generator.status,
          backpressure: lab.lag.current,
          ingest: lab.ingest.counters,
          deadLetters: lab.deadLetters.counts().total,
          measurement: measurement !== undefined,
        };
        send('live', live);
      };
      const pushLambda = async (): Promise<void> => {
        const view = lab.batch.views.current();
        send('lambda', {
          at: lab.clock.now(),
          batchLogicVersion: lab.batch.logicVersion,
          speedLogicVersion: lab.speed.logicVersion,
          view: view
            ? {
                version: view.version,
                boundary: view.boundary,
                logicVersion: view.logicVersion,
                events: view.events,
              }
            : null,
          boundaryLagMs: view ? lab.clock.now() - view.boundary : null,
          master: { splits: lab.batch.master.snapshot.splits.length, events: lab.batch.master.totalEvents() },
          ingestError: lab.batch.ingestError ?? null,
          speed: await lab.speed.currentStatus(),
        });
      };
      const pushKappa = async (): Promise<void> => send('kappa', await lab.kappa.view());
      const pushRuns = async (): Promise<void> => send('batch-runs', lab.batch.listRuns().slice(0, 20));
      const pushHealth = async (): Promise<void> => {
        const dependencies = await lab.dependencies();
        send('health', {
          at: lab.clock.now(),
          status: dependencies.every((d) => d.state === 'up') ? 'ok' : 'degraded',
          dependencies,
        });
      };
      const pushMetrics = async (first: boolean): Promise<void> => {
        if (!measurement) return;
        let points: MetricsSnapshot[];
        if (first) points = lastMetricsAt === -Infinity ? [await measurement.snapshot()] : [];
        else points = measurement.history(lastMetricsAt + 1).points.filter((p) => p.at > lastMetricsAt);
        for (const p of points) {
          lastMetricsAt = Math.max(lastMetricsAt, p.at);
          send('metrics', p);
        }
      };
      const pushMarks = async (): Promise<void> => {
        if (!measurement) return;
        for (const m of measurement.timeline(lastMarkAt + 1)) {
          if (m.at <= lastMarkAt) continue;
          lastMarkAt = m.at;
          send('mark', m);
        }
      };

      // Lab events: marks (without a measurement service) and prompt pushes of what they change.
      const off = lab.bus.on('*', (e) => {
        if (!measurement) {
          const mark = markFromLabEvent(e);
          if (mark) send('mark', mark);
        }
        if (BATCH_RUN_EVENTS.has(e.name)) queue(pushRuns);
        if (
          e.name.startsWith('kappa.replay') ||
          e.name === LAB_EVENTS.KAPPA_SWITCHOVER ||
          e.name === LAB_EVENTS.KAPPA_ROLLBACK
        )
          queue(pushKappa);
        if (e.name === LAB_EVENTS.LOGIC_DEPLOYED || e.name === LAB_EVENTS.BATCH_VIEW_SWAPPED)
          queue(pushLambda);
      });

      const tick = (): void => {
        ticks++;
        queue(async () => {
          await pushLive();
          await pushLambda();
          await pushKappa();
          await pushMetrics(false);
          await pushMarks();
          if (ticks % healthEvery === 0) await pushHealth();
        });
      };
      const timer = setInterval(tick, intervalMs);
      const stop = (): void => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        off();
        open.delete(res);
      };
      request.raw.on('close', stop);
      res.on('close', stop);

      // Which optional APIs this server has, so the page never probes a route that is not there.
      const routes = Object.fromEntries(
        Object.entries(OPTIONAL_ROUTES).map(([name, url]) => [name, app.hasRoute({ method: 'GET', url })]),
      );
      send('hello', { at: lab.clock.now(), intervalMs, measurement: measurement !== undefined, routes });
      res.write(`retry: 2000\n\n`);
      queue(async () => {
        // What happened before this client connected: kept marks and metrics history.
        const marks = measurement
          ? measurement.timeline()
          : lab.bus.recent(1000).flatMap((e) => markFromLabEvent(e) ?? []);
        send('marks', marks.slice(-MAX_INITIAL_MARKS));
        if (measurement) {
          const points = measurement.history().points.slice(-MAX_INITIAL_POINTS);
          for (const p of points) lastMetricsAt = Math.max(lastMetricsAt, p.at);
          lastMarkAt = Math.max(lastMarkAt, ...marks.map((m) => m.at));
          send('history', { points });
        }
        await pushLive();
        await pushHealth();
        await pushLambda();
        await pushKappa();
        await pushRuns();
        await pushMetrics(true);
      });
    },
  );
}
