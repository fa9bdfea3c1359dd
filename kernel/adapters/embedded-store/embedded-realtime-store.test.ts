import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../clock/system-clock.js';
import { VirtualClock } from '../../clock/virtual-clock.js';
import { isLabError } from '../../errors/lab-error.js';
import { realtimeStoreContract } from '../../ports/contracts/realtime-store.contract.js';
import type { RealtimeStore } from '../../ports/realtime-store.js';
import { CHECKPOINT_FILE, JOURNAL_FILE, openEmbeddedRealtimeStore } from './embedded-realtime-store.js';
import { HLL_DENSE_BYTES, HLL_REGISTERS, HyperLogLog, registerOf } from './hyperloglog.js';
import { murmurHash64A } from './murmur-hash-64a.js';
import { waitUntil } from '../../util/wait-until.js';

realtimeStoreContract('embedded (checkpointed)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lkl-rt-'));
  let current: RealtimeStore = await openEmbeddedRealtimeStore({ dir, clock: systemClock });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await openEmbeddedRealtimeStore({ dir, clock: systemClock });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

realtimeStoreContract('embedded (memory only)', async () => {
  const store = await openEmbeddedRealtimeStore({ clock: systemClock });
  return { store, cleanup: () => store.close() };
});

describe('embedded realtime store: checkpoints', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lkl-rt-cp-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('restores exactly the last checkpoint after a crash: state and offsets of the same instant', async () => {
    const clock = new VirtualClock(1_000);
    const a = await openEmbeddedRealtimeStore({ dir, clock });
    await a.apply({
      increments: [{ key: 'w1', field: 'n', by: 10 }],
      sketches: [{ key: 'u1', members: ['a', 'b'] }],
      offsets: { namespace: 'job', offsets: { 0: 10 } },
    });
    await a.checkpoint();
    expect(a.lastCheckpointAt).toBe(1_000);
    // Applied after the checkpoint, then the process "crashes" (a is never closed).
    await a.apply({
      increments: [{ key: 'w1', field: 'n', by: 5 }],
      sketches: [{ key: 'u1', members: ['c'] }],
      offsets: { namespace: 'job', offsets: { 0: 15 } },
    });

    const b = await openEmbeddedRealtimeStore({ dir, clock });
    expect(await b.getFields('w1')).toEqual({ n: '10' });
    expect(await b.sketchCount('u1')).toBe(2);
    expect(await b.readOffsets('job')).toEqual({ 0: 10 });
    expect(b.lastCheckpointAt).toBe(1_000);
    await b.close();
  });

  it('writes the checkpoint atomically and removes temp files a crash left behind', async () => {
    await writeFile(join(dir, `${CHECKPOINT_FILE}.tmp-123-abc`), '{"half":');
    const s = await openEmbeddedRealtimeStore({ dir, clock: systemClock });
    expect(await readdir(dir)).toEqual([]);
    await s.apply({ sets: [{ key: 'k', field: 'f', value: 'v' }] });
    await Promise.all([s.checkpoint(), s.checkpoint(), s.checkpoint()]);
    expect(await readdir(dir)).toEqual([CHECKPOINT_FILE]);
    const file = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8'));
    expect(file.format).toBe('lklab-realtime-store');
    expect(file.hashes).toEqual([['k', [['f', 'v']]]]);
    await s.close();
  });

  it('checkpoints periodically on the clock it was given', async () => {
    const clock = new VirtualClock(0);
    const s = await openEmbeddedRealtimeStore({ dir, clock, checkpointEveryMs: 1_000 });
    await s.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] });
    await clock.advance(999);
    expect(await readdir(dir)).toEqual([]);
    await clock.advance(1);
    await waitUntil(async () => (await readdir(dir)).includes(CHECKPOINT_FILE), {
      what: 'the first checkpoint file',
      timeoutMs: 2_000,
      intervalMs: 10,
    });
    expect(s.lastCheckpointAt).toBe(1_000);
    const copy = await openEmbeddedRealtimeStore({ dir, clock });
    expect(await copy.getFields('k')).toEqual({ n: '1' });
    await copy.close();
    await s.close();
  });

  it('journals only what changed after the first snapshot and restores snapshot + journal after a crash', async () => {
    const clock = new VirtualClock(1_000);
    const a = await openEmbeddedRealtimeStore({ dir, clock });
    await a.apply({
      increments: [
        { key: 'w1', field: 'n', by: 10 },
        { key: 'w2', field: 'n', by: 1 },
      ],
      sketches: [{ key: 'u1', members: ['a'] }],
    });
    await a.checkpoint(); // the first checkpoint is a snapshot
    const snapshot = await readFile(join(dir, CHECKPOINT_FILE), 'utf8');
    await clock.advance(1_000);
    await a.apply({
      increments: [{ key: 'w1', field: 'n', by: 5 }],
      sketches: [{ key: 'u1', members: ['b', 'c'] }],
      offsets: { namespace: 'job', offsets: { 0: 15 } },
    });
    await a.deleteKeys(['w2']);
    await a.checkpoint();
    await clock.advance(1_000);
    await a.checkpoint(); // nothing changed: nothing written
    await a.apply({ increments: [{ key: 'w1', field: 'n', by: 100 }] }); // never checkpointed
    expect(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')).toBe(snapshot);
    const journal = (await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(1);
    const line = JSON.parse(journal[0]!) as { h: unknown[]; f: unknown[] };
    expect(line.h).toEqual([['w2', null]]);
    expect(line.f).toEqual([['w1', [['n', '15']]]]);

    const b = await openEmbeddedRealtimeStore({ dir, clock }); // a "crashed": never closed
    expect(await b.getFields('w1')).toEqual({ n: '15' });
    expect(await b.keys('w2')).toEqual([]);
    expect(await b.sketchCount('u1')).toBe(3);
    expect(await b.readOffsets('job')).toEqual({ 0: 15 });
    expect(b.lastCheckpointAt).toBe(2_000);
    await b.close();
    // A clean close leaves only the snapshot.
    expect(await readdir(dir)).toEqual([CHECKPOINT_FILE]);
  });

  it('journals the changed fields of a hash, not the hash, and a key deleted and set again whole', async () => {
    const clock = new VirtualClock(1_000);
    const a = await openEmbeddedRealtimeStore({ dir, clock });
    const many = Array.from({ length: 50 }, (_, i) => ({ key: 'win', field: `0@${i}`, value: `delta ${i}` }));
    await a.apply({ sets: [...many, { key: 'gone', field: 'x', value: 'old' }] });
    await a.checkpoint(); // snapshot
    await clock.advance(1_000);
    await a.apply({
      sets: [{ key: 'win', field: '1@7', value: 'new delta' }],
      increments: [{ key: 'meta', field: 'processed', by: 3 }],
    });
    await a.deleteKeys(['gone']);
    await a.apply({ sets: [{ key: 'gone', field: 'y', value: 'new' }] });
    await a.checkpoint();
    const journal = (await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(1);
    const line = JSON.parse(journal[0]!) as { h: unknown[]; f: unknown[] };
    expect(line.h).toEqual([['gone', [['y', 'new']]]]);
    expect(line.f).toEqual(
      expect.arrayContaining([
        ['win', [['1@7', 'new delta']]],
        ['meta', [['processed', '3']]],
      ]),
    );
    expect(line.f).toHaveLength(2);

    const b = await openEmbeddedRealtimeStore({ dir, clock }); // a "crashed": never closed
    const win = await b.getFields('win');
    expect(Object.keys(win)).toHaveLength(51);
    expect(win['0@49']).toBe('delta 49');
    expect(win['1@7']).toBe('new delta');
    expect(await b.getFields('gone')).toEqual({ y: 'new' });
    expect(await b.getFields('meta')).toEqual({ processed: '3' });
    await b.close();
  });

  it('journals a hash that lost fields whole, and one that lost them all as deleted', async () => {
    const clock = new VirtualClock(1_000);
    const a = await openEmbeddedRealtimeStore({ dir, clock });
    const deltas = Array.from({ length: 20 }, (_, i) => ({ key: 'win', field: `0@${i}`, value: `d${i}` }));
    await a.apply({ sets: [...deltas, { key: 'empty', field: 'x', value: '1' }] });
    await a.checkpoint(); // snapshot
    await clock.advance(1_000);
    await a.apply({
      removals: [
        { key: 'win', fields: deltas.map((d) => d.field) },
        { key: 'empty', fields: ['x'] },
      ],
      sets: [{ key: 'win', field: '=', value: 'folded' }],
    });
    await a.checkpoint();
    const journal = (await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(1);
    const line = JSON.parse(journal[0]!) as { h: unknown[]; f?: unknown[] };
    expect(line.h).toEqual(
      expect.arrayContaining([
        ['win', [['=', 'folded']]],
        ['empty', null],
      ]),
    );
    expect(line.f).toBeUndefined();

    const b = await openEmbeddedRealtimeStore({ dir, clock }); // a "crashed": never closed
    expect(await b.getFields('win')).toEqual({ '=': 'folded' });
    expect(await b.getFields('empty')).toEqual({});
    expect(await b.keys('')).toEqual(['win']);
    await b.close();
  });

  it('ignores a torn last journal line (a checkpoint that never completed) and folds the journal into a snapshot', async () => {
    const clock = new VirtualClock(1_000);
    const a = await openEmbeddedRealtimeStore({ dir, clock });
    await a.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] });
    await a.checkpoint();
    await a.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] });
    await a.checkpoint();
    const whole = await readFile(join(dir, JOURNAL_FILE), 'utf8');
    await writeFile(join(dir, JOURNAL_FILE), whole + whole.slice(0, 20));
    const b = await openEmbeddedRealtimeStore({ dir, clock });
    expect(await b.getFields('k')).toEqual({ n: '2' });
    expect(await readdir(dir)).toEqual([CHECKPOINT_FILE]);
    await b.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] });
    await b.checkpoint();
    const c = await openEmbeddedRealtimeStore({ dir, clock });
    expect(await c.getFields('k')).toEqual({ n: '3' });
    await c.close();
    await b.close();
  });

  it('writes a new snapshot once the journal outgrows it, and ignores the old journal generation', async () => {
    const clock = new VirtualClock(1_000);
    const a = await openEmbeddedRealtimeStore({ dir, clock });
    await a.apply({ increments: [{ key: 'k', field: 'n', by: 1 }] });
    await a.checkpoint();
    const first = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')).journal as number;
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 20; i++) {
      await a.apply({ sets: [{ key: `big${i}`, field: 'v', value: big }] });
      await a.checkpoint();
    }
    const file = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8'));
    expect(file.journal).toBeGreaterThan(first);
    const journal = await readFile(join(dir, JOURNAL_FILE), 'utf8').catch(() => '');
    expect(journal.length).toBeLessThan(2 * 1024 * 1024);
    // A journal of an older generation (a crash between the snapshot's rename and the journal's removal).
    await writeFile(
      join(dir, JOURNAL_FILE),
      journal + JSON.stringify({ g: first, at: 5, h: [['k', [['n', '999']]]], s: [], o: [] }) + '\n',
    );
    const b = await openEmbeddedRealtimeStore({ dir, clock });
    expect(await b.getFields('k')).toEqual({ n: '1' });
    expect(await b.getFields('big19')).toEqual({ v: big });
    await b.close();
    await a.close().catch(() => undefined);
  });

  it('refuses a corrupt checkpoint with LKL_ERR_STORE_CHECKPOINT_CORRUPT naming the file', async () => {
    await writeFile(join(dir, CHECKPOINT_FILE), '{"format":"lklab-realtime-store","version":1,"hashes":[[');
    const err = await openEmbeddedRealtimeStore({ dir, clock: systemClock }).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LKL_ERR_STORE_CHECKPOINT_CORRUPT');
    expect((err as Error).message).toContain(join(dir, CHECKPOINT_FILE));
  });

  it('refuses a checkpoint whose sketch is damaged', async () => {
    const s = await openEmbeddedRealtimeStore({ dir, clock: systemClock });
    await s.apply({ sketches: [{ key: 'u', members: ['a', 'b', 'c'] }] });
    await s.close();
    const file = JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8'));
    file.sketches[0][1].data = Buffer.from([1, 0, 0, 0, 1, 0, 0, 0]).toString('base64'); // unsorted / rank 1 twice
    await writeFile(join(dir, CHECKPOINT_FILE), JSON.stringify(file));
    const err = await openEmbeddedRealtimeStore({ dir, clock: systemClock }).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('LKL_ERR_STORE_CHECKPOINT_CORRUPT');
  });
});

describe('HyperLogLog (embedded)', () => {
  it('uses 16,384 registers of 6 bits (12,288 bytes dense)', () => {
    expect(HLL_REGISTERS).toBe(16_384);
    expect(HLL_DENSE_BYTES).toBe(12_288);
    const h = new HyperLogLog();
    h.add(Array.from({ length: 20_000 }, (_, i) => `m${i}`));
    expect(h.encoding).toBe('dense');
    expect(h.byteSize).toBe(HLL_DENSE_BYTES + 1);
  });

  it('hashes like Redis: MurmurHash64A with seed 0xadc83b19', () => {
    // Reference values from Redis's C MurmurHash64A (src/hyperloglog.c), compiled with gcc.
    const enc = new TextEncoder();
    const hex = (s: string) => {
      const h = murmurHash64A(enc.encode(s));
      return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
    };
    expect(hex('')).toBe('d8dfea6585bc9732');
    expect(hex('a')).toBe('53d2470a9b43b1a7');
    expect(hex('hello world')).toBe('a919bc3051f624b7');
    expect(hex('0123456789abcdef')).toBe('9f8565428eaa573d');
    expect(hex('ü€ multi-byte 1234567')).toBe('7b34a4220c224fa0');
  });

  it('keeps the same registers in sparse and dense form', () => {
    const sparse = new HyperLogLog();
    const names = Array.from({ length: 1_500 }, (_, i) => `s${i}`);
    sparse.add(names);
    expect(sparse.encoding).toBe('sparse');
    const dense = HyperLogLog.fromJSON(sparse.toJSON());
    dense.add(Array.from({ length: 3_000 }, (_, i) => `other${i}`));
    expect(dense.encoding).toBe('dense');
    for (const n of names) {
      const { index, rank } = registerOf(n);
      expect(dense.register(index)).toBeGreaterThanOrEqual(rank);
      expect(sparse.register(index)).toBeGreaterThanOrEqual(rank);
    }
    const roundTrip = HyperLogLog.fromJSON(dense.toJSON());
    expect(roundTrip.count()).toBe(dense.count());
    expect(Array.from(roundTrip.histogram())).toEqual(Array.from(dense.histogram()));
  });

  it('merges to the union and stays within 3 standard errors over many independent sets', () => {
    const errors: number[] = [];
    for (let run = 0; run < 20; run++) {
      const h = new HyperLogLog();
      h.add(Array.from({ length: 50_000 }, (_, i) => `run${run}-${i}`));
      errors.push((h.count() - 50_000) / 50_000);
    }
    const rmse = Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / errors.length);
    // 1.04/√16384 = 0.81 %: the RMS error of 20 runs lands near it, every single run within 3σ.
    expect(rmse).toBeLessThan(0.0081 * 1.6);
    expect(rmse).toBeGreaterThan(0.0081 * 0.4);
    for (const e of errors) expect(Math.abs(e)).toBeLessThanOrEqual(3 * 0.0081);

    const a = new HyperLogLog();
    const b = new HyperLogLog();
    a.add(Array.from({ length: 6_000 }, (_, i) => `x${i}`));
    b.add(Array.from({ length: 6_000 }, (_, i) => `x${i + 3_000}`));
    a.merge(b);
    expect(Math.abs(a.count() - 9_000) / 9_000).toBeLessThanOrEqual(3 * 0.0081);
  });
});

describe('embedded realtime store: field names', () => {
  it('reads back fields named like Object.prototype members as own fields', async () => {
    const store = await openEmbeddedRealtimeStore({ clock: systemClock });
    try {
      await store.apply({
        sets: [
          { key: 'h', field: '__proto__', value: 'p' },
          { key: 'h', field: 'constructor', value: 'c' },
          { key: 'h', field: 'plain', value: 'x' },
        ],
      });
      const fields = await store.getFields('h');
      expect(Object.keys(fields).sort()).toEqual(['__proto__', 'constructor', 'plain']);
      expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('p');
      expect(fields.constructor).toBe('c');
      expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    } finally {
      await store.close();
    }
  });
});
