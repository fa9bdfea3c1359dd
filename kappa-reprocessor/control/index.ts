/**
 * Kappa control plane: the commands (replay, switchover, rollback, abort), the job lifecycle
 * (states and legal transitions), the monitor (catch-up, grace), the ETA/progress read model and
 * the DTOs; plus the worker host that `lklab kappa-worker` runs.
 */
export { CatchUpDetector, type CatchUpInput, type CatchUpState } from './catch-up.js';
export {
  assertHistoryComplete,
  assertNoReplayRunning,
  checkAbort,
  chooseReplaySource,
  planReplay,
  planRollback,
  planSwitchover,
  type RollbackPlan,
  type SwitchoverPlan,
  verificationTarget,
} from './commands.js';
export {
  cutoverPartitions,
  planCutover,
  unmeasured,
  type CutoverAudit,
  type CutoverInput,
  type CutoverPartition,
  type CutoverRecord,
  type CutoverReport,
  type CutoverWindow,
} from './cutover.js';
export {
  DEFAULT_GROUP_PREFIX,
  type EngineRequest,
  type KappaJobsView,
  type KappaJobView,
  type KappaReprocessorOptions,
  type KappaSettings,
  type PartitionProgressView,
  type ReplayRequest,
} from './dto.js';
export { selectRunner, type EngineSelectionDeps, type SelectedRunner } from './engine-selection.js';
export { buildJobView, type JobViewSource } from './job-view.js';
export { KappaReprocessor } from './kappa-reprocessor.js';
export { KappaWorkerHost, type KappaWorkerHostOptions } from './kappa-worker-host.js';
export {
  canTransition,
  INITIAL_STATES,
  isFinal,
  LEGAL_TRANSITIONS,
  newJobRecord,
  replayCandidate,
  RUNNING_STATES,
  transition,
  type KappaJobState,
} from './lifecycle.js';
export { JobMonitor, type JobSample } from './monitor.js';
export { etaMs, ProgressTracker, type PartitionRate, type ProgressSample } from './progress.js';
export {
  replayOptions,
  type ArchiveSourceOption,
  type LogSourceOption,
  type ReplayOptions,
  type ReplayPreflight,
  type ReplaySource,
  type ReplaySourceRequest,
} from './replay-sources.js';
export { checkRetention, type RetentionCheckResult } from './retention-check.js';
export { syncJob, waitForJobState } from './waits.js';
export {
  askGate,
  assertVerified,
  DIFF_BUCKETS,
  diffBucket,
  unavailableVerification,
  type KappaVerification,
  type SwitchoverGate,
  type SwitchoverResult,
  type VerificationCellDiff,
  type VerificationVerdict,
  type VerificationWindow,
} from './verification.js';
