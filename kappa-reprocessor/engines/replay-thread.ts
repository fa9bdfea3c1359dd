/**
 * A replay worker thread: owns some partitions of a replay, scans and aggregates their records
 * (the same PartitionProcessor as the main thread), and hands the deltas over on 'drain'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { kappaLogic } from '../logic/index.js';
import { PartitionProcessor } from '../operator/index.js';
import { scanSegments } from '../../kernel/adapters/embedded-log/index.js';
import type { FromThread, ReplayThreadData, ToThread } from './thread-protocol.js';

const data = workerData as ReplayThreadData;
const port = parentPort!;
const logic = kappaLogic(data.logicVersion);
const ctx = { campaignOf: new Map(data.ads), bots: new Set(data.bots), movedAds: new Map(data.movedAds) };
const processors = new Map<number, PartitionProcessor>();
const send = (m: FromThread): void => port.postMessage(m);
/** Next offset of partitions this worker reads from the segment files itself. */
const scanning = new Map<number, number>();
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function scan(m: Extract<ToThread, { type: 'scan' }>): Promise<void> {
  const p = processors.get(m.partition)!;
  scanning.set(m.partition, m.from);
  const next = await scanSegments({
    dir: m.dir,
    from: m.from,
    to: m.to,
    verifyChecksums: m.verifyChecksums,
    maxRecordBytes: m.maxRecordBytes,
    chunkBytes: 4 * 1024 * 1024,
    onRecord: (value, offset) => p.process(value, offset),
    onChunk: async (n) => {
      scanning.set(m.partition, n);
      await tick(); // let drains in
    },
    stopped: () => processors.get(m.partition) !== p,
  });
  if (processors.get(m.partition) !== p) return; // re-initialised meanwhile: its owner starts over
  scanning.set(m.partition, next);
  send({ type: 'scanned', partition: m.partition, next });
}

port.on('message', (m: ToThread) => {
  try {
    if (m.type === 'init') {
      scanning.delete(m.partition);
      processors.set(
        m.partition,
        new PartitionProcessor(m.partition, logic, ctx, data.policy, m.maxEventTime),
      );
    } else if (m.type === 'batch') {
      const p = processors.get(m.partition)!;
      const { text, lengths } = m;
      let pos = 0;
      for (let i = 0; i < lengths.length; i++) {
        const end = pos + lengths[i]!;
        p.process(text.slice(pos, end), m.firstOffset + i);
        pos = end;
      }
      send({ type: 'ack', partition: m.partition, count: lengths.length });
    } else if (m.type === 'drain') {
      const results = m.partitions
        .map((partition) => processors.get(partition))
        .filter((p): p is PartitionProcessor => p !== undefined)
        .map((p) => {
          const next = scanning.get(p.partition);
          return {
            partition: p.partition,
            maxEventTime: p.maxEventTime,
            delta: p.takeDelta(),
            ...(next === undefined ? {} : { next }),
          };
        });
      send({ type: 'drained', id: m.id, results });
    } else if (m.type === 'scan') {
      scan(m).catch((err: unknown) =>
        send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
    }
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
