/**
 * Embedded realtime store: in-process maps plus HyperLogLog sketches, checkpointed to a snapshot
 * file and a journal.
 *
 * apply() is atomic by construction: the update is validated and every conflict checked against
 * the current state before the first mutation, and nothing else runs in between (single thread,
 * no await inside). A checkpoint is a consistent cut, offsets included, taken synchronously: the
 * current value of every key changed since the previous checkpoint, appended to the journal as one
 * line and fsync'd. A restore reads the snapshot and replays the journal's whole lines (a torn last
 * line is a checkpoint that never completed), so it never mixes state of one instant with offsets
 * of another. When the journal outgrows the snapshot (and at close), the whole state is written as
 * a new snapshot atomically (temp file + fsync + rename) under a new journal generation, and the
 * journal starts over.
 *
 * Why a journal: the speed layer checkpoints at every flush (1 s), and the state grows with the
 * windows the batch layer has not covered yet and the Kappa tables; rewriting all of it each time
 * cost a growing share of a core (14 MB stringified and fsync'd per second after 10 minutes at
 * 1,000 events/s). A journal line holds only what changed (a few hundred keys per flush).
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
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
/** Changes since the snapshot, one JSON line per checkpoint (see the file comment). */
export const JOURNAL_FILE = 'realtime-store.journal';
/** The journal is folded into a new snapshot once it is larger than the snapshot and this (bytes). */
const MIN_COMPACT_BYTES = 1024 * 1024;
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
  /** Generation of the journal that continues this snapshot (absent in files of older labs: 0). */
  journal?: number;
}

/** One journal line: the values of the keys a checkpoint found changed; null = deleted. */
interface JournalLine {
  g: number;
  at: number;
  h: Array<[string, Array<[string, string]> | null]>;
  s: Array<[string, { enc: string; data: string } | null]>;
  o: Array<[string, Array<[number, number]> | null]>;
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
  /** Keys (hashes or sketches) and offset namespaces changed since the last checkpoint's cut. */
  private dirtyKeys = new Set<string>();
  private dirtyOffsets = new Set<string>();
  /** Journal generation of the snapshot on disk; undefined = no snapshot written or restored yet. */
  private generation: number | undefined;
  private snapshotBytes = 0;
  private journalBytes = 0;
  /** Set when a checkpoint's write failed: the next one writes a whole snapshot. */
  private needSnapshot = false;

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
    const dirty = this.dirtyKeys;
    for (const { key, field, value } of newCounters.values()) {
      this.hash(key).set(field, value);
      dirty.add(key);
    }
    for (const { key, field, value } of checked.sets) {
      this.hash(key).set(field, value);
      dirty.add(key);
    }
    for (const { key, members } of checked.sketches) {
      let sketch = this.sketches.get(key);
      if (!sketch) this.sketches.set(key, (sketch = new HyperLogLog()));
      sketch.add(members);
      dirty.add(key);
    }
    if (checked.offsets) {
      let ns = this.offsets.get(checked.offsets.namespace);
      if (!ns) this.offsets.set(checked.offsets.namespace, (ns = new Map()));
      for (const [p, o] of checked.offsets.entries) ns.set(p, o);
      this.dirtyOffsets.add(checked.offsets.namespace);
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
    this.dirtyOffsets.add(namespace);
  }

  async keys(prefix: string): Promise<string[]> {
    this.assertOpen();
    return [...this.hashes.keys(), ...this.sketches.keys()].filter((k) => k.startsWith(prefix));
  }

  async deleteKeys(keys: string[]): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    for (const key of keys) {
      if (this.hashes.delete(key) || this.sketches.delete(key)) {
        deleted++;
        this.dirtyKeys.add(key);
      }
    }
    return deleted;
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    this.assertOpen();
    let deleted = 0;
    for (const map of [this.hashes, this.sketches] as Array<Map<string, unknown>>) {
      for (const key of [...map.keys()]) {
        if (key.startsWith(prefix)) {
          map.delete(key);
          this.dirtyKeys.add(key);
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

  /** Makes everything applied so far durable under <dir> (journal line or snapshot); no-op without a dir. */
  async checkpoint(): Promise<void> {
    this.assertOpen();
    await this.writeCheckpoint();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimer.abort();
    await this.timerLoop;
    try {
      // A clean close leaves one file: the snapshot, with the journal folded in.
      await this.writeCheckpoint(true);
    } finally {
      this.closed = true;
    }
  }

  /** Restores a snapshot's content (used by openEmbeddedRealtimeStore). */
  restore(file: CheckpointFile): void {
    for (const [key, fields] of file.hashes) this.hashes.set(key, new Map(fields));
    for (const [key, json] of file.sketches) this.sketches.set(key, HyperLogLog.fromJSON(json));
    for (const [ns, entries] of file.offsets) this.offsets.set(ns, new Map(entries));
    this.lastCheckpointAt = file.savedAt;
    this.generation = file.journal ?? 0;
  }

  /** True when the journal read at open ended in a torn or unreadable line. */
  get journalTorn(): boolean {
    return this.journalBytes === Number.POSITIVE_INFINITY;
  }

  /**
   * Replays the journal lines of the restored snapshot's generation, in order; stops at a torn or
   * unreadable last line (a checkpoint that did not complete). Returns how many lines were applied.
   */
  replayJournal(text: string): number {
    let applied = 0;
    const lines = text.split('\n');
    this.journalBytes = text.length;
    // The last element is '' after a complete line; anything else there is a torn write, after
    // which nothing may be appended: the next checkpoint writes a snapshot.
    if (lines.at(-1) !== '') this.journalBytes = Number.POSITIVE_INFINITY;
    for (let i = 0; i < lines.length - 1; i++) {
      let line: JournalLine;
      try {
        line = JSON.parse(lines[i]!) as JournalLine;
      } catch {
        this.journalBytes = Number.POSITIVE_INFINITY;
        break;
      }
      if (line.g !== this.generation) continue; // left over from before the last snapshot
      for (const [key, fields] of line.h) {
        if (fields === null) this.hashes.delete(key);
        else this.hashes.set(key, new Map(fields));
      }
      for (const [key, json] of line.s) {
        if (json === null) this.sketches.delete(key);
        else this.sketches.set(key, HyperLogLog.fromJSON(json));
      }
      for (const [ns, entries] of line.o) {
        if (entries === null) this.offsets.delete(ns);
        else this.offsets.set(ns, new Map(entries));
      }
      this.lastCheckpointAt = line.at;
      applied++;
    }
    return applied;
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

  private writeCheckpoint(compact = false): Promise<void> {
    const dir = this.options.dir;
    if (dir === undefined) return Promise.resolve();
    // Cut synchronously: a consistent state between two apply() calls.
    const savedAt = this.options.clock.now();
    const full =
      compact ||
      this.needSnapshot ||
      this.generation === undefined ||
      this.journalBytes > Math.max(MIN_COMPACT_BYTES, this.snapshotBytes);
    let write: () => Promise<void>;
    if (full) {
      const generation = (this.generation ?? 0) + 1;
      const text = JSON.stringify(this.snapshotFile(savedAt, generation));
      this.generation = generation;
      this.needSnapshot = false;
      this.snapshotBytes = text.length;
      this.journalBytes = 0;
      write = async () => {
        await writeFileAtomic(dir, CHECKPOINT_FILE, text);
        // The snapshot names the new generation: the old journal's lines are ignored from here on.
        await rm(join(dir, JOURNAL_FILE), { force: true });
      };
    } else {
      if (this.dirtyKeys.size === 0 && this.dirtyOffsets.size === 0) return this.checkpointChain;
      const line: JournalLine = { g: this.generation!, at: savedAt, h: [], s: [], o: [] };
      for (const key of this.dirtyKeys) {
        const fields = this.hashes.get(key);
        if (fields) line.h.push([key, [...fields].map(([f, v]): [string, string] => [f, String(v)])]);
        else {
          const sketch = this.sketches.get(key);
          if (sketch) line.s.push([key, sketch.toJSON()]);
          else line.h.push([key, null]);
        }
      }
      for (const ns of this.dirtyOffsets) {
        const m = this.offsets.get(ns);
        line.o.push([ns, m ? [...m] : null]);
      }
      const text = JSON.stringify(line) + '\n';
      this.journalBytes += text.length;
      write = () => appendDurably(join(dir, JOURNAL_FILE), text);
    }
    this.dirtyKeys = new Set();
    this.dirtyOffsets = new Set();
    const run = this.checkpointChain.then(async () => {
      await write();
      this.lastCheckpointAt = savedAt;
    });
    // A failed write leaves the journal or the snapshot behind this cut: the next checkpoint
    // writes a whole snapshot, so nothing the failed one held is lost.
    this.checkpointChain = run.catch(() => {
      this.needSnapshot = true;
    });
    return run;
  }

  private snapshotFile(savedAt: number, generation: number): CheckpointFile {
    return {
      format: FORMAT,
      version: VERSION,
      savedAt,
      hashes: [...this.hashes].map(([k, fields]) => [
        k,
        [...fields].map(([f, v]): [string, string] => [f, String(v)]),
      ]),
      sketches: [...this.sketches].map(([k, s]) => [k, s.toJSON()]),
      offsets: [...this.offsets].map(([ns, m]) => [ns, [...m]]),
      journal: generation,
    };
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
    let journal = '';
    try {
      journal = await readFile(join(options.dir, JOURNAL_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      try {
        const file = JSON.parse(text) as CheckpointFile;
        if (file.format !== FORMAT || file.version !== VERSION)
          throw new Error(`not a version-${VERSION} ${FORMAT} file`);
        store.restore(file);
        // A torn tail is folded into a new snapshot at once, before anything is appended behind it.
        if (journal) store.replayJournal(journal);
        if (store.journalTorn) await store.checkpoint();
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

/** Appends `text` to `path` and fsyncs it before resolving. */
async function appendDurably(path: string, text: string): Promise<void> {
  const fh = await open(path, 'a');
  try {
    await fh.write(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
