import type { FastifyInstance } from 'fastify';
import type { Clock } from '../kernel/clock/clock.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import { createEventLog, createGeneratorProducer } from '../kernel/adapters/event-log-factory.js';
import { createJobQueue, createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { BatchLayer } from '../batch-layer/index.js';
import { KappaReprocessor, createReplayEngine, readLiveGroup } from '../kappa-reprocessor/index.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import { onBatchViewPublished, SpeedLayer } from '../speed-layer/index.js';
import { AD_EVENTS_TOPIC } from '../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { IngestService } from '../kernel/ingest/ingest-service.js';
import { LagMonitor } from '../kernel/ingest/lag-monitor.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import { GeneratorRunner } from '../kernel/workload/generator-runner.js';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { buildApp } from '../serving-layer/app.js';
import { CpuMeter } from '../measurement/cpu-meter.js';
import { LabMeasurement } from '../measurement/lab-measurement.js';
import { assertSafeBind } from '../serving-layer/security/bind-policy.js';
import { redactText } from '../kernel/util/redact.js';
import type { DependencyHealth, LabServices } from '../serving-layer/lab-services.js';
import { createScenarioService } from '../scenarios/scenario-service.js';

export interface Lab {
  services: LabServices;
  app: FastifyInstance;
  /** Address the server listens on, once listen() was called. */
  url: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
  /** While close() runs: the component it is waiting for (a forced exit names it). */
  readonly closing: string | undefined;
}

export interface StartOptions {
  clock?: Clock;
  /** Pass a log to share one between several labs (tests); otherwise the configured adapter opens one. */
  log?: EventLog;
  logger?: boolean;
  /**
   * Which components run in this process (all by default: the all-in-one lab). The distributed
   * topology runs them as separate processes over Kafka + Redis (docker-compose.yml):
   * `lklab serve` = API + batch coordinator + Kappa control plane, `lklab speed-layer`,
   * `lklab kappa-worker`, `lklab batch-worker`, `lklab produce`.
   */
  roles?: Partial<Record<LabRole, boolean>>;
}

/**
 * `measurement` (the truth oracle and the metrics) runs where the batch coordinator runs unless set:
 * in the all-in-one lab and in `lklab serve`, not in single-component processes.
 */
export type LabRole = 'generator' | 'speed' | 'batch' | 'kappa' | 'measurement';

/**
 * The composition root: opens the adapters, wires the layers, the measurement, the scenario service
 * and the serving layer. The CLI, the benchmarks and the tests build their labs here; a scenario
 * run's own lab comes from here too (createLab is the scenario service's lab factory).
 */
export async function createLab(config: Readonly<LabConfig>, options: StartOptions = {}): Promise<Lab> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (await createEventLog(config, clock));
  const reference = buildReferenceData(config.reference);
  await log.ensureTopic(AD_EVENTS_TOPIC, {
    partitions: config.log.partitions,
    ...(config.log.retentionMs > 0 ? { retentionMs: config.log.retentionMs } : {}),
    ...(config.log.retentionBytes > 0 ? { retentionBytes: config.log.retentionBytes } : {}),
    segmentBytes: config.log.segmentBytes,
  });
  const deadLetters = new DeadLetterWriter(log, clock);
  await deadLetters.ensureTopic();
  const ingest = new IngestService(log, deadLetters, clock, {
    maxRecordBytes: config.ingest.maxRecordBytes,
    maxFutureMs: config.ingest.maxFutureMs,
    knownAds: config.ingest.requireKnownAds ? new Set(reference.campaignOf.keys()) : undefined,
  });
  const runs = (role: LabRole): boolean => options.roles?.[role] ?? true;
  // Back-pressure only on the system clock: a fast-forwarded (virtual-clock) run stays deterministic.
  const live = clock === systemClock;
  const lag = new LagMonitor(log, AD_EVENTS_TOPIC, clock, {
    maxLagEvents: live ? config.backpressure.maxLagEvents : 0,
    refreshMs:
      log.kind === 'kafka' ? Math.max(1000, config.backpressure.refreshMs) : config.backpressure.refreshMs,
  });
  // An injected log is the caller's: the generator appends to it directly.
  const producer = await createGeneratorProducer(
    config,
    clock,
    log,
    options.log ? 0 : config.generator.producerWorkers,
  );
  const generator = new GeneratorRunner(producer, deadLetters, reference, clock, {
    rate: config.generator.rate,
    mode: config.generator.mode,
    seed: config.generator.seed,
    tickMs: config.generator.tickMs,
    knobs: config.generator.knobs,
    backpressure: lag,
    maxScheduleLagMs: live ? config.backpressure.maxScheduleLagMs : 0,
    // A slice per producer thread: each thread gets about one request's worth per append.
    ...(producer.workers > 1 ? { sliceRecords: 4000 * producer.workers } : {}),
  });
  const bus = new LabEventBus();
  // The layers read the log through a meter that attributes their consumers' CPU time (measurement/).
  const meter = new CpuMeter();
  const layerLog = meter.wrapLog(log);
  const store = await createRealtimeStore(config, clock);
  const queue = await createJobQueue(config, clock);
  const batch = new BatchLayer(layerLog, queue, reference, deadLetters, clock, bus, {
    dataDir: config.dataDir,
    topic: AD_EVENTS_TOPIC,
    ...config.batch,
  });
  const speed = new SpeedLayer(layerLog, store, reference, clock, bus, {
    topic: AD_EVENTS_TOPIC,
    group: 'lklab-speed',
    flushIntervalMs: config.speed.flushIntervalMs,
    logicVersion: config.speed.logicVersion,
  });
  const kappa = new KappaReprocessor(layerLog, store, deadLetters, reference, clock, bus, {
    topic: AD_EVENTS_TOPIC,
    settings: config.kappa,
    replayEngine: createReplayEngine,
    archive: batch.archive,
    ...(log.kind === 'kafka' && config.redis.url && !options.log
      ? { threadConfig: config as LabConfig }
      : {}),
  });
  // Marz's expiry: realtime windows go only once a batch view covers them, and never below the
  // boundary of a version a query still holds.
  batch.onPublished = async (view) => {
    await onBatchViewPublished(store, bus, clock, view, batch.views.lowestPinnedBoundary() ?? view.boundary);
  };
  lag.add({ name: 'speed layer', group: () => 'lklab-speed', position: (p) => speed.position(p) });
  // Where the Kappa jobs run in other processes (`lklab produce`, `lklab speed-layer`), the live
  // job's group comes from the registry in the store: the producers wait on its committed lag too.
  lag.add({
    name: 'kappa live job',
    group: () => (runs('kappa') ? kappa.liveGroup : readLiveGroup(store).catch(() => undefined)),
    position: (p) => kappa.livePosition(p),
  });
  if (runs('batch'))
    lag.add({ name: 'batch ingest', group: () => undefined, position: (p) => batch.ingestPosition(p) });
  const mode = log.kind === 'kafka' || config.redis.url ? 'distributed' : 'embedded';
  const measurement = new LabMeasurement({
    clock,
    config,
    log: layerLog,
    store,
    queueKind: queue.kind,
    bus,
    reference,
    batch,
    speed,
    kappa,
    meter,
    topic: AD_EVENTS_TOPIC,
  });
  // The switchover gate compares a replay's table with the truth the measurement holds.
  kappa.useSwitchoverGate({ verify: (job, against, k) => measurement.verifyKappa(job, against, k) });
  // ... and counts what readers lost or got twice under a switchover's cutover mode.
  kappa.useCutoverAudit({ audit: (record) => measurement.auditCutover(record) });
  const secretFree = (err: unknown): string => redactText((err as Error).message, [config.server.token]);
  const services: LabServices = {
    mode,
    clock,
    config,
    log,
    reference,
    ingest,
    deadLetters,
    generator,
    lag,
    startedAt: clock.now(),
    bus,
    store,
    queue,
    batch,
    speed,
    kappa,
    measurement,
    async dependencies(): Promise<DependencyHealth[]> {
      const deps: DependencyHealth[] = [];
      try {
        const offsets = await log.offsets(AD_EVENTS_TOPIC);
        deps.push({
          name: 'event-log',
          kind: log.kind,
          state: 'up',
          detail: `${AD_EVENTS_TOPIC}: ${offsets.length} partitions, end offset ${offsets.reduce((s, p) => s + p.end, 0)}`,
        });
      } catch (err) {
        deps.push({ name: 'event-log', kind: log.kind, state: 'down', detail: secretFree(err) });
      }
      for (const [name, kind, ping] of [
        ['realtime-store', store.kind, () => store.ping()],
        ['job-queue', queue.kind, () => queue.ping()],
      ] as const) {
        try {
          await ping();
          deps.push({ name, kind, state: 'up', detail: 'answers' });
        } catch (err) {
          deps.push({ name, kind, state: 'down', detail: secretFree(err) });
        }
      }
      return deps;
    },
  };
  const app = await buildApp(services, {
    logger: options.logger ?? false,
    scenarios: createScenarioService(config, createLab),
  });
  let url: string | undefined;
  let closed = false;
  let closing: string | undefined;
  const step = async (name: string, stop: () => Promise<void>): Promise<void> => {
    closing = name;
    await stop();
  };
  if (runs('batch')) await batch.start();
  else await batch.startReadOnly();
  if (runs('speed')) await speed.start();
  if (runs('kappa')) await kappa.start();
  const measures = options.roles?.measurement ?? (options.roles === undefined || runs('batch'));
  if (measures) await measurement.start();
  const initial = batch.views.current();
  if (initial && runs('batch')) await onBatchViewPublished(store, bus, clock, initial, initial.boundary);
  lag.start();
  if (runs('generator')) generator.start();
  return {
    services,
    app,
    get url() {
      return url;
    },
    get closing() {
      return closing;
    },
    async listen() {
      assertSafeBind(config.server);
      url = await app.listen({ host: config.server.host, port: config.server.port });
      return url;
    },
    async close() {
      if (closed) return;
      closed = true;
      await step('the generator', () => generator.stop());
      await step('the producer threads', () => producer.close());
      lag.stop();
      await step('the API server (open requests, scenario runs)', () => app.close());
      await step('the measurement', () => measurement.stop());
      if (runs('speed')) await step('the speed layer (flush, commit)', () => speed.stop());
      if (runs('kappa')) await step('the Kappa jobs (checkpoint, replays)', () => kappa.stop());
      await step('the batch layer (ingest, running batch run)', () => batch.stop());
      await step('the job queue', () => queue.close());
      await step('the realtime store', () => store.close());
      if (!options.log) await step('the event log', () => log.close());
      closing = undefined;
    },
  };
}
