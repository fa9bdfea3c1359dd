/**
 * The kafkajs hot-path patch (patches/kafkajs+2.2.4.patch, applied by patch-package at install)
 * keeps the wire format byte for byte: produce requests encoded by the patched library match
 * the ones unpatched kafkajs 2.2.4 encoded (fixtures/kafkajs-produce-request.golden.json, as
 * SHA-256 and length); the one-buffer record encoder matches kafkajs's own per-record
 * Record()/RecordBatch() path on random batches; the batch CRC is the CRC32-C of its body
 * (checked against a bitwise reference, for the native and the JS CRC32-C); kafkajs's own
 * decoder reads every record back; and the linear grouping keeps each partition's order.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const src = (path: string): unknown => require(`kafkajs/src/${path}`);

interface Msg {
  key: string | Buffer | null;
  value: string | Buffer | null;
  timestamp?: string | number;
  headers?: Record<string, string | string[]>;
}
interface EncoderLike {
  buffer: Buffer;
  size(): number;
}
interface BatchArgs {
  compression?: number;
  firstTimestamp: string | number;
  maxTimestamp: string | number;
  producerId: unknown;
  producerEpoch: number;
  firstSequence: number;
  lastOffsetDelta: number;
}
type ProduceRequest = (args: {
  acks: number;
  timeout: number;
  producerId: unknown;
  producerEpoch: number;
  topicData: Array<{
    topic: string;
    partitions: Array<{ partition: number; firstSequence: number; messages: Msg[] }>;
  }>;
}) => { encode(): Promise<EncoderLike> };

const produceRequest = src('protocol/requests/produce/v3/request.js') as ProduceRequest;
const Long = src('utils/long') as { fromValue(v: number | string): unknown };
const Record = src('protocol/recordBatch/record/v0/index.js') as (
  m: Msg & { offsetDelta: number; timestampDelta: number },
) => EncoderLike;
const batch = src('protocol/recordBatch/v0/index.js') as {
  RecordBatch(a: BatchArgs & { records: EncoderLike[] }): Promise<EncoderLike>;
  RecordBatchFromEncodedRecords(
    a: BatchArgs & { recordCount: number; buffer: Buffer; recordsOffset: number },
  ): Promise<EncoderLike>;
  RECORD_BATCH_HEADER_SIZE: number;
};
const encodeRecords = src('protocol/recordBatch/v0/encodeRecords.js') as (
  messages: Msg[],
  firstTimestamp: string | number,
  dateNow: number,
  headroom: number,
) => { buffer: Buffer; recordsOffset: number } | undefined;
const decodeBatch = src('protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<{
  firstOffset: string;
  records: Array<{ key: Buffer | null; value: Buffer | null; timestamp: string; offset: string }>;
}>;
const Decoder = src('protocol/decoder.js') as new (b: Buffer) => unknown;
const crc32C = src('protocol/recordBatch/crc32C/index.js') as ((b: Buffer) => number) & {
  implementation: string;
};
/** The slicing-by-8 JS fallback, used where @node-rs/crc32 has no binary. */
const crc32CJs = src('protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;
const group = src('producer/groupMessagesPerPartition.js') as (a: {
  topic: string;
  partitionMetadata: unknown[];
  messages: Msg[];
  partitioner: (a: { message: Msg & { partition: number } }) => number;
}) => Record<string, Msg[]>;
const Compression = (src('protocol/message/compression/index.js') as { Types: Record<string, number> }).Types;

/** CRC32-C one bit at a time: the reference the table-driven versions must agree with. */
function crc32cBitwise(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface GoldenCase {
  name: string;
  producerId: number;
  producerEpoch: number;
  partitions: Array<{
    partition: number;
    firstSequence: number;
    messages: Array<{
      key: string | null | { b64: string };
      value: string | { b64: string };
      timestamp: string | number;
      headers?: Record<string, string | string[]>;
    }>;
  }>;
  bytes: number;
  sha256: string;
}
const golden = JSON.parse(
  readFileSync(new URL('./fixtures/kafkajs-produce-request.golden.json', import.meta.url), 'utf8'),
) as { cases: GoldenCase[] };
const revive = <T>(v: T | { b64: string }): T | Buffer =>
  v !== null && typeof v === 'object' && 'b64' in v ? Buffer.from(v.b64, 'base64') : (v as T);

let seed = 7;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const text = (n: number): string =>
  Array.from({ length: n }, () =>
    rnd() < 0.05 ? 'ë☃'[Math.floor(rnd() * 2)] : 'abcdef'[Math.floor(rnd() * 6)],
  ).join('');

/** A random batch: null, string and Buffer keys and values, short and long (multi-byte varints). */
function randomMessages(n: number): Msg[] {
  return Array.from({ length: n }, (_, i) => {
    const r = rnd();
    const size =
      r < 0.01
        ? 20_000 + Math.floor(rnd() * 5_000)
        : r < 0.2
          ? 130 + Math.floor(rnd() * 200)
          : Math.floor(rnd() * 120);
    return {
      key:
        i % 5 === 0
          ? null
          : i % 7 === 0
            ? randomBytes(1 + Math.floor(rnd() * 10))
            : text(1 + Math.floor(rnd() * 30)),
      value: i % 17 === 0 ? randomBytes(size) : i % 19 === 0 ? null : text(size),
      timestamp: String(1_764_884_000_000 + Math.floor(rnd() * 10_000_000)),
    };
  });
}

/** The batch encoded both ways: kafkajs's Record() per message, and the one-buffer encoder. */
async function bothWays(messages: Msg[], firstTimestamp: string | number, compression = Compression.None!) {
  const args: BatchArgs = {
    compression,
    firstTimestamp,
    maxTimestamp: firstTimestamp,
    producerId: Long.fromValue(123456789),
    producerEpoch: 3,
    firstSequence: 77,
    lastOffsetDelta: messages.length - 1,
  };
  const records = messages.map((m, i) =>
    Record({ ...m, offsetDelta: i, timestampDelta: Number(m.timestamp) - Number(firstTimestamp) }),
  );
  const perRecord = (await batch.RecordBatch({ ...args, records })).buffer;
  const encoded = encodeRecords(messages, firstTimestamp, 0, batch.RECORD_BATCH_HEADER_SIZE);
  expect(encoded).toBeDefined();
  const oneBuffer = (
    await batch.RecordBatchFromEncodedRecords({
      ...args,
      recordCount: messages.length,
      buffer: encoded!.buffer,
      recordsOffset: encoded!.recordsOffset,
    })
  ).buffer;
  return { perRecord, oneBuffer };
}

describe('kafkajs hot-path patch: the wire format is unchanged', () => {
  it('produce requests are byte-identical to unpatched kafkajs 2.2.4 (golden SHA-256)', async () => {
    expect(golden.cases.length).toBe(4);
    for (const c of golden.cases) {
      const enc = await produceRequest({
        acks: -1,
        timeout: 30_000,
        producerId: Long.fromValue(c.producerId),
        producerEpoch: c.producerEpoch,
        topicData: [
          {
            topic: 'golden-topic',
            partitions: c.partitions.map((p) => ({
              partition: p.partition,
              firstSequence: p.firstSequence,
              messages: p.messages.map((m) => ({ ...m, key: revive(m.key), value: revive(m.value) })),
            })),
          },
        ],
      }).encode();
      expect({ name: c.name, bytes: enc.buffer.length, sha256: sha256(enc.buffer) }).toEqual({
        name: c.name,
        bytes: c.bytes,
        sha256: c.sha256,
      });
    }
  });

  it('the one-buffer encoder writes what Record() + RecordBatch() write, on random batches', async () => {
    for (const n of [0, 1, 2, 63, 64, 65, 1_000, 5_000]) {
      const messages = randomMessages(n);
      const first = messages.reduce((a, m) => (String(m.timestamp) < a ? String(m.timestamp) : a), '9');
      const { perRecord, oneBuffer } = await bothWays(messages, n === 0 ? '1764884000000' : first);
      expect(oneBuffer.length).toBe(perRecord.length);
      expect(oneBuffer.equals(perRecord)).toBe(true);
    }
  });

  it('negative and large timestamp deltas encode as Long.js varlongs do', async () => {
    const deltas = [
      -1,
      -64,
      -65,
      -8192,
      1,
      63,
      64,
      8191,
      8192,
      2 ** 31,
      -(2 ** 31) - 5,
      2 ** 40 + 3,
      -(2 ** 45),
    ];
    const base = 1_764_884_000_000;
    const messages = deltas.map((d, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: String(base + d) }));
    const { perRecord, oneBuffer } = await bothWays(messages, String(base));
    expect(oneBuffer.equals(perRecord)).toBe(true);
  });

  it('compressed batches (gzip) carry the same records', async () => {
    const messages = randomMessages(500);
    const first = messages[0]!.timestamp!;
    const { perRecord, oneBuffer } = await bothWays(messages, first, Compression.GZIP!);
    const a = await decodeBatch(new Decoder(perRecord));
    const b = await decodeBatch(new Decoder(oneBuffer));
    expect(b.records.map((r) => [r.key, r.value, r.timestamp])).toEqual(
      a.records.map((r) => [r.key, r.value, r.timestamp]),
    );
    expect(b.records.length).toBe(500);
  });

  it('messages with headers or other value types fall back to Record()', () => {
    expect(encodeRecords([{ key: null, value: 'v', headers: { h: 'x' } }], 0, 0, 0)).toBeUndefined();
    expect(encodeRecords([{ key: null, value: 5 as unknown as string }], 0, 0, 0)).toBeUndefined();
    expect(encodeRecords([{ key: null, value: 'v', timestamp: '1.5' }], 0, 0, 0)).toBeUndefined();
    expect(encodeRecords([{ key: null, value: 'v', headers: {} }], 0, 0, 0)).toBeDefined();
  });

  it('the batch CRC is the CRC32-C of its body, and kafkajs decodes every record back', async () => {
    // @node-rs/crc32 is a dependency with a binary for this platform: the hardware CRC is in use.
    expect(crc32C.implementation).toBe('native');
    for (const crc of [crc32C, crc32CJs]) {
      expect(crc(Buffer.from('123456789'))).toBe(0xe3069283);
      for (let n = 0; n < 40; n++) {
        const b = randomBytes(n * 37);
        expect(crc(b)).toBe(crc32cBitwise(b));
      }
    }
    const messages = randomMessages(2_000);
    const first = messages.reduce((a, m) => (String(m.timestamp) < a ? String(m.timestamp) : a), '9');
    const { oneBuffer } = await bothWays(messages, first);
    expect(oneBuffer.readUInt32BE(17)).toBe(crc32cBitwise(oneBuffer.subarray(21)));
    expect(oneBuffer.readInt32BE(8)).toBe(oneBuffer.length - 12);
    const decoded = await decodeBatch(new Decoder(oneBuffer));
    expect(decoded.records.length).toBe(messages.length);
    decoded.records.forEach((r, i) => {
      const m = messages[i]!;
      const bytes = (v: string | Buffer | null): Buffer | null =>
        v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
      expect(r.offset).toBe(String(i));
      expect(r.timestamp).toBe(m.timestamp);
      expect(r.key === null ? null : r.key.equals(bytes(m.key)!)).toBe(m.key === null ? null : true);
      expect(r.value === null ? null : r.value.equals(bytes(m.value)!)).toBe(m.value === null ? null : true);
    });
  });

  it('grouping per partition is linear and keeps each partition in message order', () => {
    const messages = Array.from({ length: 50_000 }, (_, i) => ({
      key: null,
      value: String(i),
      partition: (i * 7) % 5,
    }));
    const t0 = performance.now();
    const groups = group({
      topic: 't',
      partitionMetadata: [{}],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    const ms = performance.now() - t0;
    expect(Object.keys(groups).sort()).toEqual(['0', '1', '2', '3', '4']);
    for (const [p, list] of Object.entries(groups)) {
      expect(list.length).toBe(10_000);
      const values = list.map((m) => Number(m.value));
      expect(values).toEqual(messages.filter((m) => m.partition === Number(p)).map((m) => Number(m.value)));
    }
    // 50,000 messages: the quadratic version copied ≈ 250 M array slots (seconds); linear is milliseconds.
    expect(ms).toBeLessThan(500);
  });
});
