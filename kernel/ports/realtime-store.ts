/**
 * Realtime-store port: where the speed layer keeps its realtime views (counters and fields per
 * key) and its distinct-count sketches (HyperLogLog), and where a Kappa job keeps its state
 * together with the offsets it has consumed. Adapters: the embedded, checkpointed in-process
 * store (kernel/adapters/embedded-store) and Redis via ioredis (kernel/adapters/redis-store).
 * One contract suite (kernel/ports/contracts/realtime-store.contract.ts) runs against both.
 *
 * Data model (Redis-shaped on purpose):
 * - A key holds either fields (a hash: field → string value) or a sketch, never both; using a key
 *   the other way is rejected (LKL_ERR_STORE_CONFLICT) and changes nothing.
 * - Counters are fields holding integers; incrementing a field that holds text is a conflict.
 * - Sketches are HyperLogLogs with 16,384 registers: relative standard error 1.04/√16384 ≈ 0.81 %.
 *   Both adapters hash and estimate like Redis (MurmurHash64A, Ertl's estimator), so the same
 *   members give the same count on either backend.
 * - Offsets live in their own per-namespace space (a job id, a consumer group); they never show up
 *   in keys() and are not removed by deleteByPrefix().
 */

export interface CounterIncrement {
  key: string;
  field: string;
  /** A safe integer (negative allowed). */
  by: number;
}

export interface FieldSet {
  key: string;
  field: string;
  /** Stored as a string; numbers must be finite. */
  value: string | number;
}

export interface FieldRemoval {
  key: string;
  /**
   * Fields of the hash to remove; fields it does not hold are ignored. A hash whose last field
   * goes no longer exists (Redis's HDEL).
   */
  fields: string[];
}

export interface SketchAdd {
  key: string;
  members: string[];
}

export interface OffsetCommit {
  /** Who consumed, e.g. a Kappa job id or a speed-layer consumer group. */
  namespace: string;
  /** partition → next offset to consume. */
  offsets: Record<number, number>;
  /**
   * Compare-and-set: apply only if the namespace's stored offsets are these (partition → offset,
   * null = nothing stored for it yet); otherwise reject with LKL_ERR_STORE_CONFLICT
   * (details.reason 'offsets-moved') and change nothing. Members of one consumer group use it so
   * that a member which lost a partition in a rebalance cannot apply over the new owner.
   */
  expected?: Record<number, number | null>;
}

/** Applied atomically: all of it or, when any item is invalid or conflicts, none of it. */
export interface StoreUpdate {
  increments?: CounterIncrement[];
  sets?: FieldSet[];
  /** Applied before the sets: a key may lose all its fields and take new ones in one update. */
  removals?: FieldRemoval[];
  sketches?: SketchAdd[];
  /** Consumed offsets committed in the same atomic step as the state they produced. */
  offsets?: OffsetCommit;
}

export interface RealtimeStore {
  readonly kind: 'embedded' | 'redis';
  /** m: registers of this backend's HyperLogLog sketches (its relative standard error is 1.04/√m). */
  readonly sketchRegisters: number;
  /** Applies the update atomically; rejects with LKL_ERR_STORE_UPDATE_INVALID / LKL_ERR_STORE_CONFLICT and changes nothing. */
  apply(update: StoreUpdate): Promise<void>;
  /**
   * All fields of a key; {} when the key does not exist. The record is the caller's to read, not
   * to change: an adapter may hand the same (frozen) record to several readers.
   */
  getFields(key: string): Promise<Readonly<Record<string, string>>>;
  getManyFields(keys: string[]): Promise<Array<Readonly<Record<string, string>>>>;
  /** Approximate number of distinct members added to the sketch; 0 when the key does not exist. */
  sketchCount(key: string): Promise<number>;
  sketchCountMany(keys: string[]): Promise<number[]>;
  /** Approximate number of distinct members of the union of the sketches (e.g. across windows). */
  sketchUnionCount(keys: string[]): Promise<number>;
  /** partition → next offset, as last committed with apply(); {} when nothing was committed. */
  readOffsets(namespace: string): Promise<Record<number, number>>;
  /** Forgets a namespace's offsets (e.g. when a Kappa job version is retired). */
  deleteOffsets(namespace: string): Promise<void>;
  /** Keys (fields and sketches) starting with `prefix`, in no particular order. Never blocks the backend. */
  keys(prefix: string): Promise<string[]>;
  /** Deletes these keys (fields or sketches; missing ones are ignored); returns how many existed. */
  deleteKeys(keys: string[]): Promise<number>;
  /** Deletes every key starting with `prefix`; returns how many were deleted. */
  deleteByPrefix(prefix: string): Promise<number>;
  /** Approximate bytes held by the keys under `prefix` (for the maintenance-cost metrics). */
  memoryBytes?(prefix: string): Promise<number>;
  /** Resolves when the backend answers; rejects with LKL_ERR_STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** HyperLogLog precision shared by both adapters: 2^14 registers. */
export const SKETCH_REGISTERS = 16_384;
/** Relative standard error of a sketch count: 1.04/√m ≈ 0.0081. */
export const SKETCH_STANDARD_ERROR = 1.04 / Math.sqrt(SKETCH_REGISTERS);
