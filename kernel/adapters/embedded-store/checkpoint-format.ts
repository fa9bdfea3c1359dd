/**
 * The embedded realtime store's files: the snapshot (`realtime-store.json`, the whole state
 * with the journal generation that continues it) and the journal (`realtime-store.journal`,
 * one JSON line per checkpoint with what it found changed: whole keys, or the new values of
 * single fields). Building and
 * replaying both over the store's maps, reading them at open, appending a line durably.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HyperLogLog } from './hyperloglog.js';

export const CHECKPOINT_FILE = 'realtime-store.json';
/** Changes since the snapshot, one JSON line per checkpoint (see embedded-realtime-store.ts). */
export const JOURNAL_FILE = 'realtime-store.journal';
/** The journal is folded into a new snapshot once it is larger than the snapshot and this (bytes). */
export const MIN_COMPACT_BYTES = 1024 * 1024;
export const FORMAT = 'lklab-realtime-store';
export const VERSION = 1;

export type FieldValue = string | number;

/** The state of the store: hashes of fields, sketches, offsets per namespace. */
export interface StoreMaps {
  hashes: Map<string, Map<string, FieldValue>>;
  sketches: Map<string, HyperLogLog>;
  offsets: Map<string, Map<number, number>>;
}

export interface CheckpointFile {
  format: typeof FORMAT;
  version: number;
  savedAt: number;
  hashes: Array<[string, Array<[string, string]>]>;
  sketches: Array<[string, { enc: string; data: string }]>;
  offsets: Array<[string, Array<[number, number]>]>;
  /** Generation of the journal that continues this snapshot (absent in files of older labs: 0). */
  journal?: number;
}

/**
 * One journal line: the values of the keys a checkpoint found changed (null = deleted), and the
 * new values of the fields it found set or incremented in keys that did not change whole (`f`,
 * merged into the hash; absent in lines of older labs). A Kappa window gets a new field per
 * checkpoint: journaling its whole hash each time wrote ~140 KB/s at 1,000 events/s, and with it
 * a whole new snapshot every minute or two.
 */
export interface JournalLine {
  g: number;
  at: number;
  h: Array<[string, Array<[string, string]> | null]>;
  f?: Array<[string, Array<[string, string]>]>;
  s: Array<[string, { enc: string; data: string } | null]>;
  o: Array<[string, Array<[number, number]> | null]>;
}

export function snapshotFile(state: StoreMaps, savedAt: number, generation: number): CheckpointFile {
  return {
    format: FORMAT,
    version: VERSION,
    savedAt,
    hashes: [...state.hashes].map(([k, fields]) => [
      k,
      [...fields].map(([f, v]): [string, string] => [f, String(v)]),
    ]),
    sketches: [...state.sketches].map(([k, s]) => [k, s.toJSON()]),
    offsets: [...state.offsets].map(([ns, m]) => [ns, [...m]]),
    journal: generation,
  };
}

/** Puts a snapshot's content into the (empty) maps. */
export function restoreSnapshot(state: StoreMaps, file: CheckpointFile): void {
  for (const [key, fields] of file.hashes) state.hashes.set(key, new Map(fields));
  for (const [key, json] of file.sketches) state.sketches.set(key, HyperLogLog.fromJSON(json));
  for (const [ns, entries] of file.offsets) state.offsets.set(ns, new Map(entries));
}

/** The journal line of a checkpoint: the current values of the changed keys and namespaces. */
export function journalLine(
  state: StoreMaps,
  generation: number,
  savedAt: number,
  dirtyKeys: ReadonlySet<string>,
  dirtyOffsets: ReadonlySet<string>,
  dirtyFields: ReadonlyMap<string, ReadonlySet<string>>,
): JournalLine {
  const line: JournalLine = { g: generation, at: savedAt, h: [], s: [], o: [] };
  const f: Array<[string, Array<[string, string]>]> = [];
  for (const [key, names] of dirtyFields) {
    if (dirtyKeys.has(key)) continue; // written whole below
    const fields = state.hashes.get(key);
    if (!fields) continue; // only a whole-key change (a delete) removes a hash: it is in dirtyKeys
    const values: Array<[string, string]> = [];
    for (const name of names) {
      const v = fields.get(name);
      if (v !== undefined) values.push([name, String(v)]);
    }
    if (values.length > 0) f.push([key, values]);
  }
  if (f.length > 0) line.f = f;
  for (const key of dirtyKeys) {
    const fields = state.hashes.get(key);
    if (fields) line.h.push([key, [...fields].map(([f, v]): [string, string] => [f, String(v)])]);
    else {
      const sketch = state.sketches.get(key);
      if (sketch) line.s.push([key, sketch.toJSON()]);
      else line.h.push([key, null]);
    }
  }
  for (const ns of dirtyOffsets) {
    const m = state.offsets.get(ns);
    line.o.push([ns, m ? [...m] : null]);
  }
  return line;
}

/** Replays one journal line onto the maps. */
export function applyJournalLine(state: StoreMaps, line: JournalLine): void {
  for (const [key, fields] of line.h) {
    if (fields === null) state.hashes.delete(key);
    else state.hashes.set(key, new Map(fields));
  }
  for (const [key, fields] of line.f ?? []) {
    let hash = state.hashes.get(key);
    if (!hash) state.hashes.set(key, (hash = new Map()));
    for (const [name, value] of fields) hash.set(name, value);
  }
  for (const [key, json] of line.s) {
    if (json === null) state.sketches.delete(key);
    else state.sketches.set(key, HyperLogLog.fromJSON(json));
  }
  for (const [ns, entries] of line.o) {
    if (entries === null) state.offsets.delete(ns);
    else state.offsets.set(ns, new Map(entries));
  }
}

/** The snapshot's and the journal's text under `dir` (undefined / '' when a file is absent). */
export async function readCheckpointFiles(
  dir: string,
): Promise<{ text: string | undefined; journal: string }> {
  let text: string | undefined;
  try {
    text = await readFile(`${dir}/${CHECKPOINT_FILE}`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let journal = '';
  try {
    journal = await readFile(join(dir, JOURNAL_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { text, journal };
}

/** Appends `text` to `path` and fsyncs it before resolving. */
export async function appendDurably(path: string, text: string): Promise<void> {
  const fh = await open(path, 'a');
  try {
    await fh.write(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
