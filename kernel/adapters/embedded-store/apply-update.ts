/**
 * apply() of the embedded realtime store in its two phases: check the whole update against the
 * current state (type conflicts, counters that are not integers or would overflow, offsets
 * that moved) without mutating anything, then mutate — a step that cannot fail.
 */
import {
  conflict,
  offsetsMoved,
  parseCounter,
  type CheckedUpdate,
} from '../../ports/realtime-store-validation.js';
import type { FieldValue, StoreMaps } from './checkpoint-format.js';
import { HyperLogLog } from './hyperloglog.js';

interface Counter {
  key: string;
  field: string;
  value: number;
}

/** Phase 1: throws LKL_ERR_STORE_CONFLICT (nothing applied) or returns the new counter values. */
export function checkAgainstState(state: StoreMaps, checked: CheckedUpdate): Counter[] {
  for (const key of checked.fieldKeys) {
    if (state.sketches.has(key))
      throw conflict(
        `Key ${key} holds a sketch, so it cannot take fields; use another key. Nothing was applied.`,
        {
          key,
        },
      );
  }
  for (const key of checked.sketchKeys) {
    if (state.hashes.has(key))
      throw conflict(
        `Key ${key} holds fields, so it cannot take a sketch; use another key. Nothing was applied.`,
        {
          key,
        },
      );
  }
  const newCounters = new Map<string, Counter>();
  for (const inc of checked.increments) {
    const id = `${inc.key}\u0000${inc.field}`;
    let current = newCounters.get(id)?.value;
    if (current === undefined) {
      const existing = state.hashes.get(inc.key)?.get(inc.field);
      if (existing === undefined) current = 0;
      else if (typeof existing === 'number') current = existing;
      else {
        const parsed = parseCounter(existing);
        if (parsed === undefined) {
          throw conflict(
            `Field ${inc.key}.${inc.field} holds ${JSON.stringify(existing.slice(0, 40))}, not an integer, so it cannot be incremented; set it to a number first or use another field. Nothing was applied.`,
            { key: inc.key, field: inc.field },
          );
        }
        current = parsed;
      }
    }
    const value = current + inc.by;
    if (!Number.isSafeInteger(value)) {
      throw conflict(
        `Incrementing ${inc.key}.${inc.field} would leave the safe integer range (±2^53); nothing was applied.`,
        {
          key: inc.key,
          field: inc.field,
        },
      );
    }
    newCounters.set(id, { key: inc.key, field: inc.field, value });
  }
  if (checked.offsets?.expected) {
    const ns = state.offsets.get(checked.offsets.namespace);
    const moved = offsetsMoved(
      checked.offsets.namespace,
      checked.offsets.expected,
      (p) => ns?.get(p) ?? null,
    );
    if (moved) throw moved;
  }
  return [...newCounters.values()];
}

/** Phase 2: mutates the maps and marks what changed; nothing here can fail. */
export function mutateState(
  state: StoreMaps,
  checked: CheckedUpdate,
  counters: Counter[],
  dirtyKeys: Set<string>,
  dirtyOffsets: Set<string>,
  dirtyFields: Map<string, Set<string>>,
): void {
  for (const { key, fields } of checked.removals) {
    const hash = state.hashes.get(key);
    if (!hash) continue;
    let removed = false;
    for (const f of fields) removed = hash.delete(f) || removed;
    if (!removed) continue;
    if (hash.size === 0) state.hashes.delete(key);
    // A journal line carries set fields alone; a key that lost fields goes whole (or as deleted).
    dirtyKeys.add(key);
  }
  for (const { key, field, value } of counters) {
    hashOf(state, key).set(field, value);
    markField(dirtyFields, key, field);
  }
  for (const { key, field, value } of checked.sets) {
    hashOf(state, key).set(field, value);
    markField(dirtyFields, key, field);
  }
  for (const { key, members } of checked.sketches) {
    let sketch = state.sketches.get(key);
    if (!sketch) state.sketches.set(key, (sketch = new HyperLogLog()));
    sketch.add(members);
    dirtyKeys.add(key);
  }
  if (checked.offsets) {
    let ns = state.offsets.get(checked.offsets.namespace);
    if (!ns) state.offsets.set(checked.offsets.namespace, (ns = new Map()));
    for (const [p, o] of checked.offsets.entries) ns.set(p, o);
    dirtyOffsets.add(checked.offsets.namespace);
  }
}

/** A field of `key` changed (set or incremented): the next journal line carries its value. */
function markField(dirtyFields: Map<string, Set<string>>, key: string, field: string): void {
  let fields = dirtyFields.get(key);
  if (!fields) dirtyFields.set(key, (fields = new Set()));
  fields.add(field);
}

function hashOf(state: StoreMaps, key: string): Map<string, FieldValue> {
  let h = state.hashes.get(key);
  if (!h) state.hashes.set(key, (h = new Map()));
  return h;
}
