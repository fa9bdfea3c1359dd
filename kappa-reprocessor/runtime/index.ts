/**
 * Kappa runtime: runs a job's share of partitions — consumers in the job's group, a cursor per
 * partition, the bulk history phase of a replay, the archive phase of a Kappa+ replay, the checkpoint writer that commits state and
 * offsets in one atomic apply, and the compactor that folds a job's final windows.
 */
export { runArchivePhase, type ArchivePhaseRequest } from './archive-phase.js';
export { startBulkScans, type BulkScanRequest } from './bulk-phase.js';
export { CheckpointWriter, type CheckpointHooks, type CheckpointWriterDeps } from './checkpoint-writer.js';
export { commitByOwner, consumerShares } from './consumer-shares.js';
export {
  emptyRunnerCounters,
  type ArchiveSource,
  type BulkSource,
  type JobRunnerLike,
  type KappaJobRunnerOptions,
  type KappaJobSpec,
  type RunnerCounters,
  type RunnerStats,
} from './job-runner-types.js';
export { KappaJobRunner } from './job-runner.js';
export {
  PartitionCursor,
  type BatchAdmission,
  type PartitionCursorInit,
  type PartitionPosition,
} from './partition-cursor.js';
export { RateLimiter } from './rate-limiter.js';
export { WindowCompactor, type WindowCompactorOptions } from './window-compactor.js';
