import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, fsyncFile } from '../kernel/util/atomic-file.js';
import { sqlString, type AnalyticDb } from './analytic-db.js';

/**
 * Columns of a split: the YSB event, typed (UUIDs as UUID, event_time as BIGINT), and where the
 * event sits in the log (`log_partition`, `log_offset`), so an archive replay can read the history
 * in the log's own offset space and hand over to the log at an exact offset per partition.
 */
const SPLIT_SELECT = `SELECT
  user_id::UUID AS user_id, page_id::UUID AS page_id, ad_id::UUID AS ad_id, ad_type, event_type,
  event_time::BIGINT AS event_time, ip_address, log_partition, log_offset`;

const JSON_COLUMNS = `{log_partition: 'INTEGER', log_offset: 'BIGINT', user_id: 'VARCHAR', page_id: 'VARCHAR', ad_id: 'VARCHAR', ad_type: 'VARCHAR', event_type: 'VARCHAR', event_time: 'VARCHAR', ip_address: 'VARCHAR'}`;

/**
 * The staging line of one validated record: its JSON object with the log position in front
 * (`{"log_partition":P,"log_offset":O,` + the record's own fields). The decoder accepted `raw`, so
 * it is one JSON object of exactly YSB's fields and starts with `{` after optional whitespace.
 */
export function stagingLine(raw: string, partition: number, offset: number): string {
  const open = raw.indexOf('{');
  return `{"log_partition":${partition},"log_offset":${offset},${raw.slice(open + 1)}`;
}

/**
 * Writes one immutable Parquet split from staging lines ({@link stagingLine}; an element may also
 * be several lines joined with "\n"): NDJSON staging file → DuckDB COPY to a temp Parquet file →
 * fsync → rename to its final name. Returns the final file's size.
 */
export async function writeSplit(
  db: AnalyticDb,
  dir: string,
  name: string,
  lines: readonly string[],
): Promise<number> {
  const staging = join(dir, `.staging-${name}.ndjson`);
  const tmp = join(dir, `.tmp-${name}`);
  const final = join(dir, name);
  try {
    writeStaging(staging, lines);
    await db.connection.run(
      `COPY (${SPLIT_SELECT} FROM read_json(${sqlString(staging)}, format = 'newline_delimited', columns = ${JSON_COLUMNS}))
       TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    fsyncFile(tmp);
    renameSync(tmp, final);
    fsyncDir(dir);
    return statSync(final).size;
  } finally {
    rmSync(staging, { force: true });
    rmSync(tmp, { force: true });
  }
}

/** Characters of staging lines written to the file at once. */
const STAGING_WRITE_CHARS = 1 << 20;

/**
 * The staging file, written piece by piece (about 1 MB at a time): joining a split's lines first would hold the whole
 * text twice more (the joined string and its UTF-8 copy) at every split, ~8 MB each 15 s at 1,000
 * events/s, for nothing.
 */
function writeStaging(path: string, lines: readonly string[]): void {
  const fd = openSync(path, 'w');
  try {
    let piece: string[] = [];
    let length = 0;
    for (const line of lines) {
      piece.push(line);
      length += line.length;
      if (length >= STAGING_WRITE_CHARS) {
        writeSync(fd, piece.join('\n') + '\n');
        piece = [];
        length = 0;
      }
    }
    if (piece.length) writeSync(fd, piece.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
}
