/**
 * The Kappa reprocessor's public surface: everything outside `kappa-reprocessor/` imports from
 * here (or from a sub-folder's index).
 */
export {
  DEFAULT_GROUP_PREFIX,
  KappaReprocessor,
  type EngineRequest,
  type KappaJobsView,
  type KappaJobView,
  type KappaReprocessorOptions,
  type KappaSettings,
  type PartitionProgressView,
  type ReplayRequest,
} from './kappa-reprocessor.js';
export { KappaWorkerHost, type KappaWorkerHostOptions } from './kappa-worker-host.js';
export { createReplayEngine } from './engines/index.js';
export {
  loadRegistry,
  RUNNING_STATES,
  type KappaJobRecord,
  type KappaJobState,
  type RegistrySnapshot,
} from './state/index.js';
export {
  KAPPA_PREFIX,
  kappaKeyPrefix,
  offsetsNamespace,
  readActive,
  readKappaWindows,
  readMetaCounters,
  tableName,
  type ActivePointer,
  type KappaWindow,
} from './state/index.js';
export { availableKappaLogicVersions, kappaLogic } from './logic/index.js';
