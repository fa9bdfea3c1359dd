/**
 * Namespaced instrumentation events of the embedded log (KafkaJS-style constants). The metrics
 * collector and the dashboard subscribe with `log.on(EMBEDDED_LOG_EVENTS.X, listener)`.
 */
import { EventEmitter } from 'node:events';

export const EMBEDDED_LOG_EVENTS = {
  /** A torn tail was cut off the last segment of a partition while opening. */
  TAIL_TRUNCATED: 'log.recovery.tail_truncated',
  /** A new segment file was started. */
  SEGMENT_ROLLED: 'log.segment.rolled',
  /** Retention deleted whole segments and raised a partition's low offset. */
  SEGMENTS_DELETED: 'log.retention.segments_deleted',
  /** A consumer's position was outside low..end and was reset (below low → low, above end → end). */
  CONSUMER_OFFSET_RESET: 'log.consumer.offset_reset',
  /** A consumer stopped because its handler (or a read) failed. */
  CONSUMER_CRASH: 'log.consumer.crash',
  /** A background task (interval fsync, retention) failed. */
  BACKGROUND_ERROR: 'log.background.error',
} as const;

export interface TailTruncation {
  topic: string;
  partition: number;
  file: string;
  /** Byte position the file was cut at (the first damaged record). */
  position: number;
  bytesDropped: number;
  reason: string;
}

export interface EmbeddedLogEventPayloads {
  [EMBEDDED_LOG_EVENTS.TAIL_TRUNCATED]: TailTruncation;
  [EMBEDDED_LOG_EVENTS.SEGMENT_ROLLED]: {
    topic: string;
    partition: number;
    baseOffset: number;
    file: string;
  };
  [EMBEDDED_LOG_EVENTS.SEGMENTS_DELETED]: {
    topic: string;
    partition: number;
    files: string[];
    bytes: number;
    lowBefore: number;
    lowAfter: number;
  };
  [EMBEDDED_LOG_EVENTS.CONSUMER_OFFSET_RESET]: {
    group: string;
    topic: string;
    partition: number;
    from: number;
    to: number;
    low: number;
    end: number;
  };
  [EMBEDDED_LOG_EVENTS.CONSUMER_CRASH]: {
    group: string;
    topic: string;
    partition: number | undefined;
    error: unknown;
  };
  [EMBEDDED_LOG_EVENTS.BACKGROUND_ERROR]: { task: 'fsync' | 'retention'; error: unknown };
}

export type EmbeddedLogEventName = keyof EmbeddedLogEventPayloads;

export class LogInstrumentation {
  private readonly emitter = new EventEmitter();

  on<E extends EmbeddedLogEventName>(
    event: E,
    listener: (payload: EmbeddedLogEventPayloads[E]) => void,
  ): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<E extends EmbeddedLogEventName>(event: E, payload: EmbeddedLogEventPayloads[E]): void {
    this.emitter.emit(event, payload);
  }

  listeners(event: EmbeddedLogEventName): number {
    return this.emitter.listenerCount(event);
  }
}
