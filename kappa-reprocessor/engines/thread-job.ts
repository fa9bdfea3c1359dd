/**
 * A worker thread that runs one member of a Kappa job against Kafka + Redis: its own kafkajs
 * client and Redis connection (from the lab's configuration), one consumer in the job's group,
 * its own checkpoints. What `lklab kappa-worker` does in a process, inside the lab's process —
 * so a replay decodes, scans and aggregates on every core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createEventLog } from '../../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../../kernel/adapters/store-factory.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import type { LabConfig } from '../../kernel/config/defaults.js';
import { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import {
  KappaJobRunner,
  type KappaJobSpec,
  type PartitionPosition,
  type RunnerStats,
} from '../runtime/index.js';
import { kappaLogic } from '../logic/index.js';
import { InlineEngine } from '../operator/index.js';

export interface ThreadJobData {
  config: LabConfig;
  job: KappaJobSpec;
  topic: string;
  deadLetterTopic: string;
  rateLimit: number;
  runner: string;
}

export type FromThreadJob =
  | { type: 'started' }
  | { type: 'status'; status: RunnerStats; positions: PartitionPosition[] }
  | { type: 'stopped'; status: RunnerStats; positions: PartitionPosition[] }
  | { type: 'error'; message: string };

export type ToThreadJob = { type: 'stop' } | { type: 'checkpoint'; id: number };

const data = workerData as ThreadJobData;
const port = parentPort!;
const send = (m: FromThreadJob | { type: 'checkpointed'; id: number }): void => port.postMessage(m);

try {
  const { config } = data;
  const log = await createEventLog(config, systemClock);
  const store = await createRealtimeStore(config, systemClock);
  const deadLetters = new DeadLetterWriter(log, systemClock, data.deadLetterTopic);
  const reference = buildReferenceData(config.reference);
  const s = config.kappa;
  const runner = new KappaJobRunner(log, store, deadLetters, systemClock, new LabEventBus(), data.job, {
    topic: data.topic,
    checkpointIntervalMs: s.checkpointIntervalMs,
    consumers: 1,
    rateLimit: data.rateLimit,
    maxBatchRecords: s.maxBatchRecords,
    engine: new InlineEngine(
      kappaLogic(data.job.logicVersion),
      { campaignOf: reference.campaignOf, bots: new Set(reference.bots), movedAds: reference.movedAds },
      { maxOutOfOrderMs: s.maxOutOfOrderMs, allowedLatenessMs: s.allowedLatenessMs },
    ),
    runner: data.runner,
  });
  await runner.start();
  send({ type: 'started' });
  const timer = setInterval(
    () => send({ type: 'status', status: runner.status, positions: runner.positions() }),
    250,
  );
  port.on('message', (m: ToThreadJob) => {
    if (m.type === 'checkpoint') {
      void runner.checkpoint().then(
        () => send({ type: 'checkpointed', id: m.id }),
        () => send({ type: 'checkpointed', id: m.id }),
      );
    } else if (m.type === 'stop') {
      clearInterval(timer);
      void (async () => {
        await runner.stop();
        await store.close();
        await log.close();
        send({ type: 'stopped', status: runner.status, positions: runner.positions() });
        port.close();
      })();
    }
  });
} catch (err) {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
