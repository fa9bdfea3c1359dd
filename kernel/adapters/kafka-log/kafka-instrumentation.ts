/**
 * Namespaced instrumentation events of the Kafka adapter (KafkaJS-style constants). The
 * metrics collector and the dashboard subscribe with `log.on(KAFKA_LOG_EVENTS.X, listener)`.
 */
import { EventEmitter } from 'node:events';

export const KAFKA_LOG_EVENTS = {
  /** A consumer joined its group (again) and got this assignment. */
  CONSUMER_GROUP_JOIN: 'log.consumer.group_join',
  /** kafkajs restarts a consumer after a failure it may recover from (e.g. the broker is down). */
  CONSUMER_RESTART: 'log.consumer.restart',
  /** A consumer stopped because its handler failed or kafkajs gave up. */
  CONSUMER_CRASH: 'log.consumer.crash',
  /** A failed send retired a topic's idempotent producer; the next append uses a new producer id. */
  PRODUCER_RESET: 'log.producer.reset',
} as const;

export interface KafkaLogEventPayloads {
  [KAFKA_LOG_EVENTS.CONSUMER_GROUP_JOIN]: { group: string; topic: string; partitions: number[] };
  [KAFKA_LOG_EVENTS.CONSUMER_RESTART]: { group: string; topic: string; error: unknown };
  [KAFKA_LOG_EVENTS.CONSUMER_CRASH]: {
    group: string;
    topic: string;
    partition: number | undefined;
    error: unknown;
  };
  [KAFKA_LOG_EVENTS.PRODUCER_RESET]: { topic: string; error: unknown };
}

export type KafkaLogEventName = keyof KafkaLogEventPayloads;

export class KafkaLogInstrumentation {
  private readonly emitter = new EventEmitter();

  on<E extends KafkaLogEventName>(
    event: E,
    listener: (payload: KafkaLogEventPayloads[E]) => void,
  ): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<E extends KafkaLogEventName>(event: E, payload: KafkaLogEventPayloads[E]): void {
    this.emitter.emit(event, payload);
  }

  listeners(event: KafkaLogEventName): number {
    return this.emitter.listenerCount(event);
  }
}
