/**
 * Kappa operator: pure window processing (event scan, event-time watermark, per-window deltas)
 * and the engine contract the runtime drives. No I/O: unit-tested without any server. The
 * business logic versions it runs live in `../logic/` (counted there by the maintenance-cost
 * measurement) and are re-exported here.
 */
export {
  addCounters,
  CheckpointDelta,
  emptyCounters,
  emptyEncodedDelta,
  type CellDelta,
  type DeadLetterEntry,
  type DeltaCounters,
  type EncodedDelta,
  type WindowPayload,
} from './checkpoint-delta.js';
export {
  decodeKappaRecord,
  emptyKappaEvent,
  scanCanonical,
  scanEvent,
  type ScanOutcome,
} from './event-scanner.js';
export { NO_EVENT_TIME, PartitionProcessor, type EventTimePolicy } from './partition-processor.js';
export {
  InlineEngine,
  type DrainedPartition,
  type ProcessingEngine,
  type ScanSource,
} from './processing-engine.js';
export { availableKappaLogicVersions, KAPPA_LOGIC, kappaLogic } from '../logic/index.js';
export type { KappaEvent, KappaLogic, KappaLogicContext } from '../logic/kappa-logic.js';
