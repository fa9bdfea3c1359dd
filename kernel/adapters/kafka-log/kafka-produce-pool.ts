/**
 * A producer pool: appends spread over N worker threads, each with its own idempotent kafkajs
 * producer (acks = all). kafkajs allows an idempotent producer one request in flight and encodes
 * records on the thread that calls it, so one process tops out at one core's worth of record
 * encoding (docs/kafka.md, "Producing faster"); N threads with N producers encode and wait in
 * parallel.
 *
 * Order per partition: partition p is always written by thread p mod N, and a thread appends
 * the shares it gets one after another, in the order the pool sent them; so every partition
 * sees its records in append order, as with one producer. Partitions are assigned here, on the
 * calling thread, exactly as KafkaEventLog.append() would (explicit, murmur2 of the key,
 * round-robin), so a key lands on the same partition with or without a pool.
 *
 * Failures: a thread's append fails as KafkaEventLog.append() does (and its producer is
 * replaced, so acknowledged records are in the log exactly once). The pool then rejects with
 * that error; `details.acked` holds the acks of the shares that were written and
 * `details.unwritten` the indexes of the records to append again (in order).
 */
import type { Worker } from 'node:worker_threads';
import type { Clock } from '../../clock/clock.js';
import { ERROR_CODES, type ErrorCode } from '../../errors/error-codes.js';
import { LabError } from '../../errors/lab-error.js';
import type { AppendAck, AppendRecord } from '../../ports/event-log.js';
import { spawnThread } from '../../util/spawn-thread.js';
import { mergeAcks } from './kafka-appender.js';
import { openKafkaEventLog, type KafkaEventLog } from './kafka-event-log.js';
import type {
  ProduceShare,
  ProduceThreadError,
  ProduceThreadOptions,
  ProduceThreadReply,
  ProduceThreadRequest,
} from './kafka-produce-thread.js';

export interface KafkaProducePoolOptions extends ProduceThreadOptions {
  /** Producer threads (1–64). */
  workers: number;
  /** Timestamps of records that carry none. */
  clock: Clock;
}

interface Pending {
  resolve: (acks: AppendAck[]) => void;
  reject: (error: ProduceThreadError) => void;
}

class ProduceThread {
  readonly pending = new Map<number, Pending>();
  readonly ready: Promise<void>;
  dead = false;
  private closed: (() => void) | undefined;

  constructor(readonly worker: Worker) {
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: ProduceThreadReply) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'error') {
          reject(new Error(msg.message));
          this.fail(msg.message);
        } else if (msg.type === 'acked') {
          this.pending.get(msg.id)?.resolve(msg.acks);
          this.pending.delete(msg.id);
        } else if (msg.type === 'failed') {
          this.pending.get(msg.id)?.reject(msg.error);
          this.pending.delete(msg.id);
        } else if (msg.type === 'closed') this.closed?.();
      });
      worker.on('error', (err) => {
        reject(err);
        this.fail(err.message);
      });
      worker.on('exit', (code) => {
        reject(new Error(`producer thread exited with code ${code}`));
        this.fail(`producer thread exited with code ${code}`);
        this.closed?.();
      });
    });
    this.ready.catch(() => undefined);
  }

  send(msg: ProduceThreadRequest): void {
    this.worker.postMessage(msg);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const done = new Promise<void>((resolve) => (this.closed = resolve));
    this.send({ type: 'close' });
    await done;
    this.dead = true;
  }

  private fail(message: string): void {
    this.dead = true;
    for (const p of this.pending.values())
      p.reject({ code: 'LKL_ERR_LOG_UNAVAILABLE', message, retriable: true, details: undefined });
    this.pending.clear();
  }
}

export class KafkaProducePool {
  private readonly threads: Array<ProduceThread | undefined>;
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly planner: KafkaEventLog,
    private readonly options: KafkaProducePoolOptions,
  ) {
    this.threads = new Array<ProduceThread | undefined>(options.workers).fill(undefined);
  }

  static async open(options: KafkaProducePoolOptions): Promise<KafkaProducePool> {
    if (!Number.isInteger(options.workers) || options.workers < 1 || options.workers > 64) {
      throw new LabError(
        'LKL_ERR_LOG_INVALID_ARGUMENT',
        `A producer pool needs 1 to 64 workers, got ${options.workers}.`,
        { details: { field: 'workers', value: options.workers } },
      );
    }
    const { workers: _w, clock: _c, ...logOptions } = options;
    const planner = await openKafkaEventLog({ ...logOptions, clock: options.clock });
    const pool = new KafkaProducePool(planner, options);
    try {
      await Promise.all(pool.threads.map((_, i) => pool.thread(i).ready));
    } catch (err) {
      await pool.close();
      throw new LabError(
        'LKL_ERR_LOG_UNAVAILABLE',
        `The producer threads did not start: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return pool;
  }

  get workers(): number {
    return this.options.workers;
  }

  private thread(i: number): ProduceThread {
    const current = this.threads[i];
    if (current && !current.dead) return current;
    const { workers: _w, clock: _c, ...data } = this.options;
    const t = new ProduceThread(
      spawnThread(new URL(`./kafka-produce-thread${extensionOf(import.meta.url)}`, import.meta.url), {
        workerData: data,
      }),
    );
    this.threads[i] = t;
    return t;
  }

  /** Like EventLog.append(): one ack per partition, sorted; see the file comment for failures. */
  async append(topic: string, records: AppendRecord[]): Promise<AppendAck[]> {
    if (this.closed) throw new LabError('LKL_ERR_LOG_CLOSED', 'The producer pool is closed.');
    const partitions = await this.planner.planAppend(topic, records);
    if (records.length === 0) return [];
    const n = this.threads.length;
    const now = this.options.clock.now();
    const shares = new Map<number, { indexes: number[]; share: ProduceShare }>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const w = partitions[i]! % n;
      let s = shares.get(w);
      if (!s) {
        s = {
          indexes: [],
          share: {
            type: 'append',
            id: this.nextId++,
            topic,
            keys: [],
            values: [],
            partitions: [],
            timestamps: [],
          },
        };
        shares.set(w, s);
      }
      s.indexes.push(i);
      s.share.keys.push(r.key ?? null);
      s.share.values.push(r.value);
      s.share.partitions.push(partitions[i]!);
      s.share.timestamps.push(r.timestamp ?? now);
    }
    const sent = [...shares].map(([w, s]) => ({ indexes: s.indexes, acks: this.post(w, s.share) }));
    const settled = await Promise.allSettled(sent.map((s) => s.acks));
    const acked: AppendAck[] = [];
    const unwritten: number[] = [];
    let failure: ProduceThreadError | undefined;
    for (let i = 0; i < settled.length; i++) {
      const r = settled[i]!;
      if (r.status === 'fulfilled') acked.push(...r.value);
      else {
        failure ??= r.reason as ProduceThreadError;
        unwritten.push(...sent[i]!.indexes);
      }
    }
    if (!failure) return mergeAcks(acked);
    unwritten.sort((a, b) => a - b);
    const code: ErrorCode =
      failure.code && failure.code in ERROR_CODES ? (failure.code as ErrorCode) : 'LKL_ERR_LOG_UNAVAILABLE';
    throw new LabError(
      code,
      acked.length > 0
        ? `${failure.message} Part of the append was written (details.acked); append the records at details.unwritten again.`
        : failure.message,
      {
        retriable: failure.retriable,
        details: { ...failure.details, topic, acked: mergeAcks(acked), unwritten },
      },
    );
  }

  private async post(w: number, share: ProduceShare): Promise<AppendAck[]> {
    const t = this.thread(w);
    await t.ready;
    return new Promise<AppendAck[]>((resolve, reject) => {
      t.pending.set(share.id, { resolve, reject });
      t.send(share);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.threads.map(async (t) => {
        if (!t) return;
        await t.ready.catch(() => undefined);
        await t.close();
        await t.worker.terminate();
      }),
    );
    await this.planner.close();
  }
}

/** `.ts` from the sources (vitest, tsx), `.js` compiled. */
function extensionOf(url: string): string {
  return url.endsWith('.ts') ? '.ts' : '.js';
}

export async function openKafkaProducePool(options: KafkaProducePoolOptions): Promise<KafkaProducePool> {
  return KafkaProducePool.open(options);
}
