/**
 * The errors and the warning the Kafka adapter's consumer raises about its own lifecycle
 * (run twice, stopped while starting, no join in time, commit while rejoining, unobserved crash).
 */
import { LabError } from '../../errors/lab-error.js';

interface ConsumerRef {
  group: string;
  topic: string;
}

export function alreadyRunError({ group, topic }: ConsumerRef): LabError {
  return new LabError(
    'LKL_ERR_LOG_INVALID_ARGUMENT',
    `Consumer of group ${group} on ${topic} was already run; create a new consumer.`,
    { details: { group, topic } },
  );
}

export function startAbortedError(what: string, { group, topic }: ConsumerRef): LabError {
  return new LabError('LKL_ERR_LOG_CLOSED', `${what}: stop() was called before the consumer was running.`, {
    retriable: false,
    details: { group, topic },
  });
}

export function joinTimeoutError(
  what: string,
  { group, topic }: ConsumerRef,
  brokers: readonly string[],
  joinTimeoutMs: number,
  joined: boolean,
): LabError {
  return new LabError(
    'LKL_ERR_LOG_UNAVAILABLE',
    `${what}: it did not join the group and fetch within ${joinTimeoutMs} ms. Check that Kafka at ${brokers.join(',')} is up (\`bash scripts/stack/stack.sh status\`), that no stuck consumer of group ${group} holds up the rebalance (\`listGroups\`), and raise joinTimeoutMs for a slow cluster.`,
    {
      retriable: true,
      details: { group, topic, brokers: [...brokers], joined },
    },
  );
}

export function rejoiningCommitError(
  what: string,
  { group, topic }: ConsumerRef,
  brokers: readonly string[],
): LabError {
  return new LabError(
    'LKL_ERR_LOG_UNAVAILABLE',
    `${what}: the consumer is (re)joining its group (Kafka at ${brokers.join(',')} may be down); commit again once it delivers batches.`,
    { retriable: true, details: { group, topic } },
  );
}

/** A process warning for a crash nobody listens to (no onError, no done(), no crash listener). */
export function warnUnobservedCrash({ group, topic }: ConsumerRef, error: unknown): void {
  process.emitWarning(
    `Consumer of group ${group} on ${topic} stopped: ${error instanceof Error ? error.message : String(error)}`,
    {
      code: 'LKL_LOG_CONSUMER_CRASH',
      detail: 'Pass onError, await consumer.done() or listen to log.consumer.crash to handle it.',
    },
  );
}
