/**
 * The speed layer's public surface: everything outside `speed-layer/` imports from here. The
 * realtime views' key layout (`realtime-views.ts`) stays inside; other folders ask the questions
 * below instead of reading keys.
 *
 *   speed-layer.ts     the layer: consume, pre-aggregate, flush, commit (at-least-once)
 *   realtime-views.ts  the realtime views in the store: key layout, what a flush writes, reads
 *   expiry.ts          a published batch view's boundary, and the expiry of the windows it covers
 *   logic/             the speed logic per version (TS modules)
 */
export { SpeedLayer, type CrashPoint, type SpeedLayerOptions, type WindowLatency } from './speed-layer.js';
export {
  flushUpdate,
  readRealtimeWindows,
  readRequestedSpeedLogicVersion,
  readWindowUpdateTimes,
  realtimeViewsMemoryBytes,
  type FlushCounts,
  type RealtimeWindow,
} from './realtime-views.js';
export { onBatchViewPublished } from './expiry.js';
export { SPEED_LOGIC, speedLogic } from './logic/index.js';
export type { StreamLogic } from './logic/speed-logic.js';
