/**
 * Options of the Kafka event log and what is built from them: the checked broker list and
 * client id, one kafkajs client per role (admin, consumers, producer) with that role's retries,
 * and the settings handed to consumers.
 */
import kafkajs, { type Kafka } from 'kafkajs';
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
import type { KafkaConsumerSettings } from './kafka-consumer-options.js';
import { KAFKA_LOG_DEFAULTS, type KafkaRetrySettings } from './kafka-defaults.js';
import { KAFKAJS_LEVELS, quietLogCreator, type KafkaLogLevel } from './kafka-logger.js';
import { toKafkaRetry } from './kafka-retry.js';

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { Kafka: KafkaClient } = kafkajs;

export interface KafkaEventLogOptions {
  brokers: string[];
  clientId: string;
  clock: Clock;
  /** TCP connect timeout (ms). Default 3 000. */
  connectionTimeoutMs?: number;
  /** Time a request may wait for its response (ms). Default 30 000. */
  requestTimeoutMs?: number;
  /** Retries of append() (≈ 39 s by default); after them it rejects with LKL_ERR_LOG_UNAVAILABLE. */
  producerRetry?: Partial<KafkaRetrySettings>;
  /** Retries of admin calls (≈ 4 s by default). */
  adminRetry?: Partial<KafkaRetrySettings>;
  /** Retries of consumers before kafkajs restarts them. */
  consumerRetry?: Partial<KafkaRetrySettings>;
  /** Fetch tuning and group timeouts of consumers (see KAFKA_LOG_DEFAULTS). */
  consumer?: Partial<Omit<KafkaConsumerSettings, 'retry'>>;
  /** Produce request limits (see KAFKA_LOG_DEFAULTS). */
  producer?: { maxRequestBytesPerPartition?: number; maxRecordsPerRequest?: number };
  /** kafkajs log lines at or above this level go to stderr (handled error responses and repeats are dropped). Default 'error'. */
  logLevel?: KafkaLogLevel;
}

export interface KafkaClients {
  adminKafka: Kafka;
  /** Client of consumers (its cluster-level retry is the consumers'). */
  consumerKafka: Kafka;
  producerKafka: Kafka;
  adminRetry: KafkaRetrySettings;
  producerRetry: KafkaRetrySettings;
  consumerSettings: KafkaConsumerSettings;
}

/** Checks brokers and clientId (LKL_ERR_LOG_INVALID_ARGUMENT). */
export function validateKafkaEventLogOptions(opts: KafkaEventLogOptions): void {
  if (
    !Array.isArray(opts.brokers) ||
    opts.brokers.length === 0 ||
    opts.brokers.some((b) => typeof b !== 'string' || !/^[^:\s]+:\d+$/.test(b))
  ) {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `openKafkaEventLog needs brokers as host:port strings, got ${JSON.stringify(opts.brokers)}; set KAFKA_BROKERS, e.g. 127.0.0.1:19092.`,
      { details: { field: 'brokers', value: opts.brokers } },
    );
  }
  if (typeof opts.clientId !== 'string' || opts.clientId.length === 0) {
    throw new LabError('LKL_ERR_LOG_INVALID_ARGUMENT', 'openKafkaEventLog needs a non-empty clientId.', {
      details: { field: 'clientId' },
    });
  }
}

/** The kafkajs clients of the log with the defaults applied (options already validated). */
export function buildKafkaClients(opts: KafkaEventLogOptions): KafkaClients {
  const d = KAFKA_LOG_DEFAULTS;
  const producerRetry = { ...d.producerRetry, ...opts.producerRetry };
  const adminRetry = { ...d.adminRetry, ...opts.adminRetry };
  const consumerRetry = { ...d.consumerRetry, ...opts.consumerRetry };
  const client = (retry: KafkaRetrySettings): Kafka =>
    new KafkaClient({
      brokers: [...opts.brokers],
      clientId: opts.clientId,
      connectionTimeout: opts.connectionTimeoutMs ?? d.connectionTimeoutMs,
      requestTimeout: opts.requestTimeoutMs ?? d.requestTimeoutMs,
      retry: toKafkaRetry(retry),
      logLevel: KAFKAJS_LEVELS[opts.logLevel ?? 'error'],
      logCreator: quietLogCreator(),
    });
  // One client per role: kafkajs reconnects with the client's (cluster-level) retries and gives
  // up on the whole call when they are exhausted, so each role's window is set there too.
  return {
    adminKafka: client(adminRetry),
    consumerKafka: client(consumerRetry),
    producerKafka: client(producerRetry),
    adminRetry,
    producerRetry,
    consumerSettings: {
      retry: consumerRetry,
      maxBytesPerPartition: opts.consumer?.maxBytesPerPartition ?? d.maxBytesPerPartition,
      maxBytes: opts.consumer?.maxBytes ?? d.maxBytes,
      minBytes: opts.consumer?.minBytes ?? d.minBytes,
      maxWaitTimeInMs: opts.consumer?.maxWaitTimeInMs ?? d.maxWaitTimeInMs,
      sessionTimeoutMs: opts.consumer?.sessionTimeoutMs ?? d.sessionTimeoutMs,
      heartbeatIntervalMs: opts.consumer?.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
    },
  };
}
