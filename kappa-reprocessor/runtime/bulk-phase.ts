/**
 * The bulk history phase of a replay on the embedded log: the engine's threads read the history
 * straight from the segment files, up to the end offsets snapshotted when the replay started;
 * the runner's consumers take over afterwards.
 */
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { NO_EVENT_TIME, type ProcessingEngine } from '../operator/index.js';
import { offsetsNamespace, readMaxEventTimes } from '../state/index.js';
import type { BulkSource } from './job-runner-types.js';
import { PartitionCursor } from './partition-cursor.js';

export interface BulkScanRequest {
  log: EventLog;
  store: RealtimeStore;
  topic: string;
  job: number;
  engine: ProcessingEngine;
  bulk: BulkSource;
  /** The runner's cursors: a direct cursor is set for every partition scanned. */
  cursors: Map<number, PartitionCursor>;
}

/**
 * Starts one scan per partition that has history below its snapshot end (from the offset in the
 * store, or the log's low offset when retention dropped what came before: a forced replay).
 * Resolves to the scans; each moves its cursor to where the engine got.
 */
export async function startBulkScans(r: BulkScanRequest): Promise<Array<Promise<void>>> {
  const [stored, times, offsets] = await Promise.all([
    r.store.readOffsets(offsetsNamespace(r.job)),
    readMaxEventTimes(r.store, r.job),
    r.log.offsets(r.topic),
  ]);
  const scans: Array<Promise<void>> = [];
  for (const { partition: p, end } of r.bulk.ends) {
    const base = stored[p];
    if ((base ?? 0) >= end) continue;
    const t = new PartitionCursor(p, base, { direct: true });
    t.skipTo(offsets.find((o) => o.partition === p)?.low ?? 0);
    r.engine.init(p, times.get(p) ?? NO_EVENT_TIME);
    r.cursors.set(p, t);
    const source = { ...r.bulk.history(p), from: t.next, to: end };
    scans.push(
      r.engine.scan!(p, source).then((next) => {
        if (r.cursors.get(p) === t) t.advanceDirect(next, 0);
      }),
    );
  }
  return scans;
}
