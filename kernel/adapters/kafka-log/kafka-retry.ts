import type { RetryOptions } from 'kafkajs';
import type { KafkaRetrySettings } from './kafka-defaults.js';

/** Our retry settings (ms names) → kafkajs's. Backoff doubles with ±20 % jitter. */
export function toKafkaRetry(s: KafkaRetrySettings): RetryOptions {
  return {
    retries: s.retries,
    initialRetryTime: s.initialRetryTimeMs,
    maxRetryTime: s.maxRetryTimeMs,
    multiplier: 2,
    factor: 0.2,
  };
}

/** Sum of the backoffs (without jitter): about how long a call retries before it gives up (ms). */
export function retryWindowMs(s: KafkaRetrySettings): number {
  let total = 0;
  for (let i = 0; i < s.retries; i++) total += Math.min(s.initialRetryTimeMs * 2 ** i, s.maxRetryTimeMs);
  return total;
}
