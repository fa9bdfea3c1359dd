import { join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import type { LabConfig } from '../config/defaults.js';
import type { EventLog } from '../ports/event-log.js';
import { openEmbeddedEventLog } from './embedded-log/embedded-event-log.js';
import { NamespacedEventLog } from './namespaced-event-log.js';

export type EventLogFactory = (config: Readonly<LabConfig>, clock: Clock) => Promise<EventLog>;

/** Embedded unless Kafka brokers are configured. */
const builtInFactory: EventLogFactory = async (config, clock) => {
  if (config.kafka.brokers.length > 0) {
    const { openKafkaEventLog } = await import('./kafka-log/kafka-event-log.js');
    const log = await openKafkaEventLog({
      brokers: [...config.kafka.brokers],
      clientId: config.kafka.clientId,
      clock,
    });
    return config.namespace ? new NamespacedEventLog(log, config.namespace) : log;
  }
  return openEmbeddedEventLog({
    dataDir: join(config.dataDir),
    clock,
    fsyncIntervalMs: config.log.fsyncIntervalMs,
  });
};

let defaultFactory: EventLogFactory = builtInFactory;

/** Replaces the factory (tests and embedding applications inject another backend). */
export function setDefaultEventLogFactory(factory: EventLogFactory | undefined): void {
  defaultFactory = factory ?? builtInFactory;
}

export function createEventLog(config: Readonly<LabConfig>, clock: Clock): Promise<EventLog> {
  return defaultFactory(config, clock);
}
