/**
 * Which engine and runner a job gets. A live job: one consumer on the main thread, inline
 * engine. A replay on a log of this process (embedded): the configured replay engine (worker
 * threads), reading the history from the log's history source itself unless rate-limited. A
 * replay on a shared log (Kafka): consumers in worker threads that connect on their own when the
 * lab's configuration is given, else `parallelism` consumers on the main thread.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import type { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import type { LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { ThreadedJobRunner } from '../engines/index.js';
import {
  InlineEngine,
  kappaLogic,
  type KappaLogicContext,
  type ProcessingEngine,
} from '../operator/index.js';
import { KappaJobRunner, type ArchiveSource, type BulkSource, type JobRunnerLike } from '../runtime/index.js';
import type { KappaJobRecord } from '../state/index.js';
import type { KappaReprocessorOptions } from './dto.js';

export interface EngineSelectionDeps {
  log: EventLog;
  store: RealtimeStore;
  deadLetters: DeadLetterWriter;
  clock: Clock;
  bus: LabEventBus;
  options: KappaReprocessorOptions;
  logicContext: KappaLogicContext;
}

export interface SelectedRunner {
  runner: JobRunnerLike;
  /** Releases what the runner was given when its start fails. */
  onStartFailure(): Promise<void>;
}

export function selectRunner(rec: KappaJobRecord, d: EngineSelectionDeps): SelectedRunner {
  const logic = kappaLogic(rec.logicVersion);
  const s = d.options.settings;
  const policy = { maxOutOfOrderMs: s.maxOutOfOrderMs, allowedLatenessMs: s.allowedLatenessMs };
  const replaying = rec.state === 'replaying';
  const engine: ProcessingEngine =
    replaying && !d.log.capabilities.shared && d.options.replayEngine
      ? d.options.replayEngine({
          job: rec,
          logicContext: d.logicContext,
          settings: s,
          parallelism: rec.parallelism,
        })
      : new InlineEngine(logic, d.logicContext, policy);
  const spec = { id: rec.id, logicVersion: rec.logicVersion, group: rec.group };
  // An archive replay reads the archive in this process (where the master dataset is), then its
  // consumers here continue from the cut-over.
  const archive = replaying && rec.source === 'archive' ? archiveSource(rec, d) : undefined;
  if (replaying && !archive && d.log.capabilities.shared && d.options.threadConfig) {
    const threaded = new ThreadedJobRunner(spec, {
      config: d.options.threadConfig,
      threads: rec.parallelism,
      topic: d.options.topic,
      deadLetterTopic: d.deadLetters.topic,
      rateLimit: rec.rateLimit,
      runner: d.options.runner ?? 'lab',
    });
    return { runner: threaded, onStartFailure: () => Promise.resolve() };
  }
  // A log with a history source lets a replay's worker threads read its history themselves
  // (unless rate-limited: then the consumer paces it).
  const log = d.log;
  const bulk: BulkSource | undefined =
    replaying && !archive && engine.scan && log.historySource && rec.snapshot && !(rec.rateLimit > 0)
      ? { ends: rec.snapshot, history: (p) => log.historySource!(d.options.topic, p) }
      : undefined;
  const runner = new KappaJobRunner(d.log, d.store, d.deadLetters, d.clock, d.bus, spec, {
    ...(bulk ? { bulk } : {}),
    ...(archive ? { archive } : {}),
    topic: d.options.topic,
    checkpointIntervalMs: s.checkpointIntervalMs,
    consumers: replaying && d.log.capabilities.shared ? rec.parallelism : 1,
    rateLimit: replaying ? rec.rateLimit : 0,
    maxBatchRecords: s.maxBatchRecords,
    engine,
    runner: d.options.runner ?? 'lab',
  });
  return { runner, onStartFailure: () => engine.close().catch(() => undefined) };
}

/** The archive phase of an archive replay: its recorded cut-over, read through the lab's archive. */
function archiveSource(rec: KappaJobRecord, d: EngineSelectionDeps): ArchiveSource {
  const archive = d.options.archive;
  if (!archive) {
    throw new LabError(
      'LKL_ERR_KAPPA_HISTORY_INCOMPLETE',
      `Job ${rec.id} is an archive replay, but this process has no history archive (the batch layer's master dataset); run it in the lab that runs the batch layer.`,
      { details: { job: rec.id } },
    );
  }
  const topic = d.options.topic;
  return {
    cutover: rec.cutover ?? [],
    read: (partition, from, to, options) => archive.read(topic, partition, from, to, options),
  };
}
