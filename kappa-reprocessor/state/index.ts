/**
 * Kappa state: the output tables, the job registry and the active pointer in the realtime store.
 * The only place that knows the store's keys and prefixes; other layers ask through these
 * functions instead of building keys themselves.
 */
export {
  deleteTable,
  deltaField,
  FOLDED_FIELD,
  foldUpdate,
  foldWindow,
  listWindows,
  KAPPA_PREFIX,
  KappaFoldCache,
  foldCacheOf,
  kappaKeyPrefix,
  offsetsNamespace,
  readActive,
  readKappaWindows,
  readMaxEventTimes,
  readMetaCounters,
  tableName,
  tablePrefix,
  toStoreUpdate,
  windowKey,
  CUTOVER_KEY,
  type ActivePointer,
  type CheckpointContent,
  type DeltaEntry,
  type KappaWindow,
} from './kappa-tables.js';
export { CUTOVER_MODES, type CutoverMode, type ReaderCutover } from './cutover-types.js';
export { readerSources, readServedWindows, type ReaderSource, type ServedWindow } from './reader-cutover.js';
export {
  loadRegistry,
  readLiveGroup,
  registrySets,
  RUNNING_STATES,
  saveRegistry,
  type KappaJobRecord,
  type KappaJobState,
  type RegistrySnapshot,
} from './job-registry.js';
