import type { Clock } from '../kernel/clock/clock.js';
import { LAB_EVENTS, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { BATCH_META_KEY, expireRealtimeWindows } from './realtime-views.js';

/**
 * When a batch view is published: tell the speed layer (in any process) the boundary its windows
 * now extend, then expire the realtime windows the view covers — never below the boundary of a
 * version a query still holds (`expireBelow`), so no window is ever unanswered.
 */
export async function onBatchViewPublished(
  store: RealtimeStore,
  bus: LabEventBus,
  clock: Clock,
  view: { version: number; boundary: number; logicVersion: number },
  expireBelow: number,
): Promise<number[]> {
  await store.apply({
    sets: [
      { key: BATCH_META_KEY, field: 'boundary', value: view.boundary },
      { key: BATCH_META_KEY, field: 'version', value: view.version },
      { key: BATCH_META_KEY, field: 'logicVersion', value: view.logicVersion },
    ],
  });
  const expired = await expireRealtimeWindows(store, Math.min(expireBelow, view.boundary));
  if (expired.length)
    bus.emit(LAB_EVENTS.SPEED_EXPIRED, clock.now(), { below: expireBelow, windows: expired.length });
  return expired;
}
