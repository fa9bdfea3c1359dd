/**
 * Realtime store on Redis via ioredis: fields are hashes (HINCRBY/HSET), sketches are Redis
 * HyperLogLogs (PFADD/PFCOUNT), offsets are one hash per namespace.
 *
 * Key layout under the store's prefix (default `lklab:rt:`): `<prefix>d:<key>` for data keys,
 * `<prefix>o:<namespace>` for offsets, so offsets never appear in keys() nor fall to
 * deleteByPrefix().
 *
 * apply() is one MULTI/EXEC transaction (HINCRBY / HSET / PFADD / HSET of offsets): Redis runs it
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
import {
  checkStoreUpdate,
  conflict,
  offsetsMoved,
  parseCounter,
} from '../../ports/realtime-store-validation.js';
import type { RealtimeStore, StoreUpdate } from '../../ports/realtime-store.js';

export interface RedisRealtimeStoreOptions {
  /** e.g. redis://127.0.0.1:16379 */
  url: string;
  /** Namespace of every key this store writes; tests use a random one. Default `lklab:rt:`. */
  prefix?: string;
  /** Milliseconds a command may take before it fails with LKL_ERR_STORE_UNAVAILABLE. Default 10 s. */
  commandTimeoutMs?: number;
}

const SCAN_COUNT = 1000;
const UNLINK_BATCH = 500;

export class RedisRealtimeStore implements RealtimeStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly dataPrefix: string;
  private readonly safeUrl: string;
  private applyChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Last connection error ioredis reported (kept for the error message). */
  private lastConnectionError: Error | undefined;

  constructor(options: RedisRealtimeStoreOptions) {
    this.prefix = options.prefix ?? 'lklab:rt:';
    this.dataPrefix = `${this.prefix}d:`;
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
    const counters = new Map<string, { key: string; field: string; by: number }>();
    for (const inc of checked.increments) {
      const id = `${inc.key}\u0000${inc.field}`;
      const c = counters.get(id);
      if (c) c.by += inc.by;
      else counters.set(id, { ...inc });
    }
    const counterList = [...counters.values()];
    const fieldKeys = [...checked.fieldKeys];
    const sketchKeys = [...checked.sketchKeys];

    // 1. Probe: what kind of value each key holds, and what each incremented field holds.
    if (fieldKeys.length + sketchKeys.length > 0) {
      const probe = this.redis.pipeline();
      for (const k of fieldKeys) probe.type(this.dataKey(k));
      for (const k of sketchKeys) probe.type(this.dataKey(k));
      for (const c of counterList) probe.hget(this.dataKey(c.key), c.field);
      const replies = (await this.call(() => probe.exec())) ?? [];
      const typeOf = (i: number): unknown => {
        const [err, value] = replies[i] ?? [new Error('missing reply'), undefined];
        if (err) throw this.mapError(err);
        return value;
      };
      let i = 0;
      for (const k of fieldKeys) {
        const type = typeOf(i++);
        if (type !== 'none' && type !== 'hash') {
          throw conflict(
            `Key ${k} holds a sketch, so it cannot take fields; use another key. Nothing was applied.`,
            { key: k },
          );
        }
      }
      for (const k of sketchKeys) {
        const type = typeOf(i++);
        if (type !== 'none' && type !== 'string') {
          throw conflict(
            `Key ${k} holds fields, so it cannot take a sketch; use another key. Nothing was applied.`,
            { key: k },
          );
        }
      }
      for (const c of counterList) {
        const existing = typeOf(i++) as string | null;
        const current = existing === null ? 0 : parseCounter(existing);
        if (current === undefined) {
          throw conflict(
            `Field ${c.key}.${c.field} holds ${JSON.stringify(existing!.slice(0, 40))}, not an integer, so it cannot be incremented; set it to a number first or use another field. Nothing was applied.`,
            { key: c.key, field: c.field },
          );
        }
        if (!Number.isSafeInteger(current + c.by)) {
          throw conflict(
            `Incrementing ${c.key}.${c.field} would leave the safe integer range (±2^53); nothing was applied.`,
            {
              key: c.key,
              field: c.field,
            },
          );
        }
      }
    }

    // 2. The transaction. A compare-and-set on offsets WATCHes the offsets hash first: applies are
    // serialized per store (applyChain), so nothing else of ours runs MULTI on this connection
    // meanwhile, and EXEC answers null when another client changed the hash after the WATCH.
    const cas = checked.offsets?.expected;
    const offsetsKey = checked.offsets ? this.offsetsKey(checked.offsets.namespace) : '';
    if (cas && cas.length > 0) {
      await this.call(() => this.redis.watch(offsetsKey));
      try {
        const values = await this.call(() => this.redis.hmget(offsetsKey, ...cas.map(([p]) => String(p))));
        const stored = new Map(cas.map(([p], i) => [p, values[i] == null ? null : Number(values[i])]));
        const moved = offsetsMoved(checked.offsets!.namespace, cas, (p) => stored.get(p) ?? null);
        if (moved) throw moved;
      } catch (err) {
        await this.redis.unwatch().catch(() => undefined);
        throw err;
      }
    }
    const tx = this.redis.multi();
    for (const c of counterList) tx.hincrby(this.dataKey(c.key), c.field, c.by);
    const setsByKey = new Map<string, string[]>();
    for (const s of checked.sets) {
      const args = setsByKey.get(s.key) ?? [];
      args.push(s.field, s.value);
      setsByKey.set(s.key, args);
    }
    for (const [k, args] of setsByKey) tx.hset(this.dataKey(k), ...args);
    for (const sk of checked.sketches) tx.pfadd(this.dataKey(sk.key), ...sk.members);
    if (checked.offsets && checked.offsets.entries.length > 0) {
      tx.hset(this.offsetsKey(checked.offsets.namespace), ...checked.offsets.entries.flat().map(String));
    }
    const result = await this.call(() => tx.exec());
    if (result === null) {
      throw conflict(
        `Offsets of ${checked.offsets?.namespace ?? '?'} changed while this update was being applied: another member checkpointed. Re-read the offsets and resume from there; nothing was applied.`,
        { reason: 'offsets-moved', namespace: checked.offsets?.namespace },
      );
    }
    const failed = result.find(([err]) => err);
    if (failed) {
      throw conflict(
        `Redis refused a command of a checked realtime-store transaction (${String(failed[0])}): another client changed a key's kind meanwhile, and the rest of the update was applied. Keep fields and sketches on distinct keys.`,
        { cause: String(failed[0]) },
      );
    }
  }

  async getFields(key: string): Promise<Record<string, string>> {
    this.assertOpen();
    return this.call(() => this.redis.hgetall(this.dataKey(key)), key);
  }

  async getManyFields(keys: string[]): Promise<Array<Record<string, string>>> {
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
      for (const k of batch) found.add(k.slice(this.dataPrefix.length));
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
    const match = `${escapeGlob(this.dataPrefix + prefix)}*`;
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
    return this.dataPrefix + key;
  }

  private offsetsKey(namespace: string): string {
    return `${this.prefix}o:${namespace}`;
  }

  private async call<T>(fn: () => Promise<T>, key?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  private mapError(err: unknown, key?: string): LabError {
    if (err instanceof LabError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (message.startsWith('WRONGTYPE')) {
      return conflict(
        `Key ${key ?? '?'} holds the other kind of value (fields vs sketch); read fields with getFields() and sketches with sketchCount().`,
        { key },
      );
    }
    if (isReplyError(err)) {
      // OOM, READONLY, LOADING, MISCONF, BUSY...: Redis is up but not serving writes/reads now.
      return new LabError(
        'LKL_ERR_STORE_UNAVAILABLE',
        `Redis at ${this.safeUrl} refused a realtime-store command (${message}); fix Redis (memory, replica role, persistence) and retry.`,
        { cause: err, details: { url: this.safeUrl } },
      );
    }
    const why = this.lastConnectionError?.message ?? message;
    return new LabError(
      'LKL_ERR_STORE_UNAVAILABLE',
      `The realtime store cannot reach Redis at ${this.safeUrl} (${why}). Check that Redis runs (npm run stack:status) and REDIS_URL; the operation can be retried.`,
      { cause: err, details: { url: this.safeUrl } },
    );
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

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** Escapes Redis glob metacharacters so a prefix matches literally. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The URL without credentials, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid Redis URL>';
  }
}
