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

/** What the generator appends through, and how to close it. */
export interface GeneratorProducer {
  append: EventLog['append'];
  /** Threads the appends are spread over (0 = the caller's own thread). */
  workers: number;
  close(): Promise<void>;
}

/**
 * The generator's producer: on Kafka with `generator.producerWorkers` > 0, a pool of that many
 * producer threads (kafka-log/kafka-produce-pool.ts, same partitioning and guarantees as the
 * log); otherwise the log itself. `workers` 0 appends to the log directly.
 */
export async function createGeneratorProducer(
  config: Readonly<LabConfig>,
  clock: Clock,
  log: EventLog,
  workers = config.generator.producerWorkers,
): Promise<GeneratorProducer> {
  if (workers <= 0 || config.kafka.brokers.length === 0 || log.kind !== 'kafka') {
    return { append: (topic, records) => log.append(topic, records), workers: 0, close: async () => {} };
  }
  const { openKafkaProducePool } = await import('./kafka-log/kafka-produce-pool.js');
  const pool = await openKafkaProducePool({
    brokers: [...config.kafka.brokers],
    clientId: config.kafka.clientId,
    clock,
    workers,
  });
  const prefix = config.namespace ? `${config.namespace}.` : '';
  return {
    append: (topic, records) => pool.append(prefix + topic, records),
    workers,
    close: () => pool.close(),
  };
}
