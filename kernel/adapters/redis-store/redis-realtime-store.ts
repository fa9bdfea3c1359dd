/**
 * Realtime store on Redis via ioredis: fields are hashes (HINCRBY/HSET), sketches are Redis
 * HyperLogLogs (PFADD/PFCOUNT), offsets are one hash per namespace.
 *
 * Key layout under the store's prefix (default `lklab:rt:`): `<prefix>d:<key>` for data keys,
 * `<prefix>o:<namespace>` for offsets, so offsets never appear in keys() nor fall to
 * deleteByPrefix().
 *
 * apply() is one MULTI/EXEC transaction (HDEL / HINCRBY / HSET / PFADD / HSET of offsets): Redis runs it
 * without interleaving, and a client that dies before EXEC leaves nothing behind. Redis does not
 * roll a transaction back when a command inside it fails, though, so before MULTI the update is
 * validated (same rules as the embedded store) and the keys it touches are probed in one pipelined
 * round trip (TYPE of each key, the current value of each incremented field). Every rejection
 * therefore happens before anything is written. Optimistic WATCH is deliberately not used: several
 * speed-layer workers increment the same campaign-window keys, and WATCH would make them abort
 * each other's EXEC over and over. The remaining gap: a concurrent writer changing a key's kind
 * (fields ↔ sketch) between the probe and EXEC; the port's users never do, and if it happens apply
 * reports LKL_ERR_STORE_CONFLICT naming the failed command.
 */
import { Redis } from 'ioredis';
import { LabError } from '../../errors/lab-error.js';
import { checkStoreUpdate } from '../../ports/realtime-store-validation.js';
import type { RealtimeStore, StoreUpdate } from '../../ports/realtime-store.js';
import {
  execUpdate,
  probeUpdate,
  sumIncrements,
  watchOffsets,
  type RedisStoreContext,
} from './redis-apply.js';
import { mapRedisError, redactUrl } from './redis-errors.js';
import { RedisKeyLayout, escapeGlob } from './redis-keys.js';

export { escapeGlob, redactUrl };

export interface RedisRealtimeStoreOptions {
  /** e.g. redis://127.0.0.1:16379 */
  url: string;
  /** Namespace of every key this store writes; tests use a random one. Default `lklab:rt:`. */
  prefix?: string;
  /** Milliseconds a command may take before it fails with LKL_ERR_STORE_UNAVAILABLE. Default 10 s. */
  commandTimeoutMs?: number;
}

const SCAN_COUNT = 1000;
/** Redis's HyperLogLog registers: HLL_P = 14 in its hyperloglog.c, fixed when Redis is built. */
const REDIS_HLL_REGISTERS = 1 << 14;
const UNLINK_BATCH = 500;

export class RedisRealtimeStore implements RealtimeStore {
  readonly kind = 'redis' as const;
  readonly sketchRegisters = REDIS_HLL_REGISTERS;
  private readonly redis: Redis;
  private readonly keyLayout: RedisKeyLayout;
  private readonly ctx: RedisStoreContext;
  private readonly safeUrl: string;
  private applyChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Last connection error ioredis reported (kept for the error message). */
  private lastConnectionError: Error | undefined;

  constructor(options: RedisRealtimeStoreOptions) {
    this.keyLayout = new RedisKeyLayout(options.prefix ?? 'lklab:rt:');
    this.safeUrl = redactUrl(options.url);
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      // Fail a command after one reconnect attempt instead of queueing it for minutes; the caller
      // (speed-layer flush, Kappa commit) retries the whole step.
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 10_000,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    this.redis.on('error', (err: Error) => {
      this.lastConnectionError = err;
    });
    this.ctx = {
      redis: this.redis,
      keys: this.keyLayout,
      call: (fn, key) => this.call(fn, key),
      mapError: (err, key) => this.mapError(err, key),
    };
  }

  /** Connects and checks Redis answers. */
  async connect(): Promise<void> {
    await this.ping();
  }

  apply(update: StoreUpdate): Promise<void> {
    // One apply at a time per store: the probe of an update must see the previous update's EXEC.
    const run = this.applyChain.then(() => this.applyOnce(update));
    this.applyChain = run.catch(() => undefined);
    return run;
  }

  private async applyOnce(update: StoreUpdate): Promise<void> {
    this.assertOpen();
    const checked = checkStoreUpdate(update);
    const counterList = sumIncrements(checked);
    // 1. Probe: what kind of value each key holds, and what each incremented field holds.
    await probeUpdate(this.ctx, checked, counterList);
    // 2. The transaction, after a compare-and-set on offsets WATCHed the offsets hash.
    await watchOffsets(this.ctx, checked);
    await execUpdate(this.ctx, checked, counterList);
  }

  async getFields(key: string): Promise<Readonly<Record<string, string>>> {
    this.assertOpen();
    return this.call(() => this.redis.hgetall(this.dataKey(key)), key);
  }

  async getManyFields(keys: string[]): Promise<Array<Readonly<Record<string, string>>>> {
    this.assertOpen();
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const k of keys) p.hgetall(this.dataKey(k));
    const replies = await this.call(() => p.exec());
    return (replies ?? []).map(([err, value], i) => {
      if (err) throw this.mapError(err, keys[i]);
      return value as Record<string, string>;
    });
  }

  async sketchCount(key: string): Promise<number> {
    this.assertOpen();
    return this.call(() => this.redis.pfcount(this.dataKey(key)), key);
  }

  async sketchCountMany(keys: string[]): Promise<number[]> {
    this.assertOpen();
    if (keys.length === 0) return [];
    const p = this.redis.pipeline();
    for (const k of keys) p.pfcount(this.dataKey(k));
    const replies = await this.call(() => p.exec());
    return (replies ?? []).map(([err, value], i) => {
      if (err) throw this.mapError(err, keys[i]);
      return value as number;
    });
  }

  async sketchUnionCount(keys: string[]): Promise<number> {
    this.assertOpen();
    if (keys.length === 0) return 0;
    return this.call(() => this.redis.pfcount(...keys.map((k) => this.dataKey(k))), keys.join(', '));
  }

  async readOffsets(namespace: string): Promise<Record<number, number>> {
    this.assertOpen();
    const raw = await this.call(() => this.redis.hgetall(this.offsetsKey(namespace)));
    const out: Record<number, number> = {};
    for (const [p, o] of Object.entries(raw)) out[Number(p)] = Number(o);
    return out;
  }

  async deleteOffsets(namespace: string): Promise<void> {
    this.assertOpen();
    await this.call(() => this.redis.unlink(this.offsetsKey(namespace)));
  }

  async keys(prefix: string): Promise<string[]> {
    this.assertOpen();
    const found = new Set<string>();
    await this.scan(prefix, (batch) => {
      for (const k of batch) found.add(this.keyLayout.fromDataKey(k));
    });
    return [...found];
  }

  async deleteKeys(keys: string[]): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    for (let i = 0; i < keys.length; i += UNLINK_BATCH) {
      const batch = keys.slice(i, i + UNLINK_BATCH).map((k) => this.dataKey(k));
      deleted += await this.call(() => this.redis.unlink(...batch));
    }
    return deleted;
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    const pending: string[] = [];
    const flush = async (all: boolean): Promise<void> => {
      while (pending.length >= (all ? 1 : UNLINK_BATCH)) {
        const batch = pending.splice(0, UNLINK_BATCH);
        deleted += await this.call(() => this.redis.unlink(...batch));
      }
    };
    await this.scan(prefix, async (batch) => {
      pending.push(...batch);
      await flush(false);
    });
    await flush(true);
    return deleted;
  }

  /** Sum of MEMORY USAGE over the keys under the prefix (Redis's own estimate, incl. overheads). */
  async memoryBytes(prefix: string): Promise<number> {
    this.assertOpen();
    let bytes = 0;
    await this.scan(prefix, async (batch) => {
      if (batch.length === 0) return;
      const p = this.redis.pipeline();
      for (const k of batch) p.memory('USAGE', k);
      const replies = await this.call(() => p.exec());
      for (const [err, value] of replies ?? []) if (!err && typeof value === 'number') bytes += value;
    });
    return bytes;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.call(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.applyChain;
    try {
      if (this.redis.status === 'ready') await this.redis.quit();
    } catch {
      // fall through to disconnect
    }
    this.redis.disconnect();
  }

  /** SCAN (never KEYS) over data keys starting with `prefix`, batch by batch. */
  private async scan(prefix: string, onBatch: (keys: string[]) => void | Promise<void>): Promise<void> {
    const match = this.keyLayout.dataMatch(prefix);
    let cursor = '0';
    do {
      const [next, keys] = await this.call(() =>
        this.redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT),
      );
      cursor = next;
      await onBatch(keys);
    } while (cursor !== '0');
  }

  private dataKey(key: string): string {
    return this.keyLayout.dataKey(key);
  }

  private offsetsKey(namespace: string): string {
    return this.keyLayout.offsetsKey(namespace);
  }

  private async call<T>(fn: () => Promise<T>, key?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  private mapError(err: unknown, key?: string): LabError {
    return mapRedisError(err, key, this.safeUrl, this.lastConnectionError);
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new LabError(
        'LKL_ERR_STORE_UNAVAILABLE',
        `The Redis realtime store (${this.safeUrl}) is closed; open a new one.`,
        {
          retriable: false,
        },
      );
    }
  }
}

/** Opens the store and checks that Redis answers (LKL_ERR_STORE_UNAVAILABLE otherwise). */
export async function openRedisRealtimeStore(
  options: RedisRealtimeStoreOptions,
): Promise<RedisRealtimeStore> {
  const store = new RedisRealtimeStore(options);
  try {
    await store.connect();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
