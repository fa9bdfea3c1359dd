/**
 * apply() of the Redis realtime store: sum the increments per field, probe the keys the update
 * touches in one pipelined round trip (kind of each key, value of each incremented field) so
 * every rejection happens before anything is written, WATCH the offsets for a compare-and-set,
 * then one MULTI/EXEC transaction.
 */
import type { Redis } from 'ioredis';
import type { LabError } from '../../errors/lab-error.js';
import {
  conflict,
  offsetsMoved,
  parseCounter,
  type CheckedUpdate,
} from '../../ports/realtime-store-validation.js';
import type { RedisKeyLayout } from './redis-keys.js';

/** What the apply steps need from the store. */
export interface RedisStoreContext {
  readonly redis: Redis;
  readonly keys: RedisKeyLayout;
  /** Runs a command, mapping its failure to a LabError. */
  call<T>(fn: () => Promise<T>, key?: string): Promise<T>;
  mapError(err: unknown, key?: string): LabError;
}

export interface Counter {
  key: string;
  field: string;
  by: number;
}

/** The update's increments summed per key and field, in first-seen order. */
export function sumIncrements(checked: CheckedUpdate): Counter[] {
  const counters = new Map<string, Counter>();
  for (const inc of checked.increments) {
    const id = `${inc.key}\u0000${inc.field}`;
    const c = counters.get(id);
    if (c) c.by += inc.by;
    else counters.set(id, { ...inc });
  }
  return [...counters.values()];
}

/** Throws LKL_ERR_STORE_CONFLICT (nothing written) when the update does not fit what the keys hold. */
export async function probeUpdate(
  ctx: RedisStoreContext,
  checked: CheckedUpdate,
  counterList: Counter[],
): Promise<void> {
  const fieldKeys = [...checked.fieldKeys];
  const sketchKeys = [...checked.sketchKeys];

  // 1. Probe: what kind of value each key holds, and what each incremented field holds.
  if (fieldKeys.length + sketchKeys.length > 0) {
    const probe = ctx.redis.pipeline();
    for (const k of fieldKeys) probe.type(ctx.keys.dataKey(k));
    for (const k of sketchKeys) probe.type(ctx.keys.dataKey(k));
    for (const c of counterList) probe.hget(ctx.keys.dataKey(c.key), c.field);
    const replies = (await ctx.call(() => probe.exec())) ?? [];
    const typeOf = (i: number): unknown => {
      const [err, value] = replies[i] ?? [new Error('missing reply'), undefined];
      if (err) throw ctx.mapError(err);
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
}

/**
 * Before the transaction, a compare-and-set on offsets WATCHes the offsets hash and checks it:
 * applies are serialized per store (applyChain), so nothing else of ours runs MULTI on this
 * connection meanwhile, and EXEC answers null when another client changed the hash after the WATCH.
 */
export async function watchOffsets(ctx: RedisStoreContext, checked: CheckedUpdate): Promise<void> {
  const cas = checked.offsets?.expected;
  const offsetsKey = checked.offsets ? ctx.keys.offsetsKey(checked.offsets.namespace) : '';
  if (cas && cas.length > 0) {
    await ctx.call(() => ctx.redis.watch(offsetsKey));
    try {
      const values = await ctx.call(() => ctx.redis.hmget(offsetsKey, ...cas.map(([p]) => String(p))));
      const stored = new Map(cas.map(([p], i) => [p, values[i] == null ? null : Number(values[i])]));
      const moved = offsetsMoved(checked.offsets!.namespace, cas, (p) => stored.get(p) ?? null);
      if (moved) throw moved;
    } catch (err) {
      await ctx.redis.unwatch().catch(() => undefined);
      throw err;
    }
  }
}

/** The transaction; throws LKL_ERR_STORE_CONFLICT when the WATCHed offsets moved or Redis refused a command. */
export async function execUpdate(
  ctx: RedisStoreContext,
  checked: CheckedUpdate,
  counterList: Counter[],
): Promise<void> {
  const tx = ctx.redis.multi();
  for (const r of checked.removals) if (r.fields.length > 0) tx.hdel(ctx.keys.dataKey(r.key), ...r.fields);
  for (const c of counterList) tx.hincrby(ctx.keys.dataKey(c.key), c.field, c.by);
  const setsByKey = new Map<string, string[]>();
  for (const s of checked.sets) {
    const args = setsByKey.get(s.key) ?? [];
    args.push(s.field, s.value);
    setsByKey.set(s.key, args);
  }
  for (const [k, args] of setsByKey) tx.hset(ctx.keys.dataKey(k), ...args);
  for (const sk of checked.sketches) tx.pfadd(ctx.keys.dataKey(sk.key), ...sk.members);
  if (checked.offsets && checked.offsets.entries.length > 0) {
    tx.hset(ctx.keys.offsetsKey(checked.offsets.namespace), ...checked.offsets.entries.flat().map(String));
  }
  const result = await ctx.call(() => tx.exec());
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
