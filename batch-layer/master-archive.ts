/**
 * The master dataset as a history archive (kernel/ports/history-archive.ts): the Parquet splits
 * read through DuckDB in the log's offset space, for a Kappa archive replay. The cut-over of a
 * partition is the end of the run of split ranges that starts at offset 0 (the manifest's ranges
 * are contiguous unless retention dropped records before the ingest read them), counting only
 * splits whose rows carry their log position.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogRecord } from '../kernel/ports/event-log.js';
import type { ArchiveCoverage, ArchiveReadOptions, HistoryArchive } from '../kernel/ports/history-archive.js';
import { sqlList, type AnalyticDb } from './analytic-db.js';
import type { MasterDataset, MasterManifest } from './master-dataset.js';

/**
 * One archived row back as the record the log held, in YSB's canonical layout
 * (kernel/events/ysb-event.ts encodeEvent): ids as DuckDB prints UUIDs (lower case), event_time in
 * decimal, the free-text fields JSON-escaped.
 */
const RECORD_SQL = `'{"user_id":"' || user_id::VARCHAR || '","page_id":"' || page_id::VARCHAR ||
  '","ad_id":"' || ad_id::VARCHAR || '","ad_type":' || to_json(ad_type)::VARCHAR ||
  ',"event_type":' || to_json(event_type)::VARCHAR || ',"event_time":"' || event_time::VARCHAR ||
  '","ip_address":' || to_json(ip_address)::VARCHAR || '}'`;

/** Cut-over per partition from a manifest (pure). */
export function archiveCoverage(manifest: Readonly<MasterManifest>): ArchiveCoverage[] {
  const cut = new Map<number, number>();
  const stopped = new Set<number>();
  for (const split of manifest.splits) {
    for (const [key, range] of Object.entries(split.partitions)) {
      const p = Number(key);
      if (stopped.has(p)) continue;
      const at = cut.get(p) ?? 0;
      // A split without log positions cannot be read by offset; a range above `at` leaves a gap.
      if ((split.file !== '' && split.logPositions !== true) || range.from > at) {
        stopped.add(p);
        continue;
      }
      cut.set(p, Math.max(at, range.to));
    }
  }
  return [...cut]
    .map(([partition, cutover]) => ({ partition, cutover }))
    .sort((a, b) => a.partition - b.partition);
}

export class MasterArchive implements HistoryArchive {
  constructor(
    private readonly master: MasterDataset,
    private readonly db: () => AnalyticDb | undefined,
  ) {}

  coverage(topic: string): Promise<ArchiveCoverage[]> {
    const manifest = this.master.snapshot;
    return Promise.resolve(manifest.topic === topic ? archiveCoverage(manifest) : []);
  }

  async *read(
    topic: string,
    partition: number,
    from: number,
    to: number,
    options: ArchiveReadOptions,
  ): AsyncIterable<LogRecord[]> {
    const manifest = this.master.snapshot;
    if (manifest.topic !== topic || from >= to) return;
    const files = manifest.splits
      .filter((s) => {
        const r = s.partitions[String(partition)];
        return s.file !== '' && s.logPositions === true && r !== undefined && r.from < to && r.to > from;
      })
      .map((s) => this.master.splitPath(s));
    if (files.length === 0) return;
    const db = this.db();
    if (!db) throw new Error('the master dataset is not open yet (the batch layer has not started)');
    const connection: DuckDBConnection = await db.connect();
    try {
      const result = await connection.stream(
        `SELECT log_offset, ad_id::VARCHAR AS ad_id, event_time, ${RECORD_SQL} AS value
         FROM read_parquet(${sqlList(files)})
         WHERE log_partition = ${partition} AND log_offset >= ${from} AND log_offset < ${to}
         ORDER BY log_offset`,
      );
      let batch: LogRecord[] = [];
      for (;;) {
        if (options.signal?.aborted) return;
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const [offsets, ads, times, values] = chunk.getColumns() as [bigint[], string[], bigint[], string[]];
        for (let i = 0; i < offsets.length; i++) {
          batch.push({
            offset: Number(offsets[i]),
            timestamp: Number(times[i]),
            key: ads[i],
            value: values[i]!,
          });
        }
        if (batch.length >= options.batchRecords) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      connection.closeSync();
    }
  }
}
