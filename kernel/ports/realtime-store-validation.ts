/**
 * Checks a StoreUpdate before any adapter touches its data, so that "all or nothing" holds on
 * every backend and both adapters reject exactly the same updates. Pure; no I/O.
 */
import { LabError } from '../errors/lab-error.js';
import type { CounterIncrement, FieldRemoval, FieldSet, SketchAdd, StoreUpdate } from './realtime-store.js';

/** A validated update: values already in their stored (string) form, offsets as pairs. */
export interface CheckedUpdate {
  increments: CounterIncrement[];
  sets: Array<{ key: string; field: string; value: string }>;
  removals: FieldRemoval[];
  sketches: SketchAdd[];
  offsets:
    | {
        namespace: string;
        entries: Array<[partition: number, offset: number]>;
        /** compare-and-set: the offsets the store must hold (null = none), when given */
        expected: Array<[partition: number, offset: number | null]> | undefined;
      }
    | undefined;
  /** Keys that must hold fields (or not exist) and keys that must hold a sketch (or not exist). */
  fieldKeys: Set<string>;
  sketchKeys: Set<string>;
}

function invalid(message: string, details: Record<string, unknown>): LabError {
  return new LabError('LKL_ERR_STORE_UPDATE_INVALID', message, { details });
}

function checkKey(key: unknown, where: string): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw invalid(
      `${where}: key must be a non-empty string (got ${JSON.stringify(key)}); nothing was applied.`,
      { where },
    );
  }
}

function list<T>(value: T[] | undefined, name: string): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw invalid(`update.${name} must be an array; nothing was applied.`, { where: name });
  return value;
}

export function checkStoreUpdate(update: StoreUpdate): CheckedUpdate {
  if (update === null || typeof update !== 'object') {
    throw invalid(
      'The update must be an object with increments, sets, removals, sketches and/or offsets; nothing was applied.',
      {},
    );
  }
  const fieldKeys = new Set<string>();
  const sketchKeys = new Set<string>();
  const incremented = new Set<string>();

  const increments = list(update.increments, 'increments').map((inc, i): CounterIncrement => {
    const where = `increments[${i}]`;
    checkKey(inc?.key, where);
    if (typeof inc.field !== 'string')
      throw invalid(`${where}: field must be a string; nothing was applied.`, { where });
    if (!Number.isSafeInteger(inc.by)) {
      throw invalid(
        `${where}: by must be a safe integer (got ${String(inc.by)}); counters only take whole increments. Nothing was applied.`,
        { where, key: inc.key, field: inc.field },
      );
    }
    fieldKeys.add(inc.key);
    incremented.add(`${inc.key}\u0000${inc.field}`);
    return { key: inc.key, field: inc.field, by: inc.by };
  });

  const sets = list<FieldSet>(update.sets, 'sets').map((set, i) => {
    const where = `sets[${i}]`;
    checkKey(set?.key, where);
    if (typeof set.field !== 'string')
      throw invalid(`${where}: field must be a string; nothing was applied.`, { where });
    let value: string;
    if (typeof set.value === 'string') value = set.value;
    else if (typeof set.value === 'number' && Number.isFinite(set.value)) value = String(set.value);
    else {
      throw invalid(
        `${where}: value must be a string or a finite number (got ${String(set.value)}); nothing was applied.`,
        {
          where,
          key: set.key,
          field: set.field,
        },
      );
    }
    if (incremented.has(`${set.key}\u0000${set.field}`)) {
      throw invalid(
        `${where}: ${set.key}.${set.field} is both incremented and set in one update, which is ambiguous; split it into two updates. Nothing was applied.`,
        { where, key: set.key, field: set.field },
      );
    }
    fieldKeys.add(set.key);
    return { key: set.key, field: set.field, value };
  });

  const written = new Set<string>([...incremented, ...sets.map((s) => `${s.key}\u0000${s.field}`)]);
  const removals = list<FieldRemoval>(update.removals, 'removals').map((rm, i): FieldRemoval => {
    const where = `removals[${i}]`;
    checkKey(rm?.key, where);
    if (!Array.isArray(rm.fields) || rm.fields.some((f) => typeof f !== 'string')) {
      throw invalid(`${where}: fields must be an array of strings; nothing was applied.`, {
        where,
        key: rm.key,
      });
    }
    const both = rm.fields.find((f) => written.has(`${rm.key}\u0000${f}`));
    if (both !== undefined) {
      throw invalid(
        `${where}: ${rm.key}.${both} is both removed and set or incremented in one update, which is ambiguous; split it into two updates. Nothing was applied.`,
        { where, key: rm.key, field: both },
      );
    }
    fieldKeys.add(rm.key);
    return { key: rm.key, fields: [...rm.fields] };
  });

  const sketches = list<SketchAdd>(update.sketches, 'sketches').map((sk, i): SketchAdd => {
    const where = `sketches[${i}]`;
    checkKey(sk?.key, where);
    if (!Array.isArray(sk.members) || sk.members.some((m) => typeof m !== 'string')) {
      throw invalid(`${where}: members must be an array of strings; nothing was applied.`, {
        where,
        key: sk.key,
      });
    }
    if (fieldKeys.has(sk.key)) {
      throw invalid(
        `${where}: key ${sk.key} is used for fields and for a sketch in one update; use distinct keys. Nothing was applied.`,
        {
          where,
          key: sk.key,
        },
      );
    }
    sketchKeys.add(sk.key);
    return { key: sk.key, members: sk.members };
  });

  let offsets: CheckedUpdate['offsets'];
  if (update.offsets !== undefined) {
    const { namespace, offsets: map } = update.offsets ?? ({} as never);
    if (typeof namespace !== 'string' || namespace.length === 0) {
      throw invalid('offsets.namespace must be a non-empty string (e.g. the job id); nothing was applied.', {
        where: 'offsets',
      });
    }
    if (map === null || typeof map !== 'object') {
      throw invalid('offsets.offsets must be an object partition → next offset; nothing was applied.', {
        where: 'offsets',
      });
    }
    const entries: Array<[number, number]> = [];
    for (const [p, o] of Object.entries(map)) {
      const partition = Number(p);
      if (!Number.isSafeInteger(partition) || partition < 0 || String(partition) !== p) {
        throw invalid(`offsets: partition ${p} is not a non-negative integer; nothing was applied.`, {
          where: 'offsets',
          partition: p,
        });
      }
      if (!Number.isSafeInteger(o) || (o as number) < 0) {
        throw invalid(
          `offsets: offset ${String(o)} of partition ${p} is not a non-negative integer; nothing was applied.`,
          {
            where: 'offsets',
            partition,
          },
        );
      }
      entries.push([partition, o as number]);
    }
    let expected: Array<[number, number | null]> | undefined;
    const exp = (update.offsets as { expected?: unknown }).expected;
    if (exp !== undefined) {
      if (exp === null || typeof exp !== 'object') {
        throw invalid(
          'offsets.expected must be an object partition → offset (or null for none); nothing was applied.',
          { where: 'offsets.expected' },
        );
      }
      expected = [];
      for (const [p, o] of Object.entries(exp)) {
        const partition = Number(p);
        if (
          !Number.isSafeInteger(partition) ||
          partition < 0 ||
          String(partition) !== p ||
          (o !== null && (!Number.isSafeInteger(o) || (o as number) < 0))
        ) {
          throw invalid(
            `offsets.expected: ${p} → ${String(o)} is not a partition → non-negative offset (or null); nothing was applied.`,
            { where: 'offsets.expected', partition: p },
          );
        }
        expected.push([partition, o as number | null]);
      }
    }
    offsets = { namespace, entries, expected };
  }

  return { increments, sets, removals, sketches, offsets, fieldKeys, sketchKeys };
}

/** Redis's rule for a string HINCRBY accepts: a canonical integer (no '+', no leading zeros, no spaces). */
export function parseCounter(value: string): number | undefined {
  if (!/^(0|-?[1-9][0-9]*)$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function conflict(message: string, details: Record<string, unknown>): LabError {
  return new LabError('LKL_ERR_STORE_CONFLICT', message, { details });
}

/** The compare-and-set rejection: which partitions moved since the writer read them. */
export function offsetsMoved(
  namespace: string,
  expected: Array<[number, number | null]>,
  stored: (partition: number) => number | null,
): LabError | undefined {
  const moved = expected
    .filter(([p, o]) => stored(p) !== o)
    .map(([p, o]) => ({ partition: p, expected: o, stored: stored(p) }));
  if (moved.length === 0) return undefined;
  return conflict(
    `Offsets of ${namespace} moved since they were read (partitions ${moved.map((m) => m.partition).join(', ')}): another member checkpointed them. Re-read the offsets and resume from there; nothing was applied.`,
    { reason: 'offsets-moved', namespace, moved },
  );
}
