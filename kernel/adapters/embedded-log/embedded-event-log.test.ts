import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  truncate,
  writeFile,
  appendFile,
  open,
} from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../clock/system-clock.js';
import { VirtualClock } from '../../clock/virtual-clock.js';
import type { Clock } from '../../clock/clock.js';
import { isLabError, type LabError } from '../../errors/lab-error.js';
import type { RecordBatch } from '../../ports/event-log.js';
import { eventLogContract } from '../../ports/contracts/event-log.contract.js';
import { expectedValue } from './append-loop-child.js';
import {
  EmbeddedEventLog,
  openEmbeddedEventLog,
  type EmbeddedEventLogOptions,
} from './embedded-event-log.js';
import { EMBEDDED_LOG_EVENTS } from './instrumentation.js';
import { RECORD_OVERHEAD_BYTES } from './record-codec.js';
import { scanSegments } from './segment-scan.js';
import { segmentFileName } from './segment.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

const tempDirs: string[] = [];
const openLogs: EmbeddedEventLog[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lkl-embedded-log-'));
  tempDirs.push(dir);
  return dir;
}

async function openLog(
  dataDir: string,
  opts: Partial<EmbeddedEventLogOptions> = {},
): Promise<EmbeddedEventLog> {
  const log = await openEmbeddedEventLog({ dataDir, clock: systemClock, ...opts });
  openLogs.push(log);
  return log;
}

afterEach(async () => {
  for (const log of openLogs.splice(0)) await log.close();
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Resolves to the LabError `promise` rejects with (fails if it resolves). */
async function labError(promise: Promise<unknown>): Promise<LabError> {
  try {
    await promise;
  } catch (err) {
    if (isLabError(err)) return err;
    throw err;
  }
  throw new Error('expected a LabError, but the call succeeded');
}

function syncLabError(fn: () => unknown): LabError {
  try {
    fn();
  } catch (err) {
    if (isLabError(err)) return err;
    throw err;
  }
  throw new Error('expected a LabError, but the call succeeded');
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** A fixed-size value so that every record frame has the same size. */
const VALUE_BYTES = 72;
const FRAME = RECORD_OVERHEAD_BYTES + VALUE_BYTES; // 100 bytes
const fixedValue = (i: number): string => `v-${i}-`.padEnd(VALUE_BYTES, '.');

function segmentPath(dataDir: string, topic: string, partition: number, baseOffset: number): string {
  return join(dataDir, 'log', topic, String(partition), segmentFileName(baseOffset));
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- the port's contract suite, on the embedded adapter ----------------------------------------

eventLogContract('embedded', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lkl-embedded-contract-'));
  let current = await openEmbeddedEventLog({ dataDir, clock: systemClock });
  return {
    log: current,
    reopen: async () => {
      await current.close();
      current = await openEmbeddedEventLog({ dataDir, clock: systemClock });
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dataDir, { recursive: true, force: true });
    },
    historySource: true, // segment files any thread of the process can scan
  };
});

// ---- embedded-only behaviour ------------------------------------------------------------------

describe('embedded log: files and appends', () => {
  it('lays out topic metadata and zero-padded segment files under <dataDir>/log', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('events', { partitions: 2, retentionMs: 60_000, segmentBytes: 4096 });
    const meta = JSON.parse(await readFile(join(dir, 'log', 'events', 'topic.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(meta).toMatchObject({
      formatVersion: 1,
      name: 'events',
      partitions: 2,
      retentionMs: 60_000,
      segmentBytes: 4096,
    });
    expect(await readdir(join(dir, 'log', 'events', '0'))).toEqual(['00000000000000000000.log']);
    expect(JSON.parse(await readFile(join(dir, 'log', '.lock'), 'utf8'))).toEqual({
      pid: process.pid,
      host: hostname(),
    });
  });

  it('writes one record frame per record (28 bytes + key + value) and rolls segments at segmentBytes', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 1, segmentBytes: 1000 });
    for (let i = 0; i < 25; i++) await log.append('t', [{ value: fixedValue(i) }]);
    // 10 frames of 100 bytes fill a 1000-byte segment; the 11th starts a new one.
    expect(await readdir(join(dir, 'log', 't', '0'))).toEqual([
      segmentFileName(0),
      segmentFileName(10),
      segmentFileName(20),
    ]);
    expect((await stat(segmentPath(dir, 't', 0, 0))).size).toBe(10 * FRAME);
    expect((await stat(segmentPath(dir, 't', 0, 20))).size).toBe(5 * FRAME);
    expect(log.storage('t')).toEqual([{ partition: 0, low: 0, end: 25, segments: 3, bytes: 25 * FRAME }]);
    const all = await log.read('t', 0, 0, 100);
    expect(all.map((r) => r.offset)).toEqual(range(0, 25));
    expect(all.map((r) => r.value)).toEqual(range(0, 25).map(fixedValue));
    // A read starting inside a middle segment finds its position through the sparse index.
    expect((await log.read('t', 0, 13, 4)).map((r) => r.offset)).toEqual([13, 14, 15, 16]);
  });

  it('keeps keys, empty keys, unicode values and timestamps intact', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock(1_234_567);
    const log = await openLog(dir, { clock });
    await log.ensureTopic('t', { partitions: 1 });
    await log.append('t', [
      { value: 'plain' },
      { key: '', value: '' },
      { key: 'clé-ü', value: 'naïve ☃ 𝄞 日本', timestamp: 42 },
    ]);
    expect(await log.read('t', 0, 0, 10)).toEqual([
      { offset: 0, timestamp: 1_234_567, key: undefined, value: 'plain' },
      { offset: 1, timestamp: 1_234_567, key: '', value: '' },
      { offset: 2, timestamp: 42, key: 'clé-ü', value: 'naïve ☃ 𝄞 日本' },
    ]);
  });

  it('reads a record larger than the read chunk', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { readChunkBytes: 64 * 1024 });
    await log.ensureTopic('t', { partitions: 1 });
    const big = 'b'.repeat(300_000);
    await log.append('t', [{ value: 'small' }, { value: big }, { value: 'after' }]);
    const got = await log.read('t', 0, 0, 10);
    expect(got.map((r) => r.value.length)).toEqual([5, 300_000, 5]);
    expect(got[1]!.value).toBe(big);
  });

  it('small sequential reads across chunk and segment boundaries, interleaved with appends, return every record once', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { readChunkBytes: 64 * 1024 });
    await log.ensureTopic('t', { partitions: 1, segmentBytes: 300_000 });
    const value = (i: number): string => `r${i}:`.padEnd(90 + (i % 37), '*');
    await log.append(
      't',
      range(0, 3000).map((i) => ({ value: value(i) })),
    );
    const got: string[] = [];
    let offset = 0;
    let appended = 3000;
    while (offset < appended) {
      const records = await log.read('t', 0, offset, 7 + (offset % 13));
      expect(records[0]!.offset).toBe(offset);
      got.push(...records.map((r) => r.value));
      offset = records[records.length - 1]!.offset + 1;
      if (appended < 6000 && offset % 500 < 10) {
        await log.append(
          't',
          range(appended, appended + 250).map((i) => ({ value: value(i) })),
        );
        appended += 250;
      }
    }
    expect(log.storage('t')[0]!.segments).toBeGreaterThan(1);
    expect(got).toHaveLength(appended);
    expect(got).toEqual(range(0, appended).map(value));
  });

  it('serializes concurrent appends to a partition into contiguous offsets', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 1 });
    const acks = await Promise.all(
      range(0, 50).map((i) => log.append('t', [{ value: `a${i}` }, { value: `b${i}` }])),
    );
    const bases = acks.map((a) => a[0]!.baseOffset);
    expect([...bases].sort((a, b) => a - b)).toEqual(range(0, 50).map((i) => i * 2));
    const records = await log.read('t', 0, 0, 1000);
    for (let i = 0; i < 50; i++) {
      expect(records[bases[i]!]!.value).toBe(`a${i}`);
      expect(records[bases[i]! + 1]!.value).toBe(`b${i}`);
    }
  });

  it('chooses partitions: explicit, else murmur2(key) like Kafka, else round-robin', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 4 });
    const unkeyed = await log.append(
      't',
      range(0, 8).map((i) => ({ value: `u${i}` })),
    );
    expect(unkeyed.map((a) => a.count)).toEqual([2, 2, 2, 2]);
    // murmur2("21") = -973932308 in Kafka; toPositive → 1173551340; % 4 = 0.
    const keyed = await log.append('t', [{ key: '21', value: 'k' }]);
    expect(keyed).toEqual([{ partition: 0, baseOffset: 2, count: 1 }]);
    const explicit = await log.append('t', [{ key: '21', value: 'e', partition: 3 }]);
    expect(explicit).toEqual([{ partition: 3, baseOffset: 2, count: 1 }]);
  });

  it('rejects a whole append when one record is invalid, and names the problem', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 2 });
    const unknownPartition = await labError(
      log.append('t', [{ value: 'ok' }, { value: 'bad', partition: 7 }]),
    );
    expect(unknownPartition.code).toBe('LKL_ERR_LOG_PARTITION_UNKNOWN');
    const badValue = await labError(log.append('t', [{ value: 'ok' }, { value: 5 as unknown as string }]));
    expect(badValue.code).toBe('LKL_ERR_LOG_INVALID_ARGUMENT');
    expect(badValue.message).toContain('Record 1');
    const badTs = await labError(log.append('t', [{ value: 'x', timestamp: -1 }]));
    expect(badTs.code).toBe('LKL_ERR_LOG_INVALID_ARGUMENT');
    expect((await log.offsets('t')).map((o) => o.end)).toEqual([0, 0]);
    expect((await labError(log.append('nope', [{ value: 'x' }]))).code).toBe('LKL_ERR_LOG_TOPIC_UNKNOWN');
    expect((await labError(log.ensureTopic('../escape', { partitions: 1 }))).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect((await labError(log.ensureTopic('.hidden', { partitions: 1 }))).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect((await labError(log.ensureTopic('zero', { partitions: 0 }))).code).toBe(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
    );
    expect(await log.append('t', [])).toEqual([]);
  });

  it('read: below low and above end throw LKL_ERR_LOG_OFFSET_OUT_OF_RANGE, at end returns []', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 1 });
    await log.append(
      't',
      range(0, 5).map((i) => ({ value: `v${i}` })),
    );
    expect(await log.read('t', 0, 5, 10)).toEqual([]);
    const above = await labError(log.read('t', 0, 6, 10));
    expect(above.code).toBe('LKL_ERR_LOG_OFFSET_OUT_OF_RANGE');
    expect(above.details).toMatchObject({ offset: 6, low: 0, end: 5 });
    expect((await labError(log.read('t', 0, -1, 10))).code).toBe('LKL_ERR_LOG_OFFSET_OUT_OF_RANGE');
    expect((await log.read('t', 0, 3, 10)).map((r) => r.value)).toEqual(['v3', 'v4']);
  });
});

describe('embedded log: crash safety', () => {
  async function writeRecords(
    dir: string,
    count: number,
    opts: { segmentBytes?: number } = {},
  ): Promise<void> {
    const log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
    await log.ensureTopic('t', { partitions: 1, ...opts });
    for (let i = 0; i < count; i++) await log.append('t', [{ value: fixedValue(i) }]);
    await log.close();
  }

  it('cuts a partial last record (chopped bytes) and continues at the right offset', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 10);
    const file = segmentPath(dir, 't', 0, 0);
    await truncate(file, 10 * FRAME - 5);

    const log = await openLog(dir);
    expect(log.recovery.truncations).toEqual([
      expect.objectContaining({
        topic: 't',
        partition: 0,
        file,
        position: 9 * FRAME,
        bytesDropped: FRAME - 5,
      }),
    ]);
    expect(await log.offsets('t')).toEqual([{ partition: 0, low: 0, end: 9 }]);
    expect((await log.read('t', 0, 0, 100)).map((r) => r.value)).toEqual(range(0, 9).map(fixedValue));
    expect((await stat(file)).size).toBe(9 * FRAME);
    expect(await log.append('t', [{ value: fixedValue(99) }])).toEqual([
      { partition: 0, baseOffset: 9, count: 1 },
    ]);
    expect((await log.read('t', 0, 9, 1))[0]!.value).toBe(fixedValue(99));
  });

  it('cuts garbage appended after the last record', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 10);
    const file = segmentPath(dir, 't', 0, 0);
    await appendFile(file, Buffer.from('this is not a record frame at all, just junk bytes'));

    const log = await openLog(dir);
    expect(log.recovery.truncations).toHaveLength(1);
    expect(log.recovery.truncations[0]!.position).toBe(10 * FRAME);
    expect((await stat(file)).size).toBe(10 * FRAME);
    expect(await log.append('t', [{ value: 'next' }])).toEqual([{ partition: 0, baseOffset: 10, count: 1 }]);
    expect((await log.read('t', 0, 0, 100)).map((r) => r.offset)).toEqual(range(0, 11));
  });

  it('cuts a zero-filled tail and a last record whose CRC does not match', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 10);
    const file = segmentPath(dir, 't', 0, 0);
    // Flip one byte inside the value of the last record.
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('#'), 0, 1, 9 * FRAME + 50);
    await fh.close();
    await appendFile(file, Buffer.alloc(4096));

    const log = await openLog(dir);
    expect(log.recovery.truncations).toEqual([
      expect.objectContaining({ position: 9 * FRAME, reason: 'checksum mismatch' }),
    ]);
    expect(await log.offsets('t')).toEqual([{ partition: 0, low: 0, end: 9 }]);
    expect((await log.read('t', 0, 8, 10)).map((r) => r.value)).toEqual([fixedValue(8)]);
  });

  it('refuses (LKL_ERR_LOG_CORRUPT) a damaged record in the last segment that intact records follow', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 10);
    const file = segmentPath(dir, 't', 0, 0);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from('#'), 0, 1, 4 * FRAME + 50);
    await fh.close();
    const err = await labError(openEmbeddedEventLog({ dataDir: dir, clock: systemClock }));
    expect(err.code).toBe('LKL_ERR_LOG_CORRUPT');
    expect(err.details).toMatchObject({ file, position: 4 * FRAME });
    expect((await stat(file)).size).toBe(10 * FRAME);
    // The failed open released the lock: a second attempt fails the same way, not with LKL_ERR_LOG_LOCKED.
    expect((await labError(openEmbeddedEventLog({ dataDir: dir, clock: systemClock }))).code).toBe(
      'LKL_ERR_LOG_CORRUPT',
    );
  });

  it('raises LKL_ERR_LOG_CORRUPT with file and position for damage in an older segment', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 35, { segmentBytes: 1000 });
    const first = segmentPath(dir, 't', 0, 0);

    // A bad length field breaks the structure: the open refuses.
    const original = await readFile(first);
    const broken = Buffer.from(original);
    broken.writeUInt32LE(0xfffffff0, 3 * FRAME + 4);
    await writeFile(first, broken);
    const onOpen = await labError(openEmbeddedEventLog({ dataDir: dir, clock: systemClock }));
    expect(onOpen.code).toBe('LKL_ERR_LOG_CORRUPT');
    expect(onOpen.details).toMatchObject({ file: first, position: 3 * FRAME });
    expect(onOpen.message).toContain(first);

    // A flipped value byte keeps the structure: found by the CRC check on read (or on open with verifyAllSegmentsOnOpen).
    const flipped = Buffer.from(original);
    flipped.writeUInt8(flipped.readUInt8(3 * FRAME + 40) ^ 0x01, 3 * FRAME + 40);
    await writeFile(first, flipped);
    const strictOpen = await labError(
      openEmbeddedEventLog({ dataDir: dir, clock: systemClock, verifyAllSegmentsOnOpen: true }),
    );
    expect(strictOpen.code).toBe('LKL_ERR_LOG_CORRUPT');
    expect(strictOpen.details).toMatchObject({ file: first, position: 3 * FRAME });

    const log = await openLog(dir);
    const onRead = await labError(log.read('t', 0, 0, 100));
    expect(onRead.code).toBe('LKL_ERR_LOG_CORRUPT');
    expect(onRead.details).toMatchObject({ file: first, position: 3 * FRAME, reason: 'checksum mismatch' });
    expect((await log.read('t', 0, 0, 3)).map((r) => r.offset)).toEqual([0, 1, 2]);
    expect((await log.read('t', 0, 10, 100)).map((r) => r.offset)).toEqual(range(10, 35));
  });

  it('refuses a gap between segments', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 35, { segmentBytes: 1000 });
    await rm(segmentPath(dir, 't', 0, 10));
    const err = await labError(openEmbeddedEventLog({ dataDir: dir, clock: systemClock }));
    expect(err.code).toBe('LKL_ERR_LOG_CORRUPT');
    expect(err.details).toMatchObject({ file: segmentPath(dir, 't', 0, 20) });
  });

  for (const fsyncIntervalMs of [0, 200]) {
    it(`keeps every acknowledged record after kill -9 of an appending process (fsyncIntervalMs ${fsyncIntervalMs})`, async () => {
      const dir = await tempDir();
      const valueBytes = 64;
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(here, 'append-loop-child.ts'),
          '--data-dir',
          dir,
          '--topic',
          'crash',
          '--partitions',
          '2',
          '--fsync-interval-ms',
          String(fsyncIntervalMs),
          '--batch',
          '50',
          '--value-bytes',
          String(valueBytes),
        ],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = once(child, 'exit');
      const acked = (): number[] => {
        const ends = [0, 0];
        for (const m of out.matchAll(/^ack (\d+) (\d+)$/gm))
          ends[Number(m[1])] = Math.max(ends[Number(m[1])]!, Number(m[2]));
        return ends;
      };
      try {
        await waitFor(
          'the child to acknowledge 3000 records per partition',
          () => Math.min(...acked()) >= 3000 || child.exitCode !== null,
          30_000,
        );
      } finally {
        child.kill('SIGKILL');
      }
      await exited; // reaped: its pid is dead, so its lock is stale
      expect(err).toBe('');
      expect(child.signalCode).toBe('SIGKILL');
      const ackedEnds = acked();
      expect(Math.min(...ackedEnds)).toBeGreaterThanOrEqual(3000);

      const log = await openLog(dir);
      const offsets = await log.offsets('crash');
      for (const p of [0, 1]) {
        const end = offsets[p]!.end;
        expect(end).toBeGreaterThanOrEqual(ackedEnds[p]!);
        const records = await log.read('crash', p, 0, end + 10);
        expect(records).toHaveLength(end);
        records.forEach((r, i) => {
          expect(r.offset).toBe(i);
          expect(r.value).toBe(expectedValue(p, i, valueBytes));
        });
      }
      const acks = await log.append('crash', [
        { partition: 0, value: expectedValue(0, offsets[0]!.end, valueBytes) },
      ]);
      expect(acks).toEqual([{ partition: 0, baseOffset: offsets[0]!.end, count: 1 }]);
    }, 60_000);
  }
});

describe('embedded log: retention', () => {
  it('by size: drops whole sealed segments, keeps at least retentionBytes, raises low', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 1, segmentBytes: 1000, retentionBytes: 2500 });
    for (let i = 0; i < 55; i++) await log.append('t', [{ value: fixedValue(i) }]);
    expect(log.storage('t')[0]).toMatchObject({ segments: 6, bytes: 55 * FRAME });
    const deleted: unknown[] = [];
    log.on(EMBEDDED_LOG_EVENTS.SEGMENTS_DELETED, (e) => deleted.push(e));

    await log.enforceRetention();

    // 5500 bytes − 2500 allowed: segments 0, 10, 20 (3000 bytes) go; 30, 40 and the active 50 stay.
    expect(await log.offsets('t')).toEqual([{ partition: 0, low: 30, end: 55 }]);
    expect(log.storage('t')[0]).toMatchObject({ segments: 3, bytes: 25 * FRAME });
    expect(await readdir(join(dir, 'log', 't', '0'))).toEqual([
      segmentFileName(30),
      segmentFileName(40),
      segmentFileName(50),
    ]);
    expect(deleted).toEqual([
      expect.objectContaining({ topic: 't', partition: 0, lowBefore: 0, lowAfter: 30, bytes: 3000 }),
    ]);
    expect((await labError(log.read('t', 0, 29, 10))).details).toMatchObject({ low: 30, end: 55 });
    expect((await log.read('t', 0, 30, 100)).map((r) => r.offset)).toEqual(range(30, 55));

    await log.enforceRetention();
    expect((await log.offsets('t'))[0]!.low).toBe(30);
  });

  it('by age: drops sealed segments whose newest record is older than now − retentionMs, never the active one', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock(1_000_000);
    const log = await openLog(dir, { clock });
    await log.ensureTopic('t', { partitions: 1, segmentBytes: 1000, retentionMs: 10_000 });
    for (let i = 0; i < 35; i++) {
      await log.append('t', [{ value: fixedValue(i) }]); // timestamp = clock time
      await clock.advance(1000);
    }
    // now = 1 035 000; newest timestamps: seg 0 → 1 009 000, seg 10 → 1 019 000, seg 20 → 1 029 000.
    await log.enforceRetention();
    expect((await log.offsets('t'))[0]).toEqual({ partition: 0, low: 20, end: 35 });
    await clock.advance(4000); // 1 039 000: seg 20 is exactly 10 000 ms old, not older
    await log.enforceRetention();
    expect((await log.offsets('t'))[0]!.low).toBe(20);
    await clock.advance(1);
    await log.enforceRetention();
    expect((await log.offsets('t'))[0]!.low).toBe(30);
    await clock.advance(10_000_000);
    await log.enforceRetention();
    expect(log.storage('t')[0]).toMatchObject({ low: 30, end: 35, segments: 1 });
  });

  it('runs on its timer, and a consumer below low is reset to low and told so', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock(0);
    const log = await openLog(dir, { clock, retentionCheckIntervalMs: 20 });
    // Let the timer fire while there is nothing to do: it must keep running afterwards.
    await new Promise((r) => setTimeout(r, 100));
    await log.ensureTopic('t', { partitions: 1, segmentBytes: 1000, retentionMs: 1000 });
    for (let i = 0; i < 25; i++) await log.append('t', [{ value: fixedValue(i) }]);
    await log.commitOffsets('g', 't', [{ partition: 0, offset: 5 }]);
    await clock.advance(5000);
    await waitFor('the retention timer', () => log.storage('t')[0]!.low === 20);

    const resets: unknown[] = [];
    log.on(EMBEDDED_LOG_EVENTS.CONSUMER_OFFSET_RESET, (e) => resets.push(e));
    const seen: number[] = [];
    const consumer = log.consumer({ group: 'g', topic: 't' });
    await consumer.run(async (b) => {
      seen.push(...b.records.map((r) => r.offset));
    });
    await waitFor('records 20..24', () => seen.length >= 5);
    await consumer.stop();
    expect(seen).toEqual(range(20, 25));
    expect(resets).toEqual([{ group: 'g', topic: 't', partition: 0, from: 5, to: 20, low: 20, end: 25 }]);
  });
});

describe('embedded log: lock, close, reopen', () => {
  it('refuses a second open of the same data dir and names the pid holding it', async () => {
    const dir = await tempDir();
    await openLog(dir);
    const err = await labError(openEmbeddedEventLog({ dataDir: dir, clock: systemClock }));
    expect(err.code).toBe('LKL_ERR_LOG_LOCKED');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.details).toMatchObject({ pid: process.pid });
  });

  it('refuses a lock held by another live process and takes over one whose pid is dead', async () => {
    const dir = await tempDir();
    const first = await openLog(dir);
    await first.close();
    const lockPath = join(dir, 'log', '.lock');

    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await writeFile(lockPath, JSON.stringify({ pid: sleeper.pid, host: hostname() }));
      const err = await labError(openEmbeddedEventLog({ dataDir: dir, clock: systemClock }));
      expect(err.code).toBe('LKL_ERR_LOG_LOCKED');
      expect(err.message).toContain(`pid ${sleeper.pid}`);
    } finally {
      sleeper.kill('SIGKILL');
    }
    await once(sleeper, 'exit');
    // sleeper is dead now: its lock is stale.
    const log = await openLog(dir);
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toEqual({ pid: process.pid, host: hostname() });
    await log.close();
    await expect(stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('close() flushes and releases; every later call throws LKL_ERR_LOG_CLOSED', async () => {
    const dir = await tempDir();
    const log = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock, fsyncIntervalMs: 60_000 });
    await log.ensureTopic('t', { partitions: 1 });
    const pending = log.append(
      't',
      range(0, 100).map((i) => ({ value: `v${i}` })),
    );
    await log.close();
    await log.close(); // idempotent
    expect(await pending).toEqual([{ partition: 0, baseOffset: 0, count: 100 }]);
    expect((await labError(log.append('t', [{ value: 'x' }]))).code).toBe('LKL_ERR_LOG_CLOSED');
    expect((await labError(log.offsets('t'))).code).toBe('LKL_ERR_LOG_CLOSED');
    expect((await labError(log.listTopics())).code).toBe('LKL_ERR_LOG_CLOSED');
    expect(syncLabError(() => log.consumer({ group: 'g', topic: 't' })).code).toBe('LKL_ERR_LOG_CLOSED');
    const again = await openLog(dir);
    expect(await again.offsets('t')).toEqual([{ partition: 0, low: 0, end: 100 }]);
  });

  it('deleteTopic removes the files and the committed offsets; ensureTopic can recreate it empty', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 1 });
    await log.append('t', [{ value: 'x' }]);
    await log.commitOffsets('g', 't', [{ partition: 0, offset: 1 }]);
    await log.deleteTopic('t');
    expect((await readdir(join(dir, 'log'))).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(await log.listGroups()).toEqual([]);
    await log.ensureTopic('t', { partitions: 2 });
    expect(await log.offsets('t')).toEqual([
      { partition: 0, low: 0, end: 0 },
      { partition: 1, low: 0, end: 0 },
    ]);
    expect(await log.committedOffsets('g', 't')).toEqual([
      { partition: 0, offset: null },
      { partition: 1, offset: null },
    ]);
  });

  it('stores committed offsets durably per group, coalescing concurrent commits', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('t', { partitions: 1 });
    await log.append(
      't',
      range(0, 100).map((i) => ({ value: `v${i}` })),
    );
    await Promise.all(
      range(1, 101).map((o) => log.commitOffsets('group/with.odd:chars', 't', [{ partition: 0, offset: o }])),
    );
    expect(await log.committedOffsets('group/with.odd:chars', 't')).toEqual([{ partition: 0, offset: 100 }]);
    await log.close();
    const again = await openLog(dir);
    expect(await again.listGroups()).toEqual(['group/with.odd:chars']);
    expect(await again.committedOffsets('group/with.odd:chars', 't')).toEqual([
      { partition: 0, offset: 100 },
    ]);
  });
});

describe('embedded log: consumer', () => {
  async function setup(clock: Clock = systemClock): Promise<EmbeddedEventLog> {
    const log = await openLog(await tempDir(), { clock });
    await log.ensureTopic('t', { partitions: 2 });
    return log;
  }

  it('a handler error stops the consumer, is reported, and the failed batch is redelivered to the next consumer', async () => {
    const log = await setup();
    await log.append(
      't',
      range(0, 12).map((i) => ({ value: `v${i}`, partition: 0 })),
    );
    const boom = new Error('handler failed');
    const errors: unknown[] = [];
    const crashes: unknown[] = [];
    log.on(EMBEDDED_LOG_EVENTS.CONSUMER_CRASH, (e) => crashes.push(e.error));
    const delivered: number[] = [];
    const consumer = log.consumer({
      group: 'g',
      topic: 't',
      partitions: [0],
      maxBatchRecords: 5,
      onError: (e) => errors.push(e),
    });
    await consumer.run(async (b) => {
      if (b.records[0]!.offset === 5) throw boom;
      delivered.push(...b.records.map((r) => r.offset));
      await consumer.commit([{ partition: 0, offset: b.records[b.records.length - 1]!.offset + 1 }]);
    });
    await expect(consumer.done()).rejects.toBe(boom);
    expect(errors).toEqual([boom]);
    expect(crashes).toEqual([boom]);
    expect(delivered).toEqual(range(0, 5));
    expect(consumer.assignment()).toEqual([]);
    expect(await log.committedOffsets('g', 't')).toEqual([
      { partition: 0, offset: 5 },
      { partition: 1, offset: null },
    ]);

    const next: number[] = [];
    const again = log.consumer({ group: 'g', topic: 't', partitions: [0] });
    await again.run(async (b) => {
      next.push(...b.records.map((r) => r.offset));
    });
    await waitFor('offsets 5..11', () => next.length >= 7);
    await again.stop();
    expect(next).toEqual(range(5, 12));
  });

  it('wakes a caught-up consumer on append, without waiting for its poll', async () => {
    const log = await setup();
    const arrivals: number[] = [];
    const consumer = log.consumer({ group: 'g', topic: 't', idlePollMs: 60_000 });
    await consumer.run(async (b) => {
      arrivals.push(performance.now());
      void b;
    });
    await new Promise((r) => setTimeout(r, 50));
    const before = performance.now();
    await log.append('t', [{ value: 'x', partition: 1 }]);
    await waitFor('the record', () => arrivals.length === 1, 5000);
    expect(arrivals[0]! - before).toBeLessThan(1000);
    await consumer.stop();
  });

  it('stop() waits for the in-flight batch; batches of a partition come one at a time', async () => {
    const log = await setup();
    await log.append(
      't',
      range(0, 20).map((i) => ({ value: `v${i}`, partition: i % 2 })),
    );
    let inFlight = 0;
    let maxInFlight = 0;
    let finished = 0;
    const consumer = log.consumer({ group: 'g', topic: 't', maxBatchRecords: 3 });
    await consumer.run(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      finished++;
    });
    await waitFor('a batch in flight', () => inFlight === 1);
    await consumer.stop();
    expect(inFlight).toBe(0);
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(maxInFlight).toBe(1);
    const after = finished;
    await new Promise((r) => setTimeout(r, 100));
    expect(finished).toBe(after);
  });

  it('refuses two running consumers of one group on the same partitions, and deleting an active group', async () => {
    const log = await setup();
    const handler = async (_b: RecordBatch): Promise<void> => undefined;
    const a = log.consumer({ group: 'g', topic: 't', partitions: [0] });
    await a.run(handler);
    const clash = await labError(log.consumer({ group: 'g', topic: 't' }).run(handler));
    expect(clash.code).toBe('LKL_ERR_LOG_GROUP_ACTIVE');
    expect(clash.details).toMatchObject({ partitions: [0] });
    const b = log.consumer({ group: 'g', topic: 't', partitions: [1] });
    await b.run(handler);
    expect([a.assignment(), b.assignment()]).toEqual([[0], [1]]);
    expect((await labError(log.deleteGroup('g'))).code).toBe('LKL_ERR_LOG_GROUP_ACTIVE');
    await a.stop();
    await b.stop();
    await log.deleteGroup('g');
    expect(await log.listGroups()).toEqual([]);
  });

  it('seek before run overrides the committed offset; seek past the end resets to the end', async () => {
    const log = await setup();
    await log.append(
      't',
      range(0, 10).map((i) => ({ value: `v${i}`, partition: 0 })),
    );
    await log.commitOffsets('g', 't', [{ partition: 0, offset: 2 }]);
    const seen: number[] = [];
    const resets: unknown[] = [];
    log.on(EMBEDDED_LOG_EVENTS.CONSUMER_OFFSET_RESET, (e) => resets.push(e));
    const consumer = log.consumer({ group: 'g', topic: 't', partitions: [0] });
    consumer.seek(0, 7);
    await consumer.run(async (b) => {
      seen.push(...b.records.map((r) => r.offset));
    });
    await waitFor('offsets 7..9', () => seen.length >= 3);
    expect(seen).toEqual([7, 8, 9]);
    consumer.seek(0, 50);
    await waitFor('the reset', () => resets.length === 1);
    expect(resets[0]).toMatchObject({ from: 50, to: 10 });
    await log.append('t', [{ value: 'new', partition: 0 }]);
    await waitFor('offset 10', () => seen.length >= 4);
    expect(seen).toEqual([7, 8, 9, 10]);
    expect(syncLabError(() => consumer.seek(1, 0)).code).toBe('LKL_ERR_LOG_INVALID_ARGUMENT');
    await consumer.stop();
  });
});

describe('embedded log: historySource and scanSegments', () => {
  it('scanSegments over a partition history source reads exactly what a consumer reads, across segments and from any offset', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    await log.ensureTopic('history', { partitions: 2, segmentBytes: 4096 });
    const values = Array.from({ length: 600 }, (_, i) => `history-${i}-${'x'.repeat(i % 37)}`);
    await log.append(
      'history',
      values.map((value, i) => ({ value, partition: i % 2 })),
    );
    await log.append('history', [{ value: 'beyond the snapshot', partition: 1 }]);
    const source = log.historySource('history', 1);
    expect(source).toEqual({
      format: 'embedded-segments',
      dir: join(dir, 'log', 'history', '1'),
      verifyChecksums: true,
      maxRecordBytes: 16 * 1024 * 1024,
    });
    expect((await readdir(source.dir)).filter((f) => f.endsWith('.log')).length).toBeGreaterThan(1);
    const expected = values.filter((_, i) => i % 2 === 1);
    for (const from of [0, 137]) {
      const got: Array<[number, string]> = [];
      const next = await scanSegments({
        ...source,
        from,
        to: 300,
        chunkBytes: 1024,
        onRecord: (value, offset) => void got.push([offset, value]),
        onChunk: async () => undefined,
        stopped: () => false,
      });
      expect(next).toBe(300);
      expect(got).toEqual(expected.slice(from).map((v, i) => [from + i, v]));
    }
  });
});
