/**
 * One thread of a producer pool (kafka-produce-pool.ts): its own Kafka event log, so its own
 * idempotent producer (acks = all, one request in flight), writing only the partitions the pool
 * gives it. Shares are appended one after another, in the order they arrive, so each partition
 * keeps the order the pool sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../clock/system-clock.js';
import { isLabError } from '../../errors/lab-error.js';
import type { AppendAck, AppendRecord } from '../../ports/event-log.js';
import { openKafkaEventLog, type KafkaEventLogOptions } from './kafka-event-log.js';

export type ProduceThreadOptions = Omit<KafkaEventLogOptions, 'clock'>;

/** One partition-share of an append; values[i] goes to partitions[i] with keys[i] and timestamps[i]. */
export interface ProduceShare {
  type: 'append';
  id: number;
  topic: string;
  keys: Array<string | null>;
  values: string[];
  partitions: number[];
  timestamps: number[];
}

export type ProduceThreadRequest = ProduceShare | { type: 'close' };

export interface ProduceThreadError {
  code: string | undefined;
  message: string;
  retriable: boolean;
  details: Record<string, unknown> | undefined;
}

export type ProduceThreadReply =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'acked'; id: number; acks: AppendAck[] }
  | { type: 'failed'; id: number; error: ProduceThreadError }
  | { type: 'closed' };

function describe(err: unknown): ProduceThreadError {
  if (isLabError(err))
    return { code: err.code, message: err.message, retriable: err.retriable, details: err.details };
  return {
    code: undefined,
    message: (err as Error)?.message ?? String(err),
    retriable: true,
    details: undefined,
  };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const log = await openKafkaEventLog({ ...(workerData as ProduceThreadOptions), clock: systemClock });
  let chain = Promise.resolve();
  port.on('message', (msg: ProduceThreadRequest) => {
    chain = chain.then(async () => {
      if (msg.type === 'close') {
        await log.close();
        port.postMessage({ type: 'closed' } satisfies ProduceThreadReply);
        port.close();
        return;
      }
      const records = new Array<AppendRecord>(msg.values.length);
      for (let i = 0; i < records.length; i++) {
        const key = msg.keys[i];
        records[i] = {
          value: msg.values[i]!,
          partition: msg.partitions[i]!,
          timestamp: msg.timestamps[i]!,
          ...(key == null ? {} : { key }),
        };
      }
      try {
        const acks = await log.append(msg.topic, records);
        port.postMessage({ type: 'acked', id: msg.id, acks } satisfies ProduceThreadReply);
      } catch (err) {
        port.postMessage({ type: 'failed', id: msg.id, error: describe(err) } satisfies ProduceThreadReply);
      }
    });
  });
  port.postMessage({ type: 'ready' } satisfies ProduceThreadReply);
}

main().catch((err: unknown) => {
  parentPort?.postMessage({ type: 'error', message: String((err as Error)?.stack ?? err) });
});
