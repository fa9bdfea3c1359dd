/**
 * A replay worker thread: owns some partitions of a replay, scans and aggregates their records
 * (the same PartitionProcessor as the main thread), and hands the deltas over on 'drain'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { kappaLogic } from '../logic/index.js';
import { PartitionProcessor } from '../partition-processor.js';
import type { FromWorker, ReplayWorkerData, ToWorker } from './worker-protocol.js';

const data = workerData as ReplayWorkerData;
const port = parentPort!;
const logic = kappaLogic(data.logicVersion);
const ctx = { campaignOf: new Map(data.ads), bots: new Set(data.bots) };
const processors = new Map<number, PartitionProcessor>();
const send = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  try {
    if (m.type === 'init') {
      processors.set(m.partition, new PartitionProcessor(m.partition, logic, ctx, data.policy, m.maxEventTime));
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
        .map((p) => ({ partition: p.partition, maxEventTime: p.maxEventTime, delta: p.takeDelta() }));
      send({ type: 'drained', id: m.id, results });
    }
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
