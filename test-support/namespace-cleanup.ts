/** Removes what a namespaced lab left on the shared Kafka and Redis (topics, groups, store keys, offsets). */
import { createEventLog } from '../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../kernel/adapters/store-factory.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import { AD_EVENTS_TOPIC, DEAD_LETTER_TOPIC } from '../kernel/events/ysb-event.js';

export async function cleanupNamespace(config: Readonly<LabConfig>, kappaJobs = 3): Promise<void> {
  if (!config.namespace) throw new Error('cleanupNamespace: refusing to clean a lab without a namespace');
  const log = await createEventLog(config, systemClock);
  try {
    for (const g of await log.listGroups()) await log.deleteGroup(g).catch(() => undefined);
    for (const t of [AD_EVENTS_TOPIC, DEAD_LETTER_TOPIC]) await log.deleteTopic(t).catch(() => undefined);
  } finally {
    await log.close();
  }
  const store = await createRealtimeStore(config, systemClock);
  try {
    await store.deleteByPrefix('');
    for (let job = 1; job <= kappaJobs; job++) await store.deleteOffsets(`kappa-v${job}`);
  } finally {
    await store.close();
  }
}
