/**
 * Kappa engines: the thread and process variants of a job. ThreadEngine processes a replay's
 * partitions in worker threads (and reads the embedded log's history from its segment files);
 * ThreadedJobRunner runs a job's consumers in worker threads with their own Kafka and Redis
 * connections. Their entry files (replay-thread, thread-job) are spawned by URL next to this
 * folder's modules, from the sources and from dist/ alike.
 */
export type { EngineRequest } from './engine-request.js';
export { ThreadedJobRunner } from './threaded-runner.js';
export { createReplayEngine, ThreadEngine } from './thread-engine.js';
