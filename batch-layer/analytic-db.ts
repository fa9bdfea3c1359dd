import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import { DUCKDB_ALLOCATOR_OPTIONS } from '../kernel/util/duckdb-allocator.js';

/**
 * The batch layer's analytic engine: an in-process DuckDB over the Parquet files of the master
 * dataset. Reference data (ads → campaigns, bots) is loaded as small tables for the join.
 */
export class AnalyticDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async open(
    reference: ReferenceData,
    options: { threads?: number; memoryLimit?: string; tempDirectory?: string } = {},
  ): Promise<AnalyticDb> {
    // Without a memory_limit DuckDB may take 80 % of the machine's RAM; with one, operators that
    // need more spill to temp_directory.
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads ?? 2),
      ...DUCKDB_ALLOCATOR_OPTIONS,
      ...(options.memoryLimit ? { memory_limit: options.memoryLimit } : {}),
      ...(options.tempDirectory ? { temp_directory: options.tempDirectory } : {}),
    });
    const connection = await instance.connect();
    const db = new AnalyticDb(instance, connection);
    await db.loadReference(reference);
    return db;
  }

  /** A further connection for concurrent tasks on the same database. */
  async connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  private async loadReference(reference: ReferenceData): Promise<void> {
    const c = this.connection;
    await c.run('CREATE OR REPLACE TABLE ads (ad_id UUID PRIMARY KEY, campaign_id UUID)');
    await c.run('CREATE OR REPLACE TABLE bots (user_id UUID PRIMARY KEY)');
    const ads = await c.createAppender('ads');
    for (const a of reference.ads) {
      ads.appendVarchar(a.ad_id);
      ads.appendVarchar(a.campaign_id);
      ads.endRow();
    }
    ads.closeSync();
    const bots = await c.createAppender('bots');
    for (const b of reference.bots) {
      bots.appendVarchar(b);
      bots.endRow();
    }
    bots.closeSync();
    await c.run('CREATE OR REPLACE TABLE moved_ads (ad_id UUID PRIMARY KEY, campaign_id UUID)');
    const moved = await c.createAppender('moved_ads');
    for (const [ad, campaign] of reference.movedAds) {
      moved.appendVarchar(ad);
      moved.appendVarchar(campaign);
      moved.endRow();
    }
    moved.closeSync();
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Quotes a path as a SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A list of paths as a DuckDB list literal. */
export function sqlList(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}
