import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReferenceData } from '../kernel/workload/reference-data.js';
import { AnalyticDb, sqlString } from './analytic-db.js';
import { loadCells } from './batch-views.js';

describe('ViewCells: a batch view held column-wise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkl-cells-'));
  const ref = buildReferenceData();
  const [c1, c2, c3] = [...ref.campaigns].sort();
  let db: AnalyticDb;
  beforeAll(async () => {
    db = await AnalyticDb.open(ref);
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const writePart = async (name: string, rows: Array<[string, number, number, number]>): Promise<void> => {
    const values = rows.map(
      ([c, w, v, d]) => `(${sqlString(c)}::UUID, ${w}::BIGINT, ${v}::BIGINT, ${d}::BIGINT)`,
    );
    await db.connection.run(
      `COPY (SELECT * FROM (VALUES ${values.join(', ')}) AS t(campaign_id, window_start, views, distinct_users))
       TO ${sqlString(join(dir, name))} (FORMAT parquet)`,
    );
  };

  it('answers each window from any number of parts, in campaign order, with an optional campaign filter', async () => {
    // Two reducers' parts, rows in no particular order.
    await writePart('part-0.parquet', [
      [c3!, 20_000, 7, 3],
      [c1!, 10_000, 5, 2],
      [c2!, 30_000, 1, 1],
    ]);
    await writePart('part-1.parquet', [
      [c2!, 10_000, 4, 4],
      [c1!, 20_000, 9, 6],
    ]);
    const cells = await loadCells(db, join(dir, 'part-*.parquet'));
    expect(cells.size).toBe(5);
    const at = (w: number, campaign?: string): Array<[string, number, number]> => {
      const out: Array<[string, number, number]> = [];
      cells.forEachIn(w, (c, views, users) => out.push([c, views, users]), campaign);
      return out;
    };
    expect(at(10_000)).toEqual([
      [c1, 5, 2],
      [c2, 4, 4],
    ]);
    expect(at(20_000)).toEqual([
      [c1, 9, 6],
      [c3, 7, 3],
    ]);
    expect(at(30_000)).toEqual([[c2, 1, 1]]);
    expect(at(20_000, c3)).toEqual([[c3, 7, 3]]);
    expect(at(20_000, c2)).toEqual([]);
    expect(at(0)).toEqual([]);
    expect(at(40_000)).toEqual([]);
    expect(at(10_000, c2)).toEqual([[c2, 4, 4]]);
    expect(at(30_000, c1)).toEqual([]);
  });

  it('loads a view with no rows (every event at or above the boundary) as an empty view', async () => {
    await db.connection.run(
      `COPY (SELECT NULL::UUID AS campaign_id, 0::BIGINT AS window_start, 0::BIGINT AS views, 0::BIGINT AS distinct_users WHERE false)
       TO ${sqlString(join(dir, 'empty.parquet'))} (FORMAT parquet)`,
    );
    const cells = await loadCells(db, join(dir, 'empty.parquet'));
    expect(cells.size).toBe(0);
    let visited = 0;
    cells.forEachIn(10_000, () => visited++);
    expect(visited).toBe(0);
  });
});
