/** Conversion of fetched kafkajs messages into the event-log port's records (UTF-8 key and value). */
import type { KafkaMessage } from 'kafkajs';
import type { LogRecord } from '../../ports/event-log.js';

/** The records of `messages[from..to)`. */
export function toRecords(messages: KafkaMessage[], from: number, to: number): LogRecord[] {
  const out = new Array<LogRecord>(to - from);
  for (let i = from; i < to; i++) {
    const m = messages[i]!;
    out[i - from] = {
      offset: Number(m.offset),
      timestamp: Number(m.timestamp),
      key: m.key == null ? undefined : m.key.toString('utf8'),
      value: m.value == null ? '' : m.value.toString('utf8'),
    };
  }
  return out;
}
