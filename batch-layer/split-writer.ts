import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, fsyncFile } from '../kernel/util/atomic-file.js';
import { sqlString, type AnalyticDb } from './analytic-db.js';

/** Columns of a split: the YSB event, typed (UUIDs as UUID, event_time as BIGINT). */
const SPLIT_SELECT = `SELECT
  user_id::UUID AS user_id, page_id::UUID AS page_id, ad_id::UUID AS ad_id, ad_type, event_type,
  event_time::BIGINT AS event_time, ip_address`;

const JSON_COLUMNS = `{user_id: 'VARCHAR', page_id: 'VARCHAR', ad_id: 'VARCHAR', ad_type: 'VARCHAR', event_type: 'VARCHAR', event_time: 'VARCHAR', ip_address: 'VARCHAR'}`;

/**
 * Writes one immutable Parquet split from validated YSB JSON lines: NDJSON staging file → DuckDB
 * COPY to a temp Parquet file → fsync → rename to its final name. Returns the final file's size.
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
    writeFileSync(staging, lines.join('\n') + '\n');
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
