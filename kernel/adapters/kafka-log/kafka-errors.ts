/**
 * Maps kafkajs errors to LabErrors: unknown topic → LKL_ERR_LOG_TOPIC_UNKNOWN; a broker that
 * cannot be reached, is restarting or is rebalancing → LKL_ERR_LOG_UNAVAILABLE (retriable);
 * a request Kafka rejects as invalid → LKL_ERR_LOG_INVALID_ARGUMENT.
 */
import { LabError, isLabError } from '../../errors/lab-error.js';

interface KafkaJsLikeError {
  name?: string;
  type?: string;
  message?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

/** Protocol errors that mean "not ready yet / moving": retrying later helps. */
const TRANSIENT_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'COORDINATOR_NOT_AVAILABLE',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'NOT_COORDINATOR_FOR_GROUP',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'GROUP_LOAD_IN_PROGRESS',
  'REBALANCE_IN_PROGRESS',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR',
  'BROKER_NOT_AVAILABLE',
  'NOT_CONTROLLER',
]);

const INVALID_TYPES = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'POLICY_VIOLATION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
  'INVALID_GROUP_ID',
  'INVALID_COMMIT_OFFSET_SIZE',
]);

/** The chain err → err.cause → … (kafkajs wraps the last failure in KafkaJSNumberOfRetriesExceeded). */
function chain(err: unknown): KafkaJsLikeError[] {
  const out: KafkaJsLikeError[] = [];
  let cur: unknown = err;
  while (cur && typeof cur === 'object' && out.length < 8) {
    const e = cur as KafkaJsLikeError;
    out.push(e);
    cur = e.cause ?? e.originalError;
  }
  return out;
}

/** The kafkajs protocol error type (e.g. UNKNOWN_TOPIC_OR_PARTITION) anywhere in the cause chain. */
export function kafkaErrorType(err: unknown): string | undefined {
  return chain(err).find((e) => typeof e.type === 'string')?.type;
}

export interface ErrorContext {
  /** What was being done, e.g. "append to ad-events". */
  what: string;
  brokers: readonly string[];
  topic?: string;
  group?: string;
}

export function toLabError(err: unknown, ctx: ErrorContext): LabError {
  if (isLabError(err)) return err;
  const links = chain(err);
  const type = kafkaErrorType(err);
  const root = links[links.length - 1];
  const reason = root?.message ?? String(err);
  const details = {
    brokers: [...ctx.brokers],
    topic: ctx.topic,
    group: ctx.group,
    kafkaError: type ?? root?.name,
  };
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION' && ctx.topic !== undefined) {
    return new LabError(
      'LKL_ERR_LOG_TOPIC_UNKNOWN',
      `${ctx.what}: topic ${ctx.topic} does not exist in Kafka; create it with ensureTopic().`,
      { cause: err, details },
    );
  }
  if (type === 'OFFSET_OUT_OF_RANGE') {
    return new LabError('LKL_ERR_LOG_OFFSET_OUT_OF_RANGE', `${ctx.what}: ${reason}.`, {
      cause: err,
      details,
    });
  }
  if (type === 'NON_EMPTY_GROUP') {
    return new LabError(
      'LKL_ERR_LOG_GROUP_ACTIVE',
      `${ctx.what}: group ${ctx.group ?? '?'} still has members; stop its consumers first.`,
      { cause: err, details },
    );
  }
  if (type !== undefined && INVALID_TYPES.has(type)) {
    return new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `${ctx.what}: Kafka rejected the request (${type}: ${reason}).`,
      {
        cause: err,
        details,
      },
    );
  }
  const unreachable = links.some((e) => e.name !== undefined && UNREACHABLE.has(e.name));
  const transient = type !== undefined && TRANSIENT_TYPES.has(type);
  const retriable =
    unreachable || transient || links.some((e) => e.retriable === true) || root?.retriable === true;
  const why = unreachable
    ? `Kafka at ${ctx.brokers.join(',')} cannot be reached (${reason})`
    : `Kafka did not complete the request (${type ?? root?.name ?? 'error'}: ${reason})`;
  return new LabError(
    'LKL_ERR_LOG_UNAVAILABLE',
    `${ctx.what} failed: ${why}. Check that the broker is up (\`bash scripts/stack/stack.sh status\`) and that KAFKA_BROKERS points at it${retriable ? '; the call may be retried' : ''}.`,
    { cause: err, retriable: unreachable || transient || retriable, details },
  );
}
