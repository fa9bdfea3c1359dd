/**
 * The Kappa reprocessor's public surface: everything outside `kappa-reprocessor/` imports from
 * here (or from a sub-folder's index).
 *
 *   control/   commands, job lifecycle, monitor, ETA/progress read model, DTOs, worker host
 *   runtime/   job runner, partition cursor, checkpoint writer, consumer shares
 *   operator/  pure window processing, the engine contract (logic versions in logic/)
 *   state/     output tables, job registry, active pointer: the store's key layout
 *   engines/   worker-thread variants (replay engine, threaded Kafka runner)
 */
export {
  DEFAULT_GROUP_PREFIX,
  KappaReprocessor,
  KappaWorkerHost,
  type EngineRequest,
  type KappaJobsView,
  type KappaJobView,
  type KappaReprocessorOptions,
  type KappaSettings,
  type KappaWorkerHostOptions,
  type PartitionProgressView,
  type ReplayPreflight,
  type ReplayRequest,
  type ReplaySourceRequest,
  DIFF_BUCKETS,
  unavailableVerification,
  type KappaVerification,
  type SwitchoverGate,
  type SwitchoverResult,
  type VerificationVerdict,
  type VerificationWindow,
  unmeasured,
  type CutoverAudit,
  type CutoverPartition,
  type CutoverRecord,
  type CutoverReport,
  type CutoverWindow,
} from './control/index.js';
export { createReplayEngine } from './engines/index.js';
export {
  KAPPA_PREFIX,
  KappaFoldCache,
  kappaKeyPrefix,
  loadRegistry,
  offsetsNamespace,
  readLiveGroup,
  readActive,
  readKappaWindows,
  readMaxEventTimes,
  readerSources,
  readServedWindows,
  CUTOVER_MODES,
  type CutoverMode,
  type ReaderCutover,
  type ReaderSource,
  type ServedWindow,
  readMetaCounters,
  RUNNING_STATES,
  tableName,
  type ActivePointer,
  type KappaJobRecord,
  type KappaJobState,
  type KappaWindow,
  type RegistrySnapshot,
} from './state/index.js';
export { availableKappaLogicVersions, kappaLogic } from './operator/index.js';
