/**
 * Default factories of the realtime store and the job queue: Redis (ioredis) and BullMQ when
 * `redis.url` is set, the embedded adapters otherwise. Tests and embedding applications inject
 * another backend with setDefaultRealtimeStoreFactory() / setDefaultJobQueueFactory().
 */
import { join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import type { LabConfig } from '../config/defaults.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { RealtimeStore } from '../ports/realtime-store.js';

export type RealtimeStoreFactory = (config: Readonly<LabConfig>, clock: Clock) => Promise<RealtimeStore>;
export type JobQueueFactory = (config: Readonly<LabConfig>, clock: Clock) => Promise<JobQueue>;

/** Where the embedded store keeps its checkpoint, under the data directory. */
export const EMBEDDED_STORE_DIR = 'realtime-store';
/** How often the embedded store checkpoints on its own (it also does on close), in ms. */
export const EMBEDDED_STORE_CHECKPOINT_MS = 5_000;

const builtInStoreFactory: RealtimeStoreFactory = async (config, clock) => {
  if (config.redis.url) {
    const { openRedisRealtimeStore } = await import('./redis-store/redis-realtime-store.js');
    return openRedisRealtimeStore({
      url: config.redis.url,
      prefix: config.namespace ? `lklab:${config.namespace}:rt:` : 'lklab:rt:',
    });
  }
  const { openEmbeddedRealtimeStore } = await import('./embedded-store/embedded-realtime-store.js');
  return openEmbeddedRealtimeStore({
    dir: join(config.dataDir, EMBEDDED_STORE_DIR),
    clock,
    checkpointEveryMs: EMBEDDED_STORE_CHECKPOINT_MS,
  });
};

const builtInQueueFactory: JobQueueFactory = async (config, clock) => {
  if (config.redis.url) {
    const { openBullMqJobQueue } = await import('./bullmq-queue/bullmq-job-queue.js');
    return openBullMqJobQueue({
      url: config.redis.url,
      clock,
      prefix: config.namespace ? `lklab:${config.namespace}:bull` : 'lklab:bull',
    });
  }
  const { createEmbeddedJobQueue } = await import('./embedded-queue/embedded-job-queue.js');
  return createEmbeddedJobQueue({ clock });
};

let storeFactory: RealtimeStoreFactory = builtInStoreFactory;
let queueFactory: JobQueueFactory = builtInQueueFactory;

/** Replaces the realtime-store factory; undefined restores the built-in one. */
export function setDefaultRealtimeStoreFactory(factory: RealtimeStoreFactory | undefined): void {
  storeFactory = factory ?? builtInStoreFactory;
}

/** Replaces the job-queue factory; undefined restores the built-in one. */
export function setDefaultJobQueueFactory(factory: JobQueueFactory | undefined): void {
  queueFactory = factory ?? builtInQueueFactory;
}

/** Redis when `config.redis.url` is set, else the embedded, checkpointed store under `config.dataDir`. */
export function createRealtimeStore(config: Readonly<LabConfig>, clock: Clock): Promise<RealtimeStore> {
  return storeFactory(config, clock);
}

/** BullMQ when `config.redis.url` is set, else the embedded in-process queue. */
export function createJobQueue(config: Readonly<LabConfig>, clock: Clock): Promise<JobQueue> {
  return queueFactory(config, clock);
}
