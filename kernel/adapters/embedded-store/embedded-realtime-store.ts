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
import type { Clock } from '../../clock/clock.js';
import { LabError } from '../../errors/lab-error.js';
import { checkStoreUpdate, conflict } from '../../ports/realtime-store-validation.js';
import type { RealtimeStore, StoreUpdate } from '../../ports/realtime-store.js';
import { checkAgainstState, mutateState } from './apply-update.js';
import { removeStaleTemps } from './atomic-file.js';
import {
  CHECKPOINT_FILE,
  FORMAT,
  JOURNAL_FILE,
  VERSION,
  readCheckpointFiles,
  type CheckpointFile,
  type FieldValue,
  type StoreMaps,
} from './checkpoint-format.js';
import { HLL_REGISTERS, HyperLogLog, unionCount } from './hyperloglog.js';
import { StoreCheckpointer } from './store-checkpointer.js';

export { CHECKPOINT_FILE, JOURNAL_FILE };

/** Rough per-entry overheads used by memoryBytes() (map entry, small-string headers). */
const KEY_OVERHEAD = 64;
/** Most hash snapshots kept between writes (fieldsOf). */
const SNAPSHOTS_MAX = 4096;
const FIELD_OVERHEAD = 32;

export interface EmbeddedRealtimeStoreOptions {
  /** Directory of the checkpoint file; undefined = memory only (checkpoint() is a no-op). */
  dir?: string;
  clock: Clock;
  /** Checkpoint automatically every this many ms of the clock; 0/undefined = only on checkpoint() and close(). */
  checkpointEveryMs?: number;
}

export class EmbeddedRealtimeStore implements RealtimeStore {
  readonly kind = 'embedded' as const;
  readonly sketchRegisters = HLL_REGISTERS;
  private readonly hashes = new Map<string, Map<string, FieldValue>>();
  private readonly sketches = new Map<string, HyperLogLog>();
  private readonly offsets = new Map<string, Map<number, number>>();
  private readonly state: StoreMaps = { hashes: this.hashes, sketches: this.sketches, offsets: this.offsets };
  /**
   * Frozen copies of hashes as read, shared by every reader until the next write of any key (a
   * write bumps `writes`): the serving layer reads the same ~100-field windows up to 1,000 times
   * a second, and the speed layer writes them once a second. At most SNAPSHOTS_MAX at a time.
   */
  private readonly snapshots = new Map<string, Readonly<Record<string, string>>>();
  private snapshotsOf = 0;
  private writes = 0;
  private closed = false;
  private readonly stopTimer = new AbortController();
  private timerLoop: Promise<void> | undefined;

  private readonly checkpoints: StoreCheckpointer;

  constructor(private readonly options: EmbeddedRealtimeStoreOptions) {
    this.checkpoints = new StoreCheckpointer(this.state, options.dir, options.clock);
  }

  async apply(update: StoreUpdate): Promise<void> {
    this.assertOpen();
    const checked = checkStoreUpdate(update);
    // 1. Check everything against the current state; no mutation yet.
    const counters = checkAgainstState(this.state, checked);
    // 2. Mutate; nothing below can fail.
    this.writes++;
    mutateState(
      this.state,
      checked,
      counters,
      this.checkpoints.dirtyKeys,
      this.checkpoints.dirtyOffsets,
      this.checkpoints.dirtyFields,
    );
  }

  async getFields(key: string): Promise<Readonly<Record<string, string>>> {
    this.assertOpen();
    return this.fieldsOf(key);
  }

  async getManyFields(keys: string[]): Promise<Array<Readonly<Record<string, string>>>> {
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
    this.checkpoints.dirtyOffsets.add(namespace);
  }

  async keys(prefix: string): Promise<string[]> {
    this.assertOpen();
    return [...this.hashes.keys(), ...this.sketches.keys()].filter((k) => k.startsWith(prefix));
  }

  async deleteKeys(keys: string[]): Promise<number> {
    this.assertOpen();
    this.writes++;
    let deleted = 0;
    for (const key of keys) {
      if (this.hashes.delete(key) || this.sketches.delete(key)) {
        deleted++;
        this.checkpoints.dirtyKeys.add(key);
      }
    }
    return deleted;
  }

  async deleteByPrefix(prefix: string): Promise<number> {
    this.assertOpen();
    this.writes++;
    let deleted = 0;
    for (const map of [this.hashes, this.sketches] as Array<Map<string, unknown>>) {
      for (const key of [...map.keys()]) {
        if (key.startsWith(prefix)) {
          map.delete(key);
          this.checkpoints.dirtyKeys.add(key);
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
    this.writes++;
    this.checkpoints.restore(file);
  }

  /** True when the journal read at open ended in a torn or unreadable line. */
  get journalTorn(): boolean {
    return this.checkpoints.journalTorn;
  }

  /** Replays the journal lines of the restored snapshot's generation (see StoreCheckpointer). */
  replayJournal(text: string): number {
    this.writes++;
    return this.checkpoints.replayJournal(text);
  }

  /** Clock time of the last completed checkpoint (undefined before the first). */
  get lastCheckpointAt(): number | undefined {
    return this.checkpoints.lastCheckpointAt;
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
    return this.checkpoints.write(compact);
  }

  private fieldsOf(key: string): Readonly<Record<string, string>> {
    if (this.sketches.has(key))
      throw conflict(`Key ${key} holds a sketch, not fields; read it with sketchCount().`, { key });
    if (this.snapshotsOf !== this.writes || this.snapshots.size >= SNAPSHOTS_MAX) {
      this.snapshots.clear();
      this.snapshotsOf = this.writes;
    }
    const cached = this.snapshots.get(key);
    if (cached) return cached;
    const out = this.copyFields(key);
    this.snapshots.set(key, Object.freeze(out));
    return out;
  }

  private copyFields(key: string): Record<string, string> {
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
    const { text, journal } = await readCheckpointFiles(options.dir);
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
