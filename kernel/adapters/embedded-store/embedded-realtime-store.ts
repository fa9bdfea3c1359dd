/**
 * Embedded realtime store: in-process maps plus HyperLogLog sketches, checkpointed as one file.
 *
 * apply() is atomic by construction: the update is validated and every conflict checked against
 * the current state before the first mutation, and nothing else runs in between (single thread,
 * no await inside). A checkpoint is a consistent snapshot of everything, offsets included, taken
 * synchronously and written atomically (temp file + fsync + rename), so a restore never mixes
 * state of one instant with offsets of another.
 */
import { readFile } from 'node:fs/promises';
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
import {
  checkStoreUpdate,
  conflict,
  offsetsMoved,
  parseCounter,
} from '../../ports/realtime-store-validation.js';
import type { RealtimeStore, StoreUpdate } from '../../ports/realtime-store.js';
import { removeStaleTemps, writeFileAtomic } from './atomic-file.js';
import { HyperLogLog, unionCount } from './hyperloglog.js';

export const CHECKPOINT_FILE = 'realtime-store.json';
const FORMAT = 'lklab-realtime-store';
const VERSION = 1;

/** Rough per-entry overheads used by memoryBytes() (map entry, small-string headers). */
const KEY_OVERHEAD = 64;
const FIELD_OVERHEAD = 32;

export interface EmbeddedRealtimeStoreOptions {
  /** Directory of the checkpoint file; undefined = memory only (checkpoint() is a no-op). */
  dir?: string;
  clock: Clock;
  /** Checkpoint automatically every this many ms of the clock; 0/undefined = only on checkpoint() and close(). */
  checkpointEveryMs?: number;
}

interface CheckpointFile {
  format: typeof FORMAT;
  version: number;
  savedAt: number;
  hashes: Array<[string, Array<[string, string]>]>;
  sketches: Array<[string, { enc: string; data: string }]>;
  offsets: Array<[string, Array<[number, number]>]>;
}

type FieldValue = string | number;

export class EmbeddedRealtimeStore implements RealtimeStore {
  readonly kind = 'embedded' as const;
  private readonly hashes = new Map<string, Map<string, FieldValue>>();
  private readonly sketches = new Map<string, HyperLogLog>();
  private readonly offsets = new Map<string, Map<number, number>>();
  private closed = false;
  private checkpointChain: Promise<void> = Promise.resolve();
  private readonly stopTimer = new AbortController();
  private timerLoop: Promise<void> | undefined;
  /** Clock time of the last completed checkpoint (undefined before the first). */
  lastCheckpointAt: number | undefined;

  constructor(private readonly options: EmbeddedRealtimeStoreOptions) {}

  async apply(update: StoreUpdate): Promise<void> {
    this.assertOpen();
    const checked = checkStoreUpdate(update);
    // 1. Check everything against the current state; no mutation yet.
    for (const key of checked.fieldKeys) {
      if (this.sketches.has(key))
        throw conflict(
          `Key ${key} holds a sketch, so it cannot take fields; use another key. Nothing was applied.`,
          { key },
        );
    }
    for (const key of checked.sketchKeys) {
      if (this.hashes.has(key))
        throw conflict(
          `Key ${key} holds fields, so it cannot take a sketch; use another key. Nothing was applied.`,
          { key },
        );
    }
    const newCounters = new Map<string, { key: string; field: string; value: number }>();
    for (const inc of checked.increments) {
      const id = `${inc.key}\u0000${inc.field}`;
      let current = newCounters.get(id)?.value;
      if (current === undefined) {
        const existing = this.hashes.get(inc.key)?.get(inc.field);
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
      const ns = this.offsets.get(checked.offsets.namespace);
      const moved = offsetsMoved(
        checked.offsets.namespace,
        checked.offsets.expected,
        (p) => ns?.get(p) ?? null,
      );
      if (moved) throw moved;
    }
    // 2. Mutate; nothing below can fail.
    for (const { key, field, value } of newCounters.values()) this.hash(key).set(field, value);
    for (const { key, field, value } of checked.sets) this.hash(key).set(field, value);
    for (const { key, members } of checked.sketches) {
      let sketch = this.sketches.get(key);
      if (!sketch) this.sketches.set(key, (sketch = new HyperLogLog()));
      sketch.add(members);
    }
    if (checked.offsets) {
      let ns = this.offsets.get(checked.offsets.namespace);
      if (!ns) this.offsets.set(checked.offsets.namespace, (ns = new Map()));
      for (const [p, o] of checked.offsets.entries) ns.set(p, o);
    }
  }

  async getFields(key: string): Promise<Record<string, string>> {
    this.assertOpen();
    return this.fieldsOf(key);
  }

  async getManyFields(keys: string[]): Promise<Array<Record<string, string>>> {
    this.assertOpen();
    return keys.map((k) => this.fieldsOf(k));
  }

  async sketchCount(key: string): Promise<number> {
    this.assertOpen();
    return this.sketchOf(key)?.count() ?? 0;
  }

  async sketchCountMany(keys: string[]): Promise<number[]> {
    this.assertOpen();
    return keys.map((k) => this.sketchOf(k)?.count() ?? 0);
  }

  async sketchUnionCount(keys: string[]): Promise<number> {
    this.assertOpen();
    const present = keys.map((k) => this.sketchOf(k)).filter((s): s is HyperLogLog => s !== undefined);
    return present.length === 0 ? 0 : unionCount(present);
  }

  async readOffsets(namespace: string): Promise<Record<number, number>> {
    this.assertOpen();
    return Object.fromEntries(this.offsets.get(namespace) ?? []);
  }

  async deleteOffsets(namespace: string): Promise<void> {
    this.assertOpen();
    this.offsets.delete(namespace);
  }

  async keys(prefix: string): Promise<string[]> {
    this.assertOpen();
    return [...this.hashes.keys(), ...this.sketches.keys()].filter((k) => k.startsWith(prefix));
  }

  async deleteKeys(keys: string[]): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    for (const key of keys) if (this.hashes.delete(key) || this.sketches.delete(key)) deleted++;
    return deleted;
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    for (const map of [this.hashes, this.sketches] as Array<Map<string, unknown>>) {
      for (const key of [...map.keys()]) {
        if (key.startsWith(prefix)) {
          map.delete(key);
          deleted++;
        }
      }
    }
    return deleted;
  }

  /** Approximate: UTF-16 string bytes plus fixed per-key and per-field overheads, plus sketch registers. */
  async memoryBytes(prefix: string): Promise<number> {
    this.assertOpen();
    let bytes = 0;
    for (const [key, fields] of this.hashes) {
      if (!key.startsWith(prefix)) continue;
      bytes += KEY_OVERHEAD + key.length * 2;
      for (const [f, v] of fields)
        bytes += FIELD_OVERHEAD + f.length * 2 + (typeof v === 'number' ? 8 : v.length * 2);
    }
    for (const [key, sketch] of this.sketches) {
      if (key.startsWith(prefix)) bytes += KEY_OVERHEAD + key.length * 2 + sketch.byteSize;
    }
    return bytes;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  /** Writes the whole state atomically to <dir>/realtime-store.json; no-op without a dir. */
  async checkpoint(): Promise<void> {
    this.assertOpen();
    await this.writeCheckpoint();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimer.abort();
    await this.timerLoop;
    try {
      await this.writeCheckpoint();
    } finally {
      this.closed = true;
    }
  }

  /** Restores a checkpoint's content (used by openEmbeddedRealtimeStore). */
  restore(file: CheckpointFile): void {
    for (const [key, fields] of file.hashes) this.hashes.set(key, new Map(fields));
    for (const [key, json] of file.sketches) this.sketches.set(key, HyperLogLog.fromJSON(json));
    for (const [ns, entries] of file.offsets) this.offsets.set(ns, new Map(entries));
    this.lastCheckpointAt = file.savedAt;
  }

  startCheckpointTimer(everyMs: number): void {
    const signal = this.stopTimer.signal;
    this.timerLoop = (async () => {
      while (!signal.aborted) {
        try {
          await this.options.clock.sleep(everyMs, signal);
        } catch {
          return;
        }
        // A failed periodic checkpoint is retried at the next tick; checkpoint()/close() report errors.
        await this.writeCheckpoint().catch(() => undefined);
      }
    })();
  }

  private writeCheckpoint(): Promise<void> {
    const dir = this.options.dir;
    if (dir === undefined) return Promise.resolve();
    // Snapshot synchronously: a consistent cut between two apply() calls.
    const savedAt = this.options.clock.now();
    const file: CheckpointFile = {
      format: FORMAT,
      version: VERSION,
      savedAt,
      hashes: [...this.hashes].map(([k, fields]) => [
        k,
        [...fields].map(([f, v]): [string, string] => [f, String(v)]),
      ]),
      sketches: [...this.sketches].map(([k, s]) => [k, s.toJSON()]),
      offsets: [...this.offsets].map(([ns, m]) => [ns, [...m]]),
    };
    const text = JSON.stringify(file);
    const run = this.checkpointChain.then(async () => {
      await writeFileAtomic(dir, CHECKPOINT_FILE, text);
      this.lastCheckpointAt = savedAt;
    });
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private hash(key: string): Map<string, FieldValue> {
    let h = this.hashes.get(key);
    if (!h) this.hashes.set(key, (h = new Map()));
    return h;
  }

  private fieldsOf(key: string): Record<string, string> {
    if (this.sketches.has(key))
      throw conflict(`Key ${key} holds a sketch, not fields; read it with sketchCount().`, { key });
    const out: Record<string, string> = {};
    for (const [f, v] of this.hashes.get(key) ?? []) {
      // Plain assignment is the fast path (the serving layer reads ~100 fields per window per
      // query); only "__proto__" needs defineProperty to become an own field, not the prototype.
      if (f === '__proto__')
        Object.defineProperty(out, f, {
          value: String(v),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[f] = String(v);
    }
    return out;
  }

  private sketchOf(key: string): HyperLogLog | undefined {
    if (this.hashes.has(key))
      throw conflict(`Key ${key} holds fields, not a sketch; read it with getFields().`, { key });
    return this.sketches.get(key);
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new LabError(
        'LKL_ERR_STORE_UNAVAILABLE',
        'The embedded realtime store is closed; open a new one with openEmbeddedRealtimeStore().',
        {
          retriable: false,
        },
      );
    }
  }
}

/** Opens the embedded store, restoring <dir>/realtime-store.json when it exists. */
export async function openEmbeddedRealtimeStore(
  options: EmbeddedRealtimeStoreOptions,
): Promise<EmbeddedRealtimeStore> {
  const store = new EmbeddedRealtimeStore(options);
  if (options.dir !== undefined) {
    await removeStaleTemps(options.dir, CHECKPOINT_FILE);
    const path = `${options.dir}/${CHECKPOINT_FILE}`;
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      try {
        const file = JSON.parse(text) as CheckpointFile;
        if (file.format !== FORMAT || file.version !== VERSION)
          throw new Error(`not a version-${VERSION} ${FORMAT} file`);
        store.restore(file);
      } catch (err) {
        throw new LabError(
          'LKL_ERR_STORE_CHECKPOINT_CORRUPT',
          `The realtime-store checkpoint ${path} cannot be read (${(err as Error).message}). Move it away to start with an empty speed layer (the next batch run re-covers its windows), or restore a backup.`,
          { cause: err, details: { path } },
        );
      }
    }
  }
  if (options.checkpointEveryMs && options.checkpointEveryMs > 0)
    store.startCheckpointTimer(options.checkpointEveryMs);
  return store;
}
