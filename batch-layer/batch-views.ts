import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../kernel/util/atomic-file.js';
import type { DuckDBVector } from '@duckdb/node-api';
import { sqlString, type AnalyticDb } from './analytic-db.js';
import { batchViewsDir } from './storage-layout.js';

export interface BatchViewMeta {
  version: number;
  runId: number;
  logicVersion: number;
  /** Exclusive event-time upper bound: every window below it is complete in this view. */
  boundary: number;
  /** Offsets covered per log partition (next offset not covered). */
  offsets: Record<string, number>;
  events: number;
  splits: number;
  createdAt: number;
  file: string;
}

export interface BatchView extends BatchViewMeta {
  /** The view's cells (only windows below the boundary), held column-wise. */
  cells: ViewCells;
}

/**
 * The cells of one batch view, column-wise and sorted by (window, campaign): a view of 1 M cells
 * is 4 typed arrays (about 24 MB) instead of 1 M JS objects, and loads from its Parquet parts
 * in a fraction of the time. Window lookups are a binary search.
 */
export class ViewCells {
  static readonly empty = new ViewCells(
    [],
    new Float64Array(0),
    new Uint32Array(1),
    new Uint32Array(0),
    new Float64Array(0),
    new Float64Array(0),
  );

  constructor(
    /** Campaign ids in ascending order; cells refer to them by index. */
    private readonly campaigns: readonly string[],
    /** Distinct window starts, ascending. */
    private readonly windowStarts: Float64Array,
    /** Cells of window i are [windowOffsets[i], windowOffsets[i + 1]). */
    private readonly windowOffsets: Uint32Array,
    private readonly campaignIdx: Uint32Array,
    private readonly views: Float64Array,
    private readonly users: Float64Array,
  ) {}

  /** Number of cells. */
  get size(): number {
    return this.views.length;
  }

  /** Visits the cells of window `w` in campaign order (only `campaign`'s, when given); allocates nothing per cell. */
  forEachIn(
    w: number,
    visit: (campaign: string, views: number, distinctUsers: number) => void,
    campaign?: string,
  ): void {
    const i = this.windowIndex(w);
    if (i < 0) return;
    for (let k = this.windowOffsets[i]!, end = this.windowOffsets[i + 1]!; k < end; k++) {
      const c = this.campaigns[this.campaignIdx[k]!]!;
      if (campaign !== undefined && c !== campaign) continue;
      visit(c, this.views[k]!, this.users[k]!);
    }
  }

  private windowIndex(w: number): number {
    const ws = this.windowStarts;
    let lo = 0;
    let hi = ws.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const x = ws[mid]!;
      if (x === w) return mid;
      if (x < w) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/**
 * Versioned batch views with an atomic swap: a version is fully written and loaded before the
 * pointer moves; each query pins the version it started with; the last `keep` versions stay.
 */
export class BatchViews {
  private readonly dir: string;
  private currentView: BatchView | undefined;
  private readonly pins = new Map<number, number>();
  private readonly loaded = new Map<number, BatchView>();

  constructor(
    dataDir: string,
    private readonly keep: number,
  ) {
    this.dir = batchViewsDir(dataDir);
    mkdirSync(this.dir, { recursive: true });
  }

  get viewsDir(): string {
    return this.dir;
  }

  /** Loads the version the pointer names (after a restart). */
  async restore(db: AnalyticDb): Promise<void> {
    const pointer = join(this.dir, 'current.json');
    if (!existsSync(pointer)) return;
    const { version } = JSON.parse(readFileSync(pointer, 'utf8')) as { version: number };
    const meta = JSON.parse(readFileSync(join(this.dir, `v${pad(version)}.json`), 'utf8')) as BatchViewMeta;
    const view = await loadView(db, meta, this.dir);
    this.loaded.set(version, view);
    this.currentView = view;
  }

  current(): BatchView | undefined {
    return this.currentView;
  }

  /** Pins the current version for the duration of one query. */
  pin(): { view: BatchView | undefined; release: () => void } {
    const view = this.currentView;
    if (!view) return { view, release: () => undefined };
    this.pins.set(view.version, (this.pins.get(view.version) ?? 0) + 1);
    let released = false;
    return {
      view,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.pins.get(view.version) ?? 1) - 1;
        if (n <= 0) this.pins.delete(view.version);
        else this.pins.set(view.version, n);
      },
    };
  }

  /** Lowest boundary among the current version and every version a query still holds. */
  lowestPinnedBoundary(): number | undefined {
    let low = this.currentView?.boundary;
    for (const v of this.pins.keys()) {
      const b = this.loaded.get(v)?.boundary;
      if (b !== undefined && (low === undefined || b < low)) low = b;
    }
    return low;
  }

  /** Publishes a fully written version: meta file, then the pointer (atomic), then the in-memory swap. */
  async publish(db: AnalyticDb, meta: BatchViewMeta): Promise<BatchView> {
    const staging = join(this.dir, `.staging-v${pad(meta.version)}`);
    rmSync(join(this.dir, meta.file), { recursive: true, force: true });
    renameSync(staging, join(this.dir, meta.file));
    fsyncDir(this.dir);
    const view = await loadView(db, meta, this.dir);
    writeFileAtomic(join(this.dir, `v${pad(meta.version)}.json`), JSON.stringify(meta, null, 1));
    writeFileAtomic(join(this.dir, 'current.json'), JSON.stringify({ version: meta.version }));
    this.loaded.set(meta.version, view);
    this.currentView = view;
    this.prune();
    return view;
  }

  /** Where the reducers of a version write its parts before it is published. */
  stagingDir(version: number): string {
    const dir = join(this.dir, `.staging-v${pad(version)}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  nextVersion(): number {
    const existing = readdirSync(this.dir)
      .map((f) => /^v(\d+)\.json$/.exec(f)?.[1])
      .filter(Boolean)
      .map(Number);
    return Math.max(0, ...existing) + 1;
  }

  versions(): BatchViewMeta[] {
    return readdirSync(this.dir)
      .filter((f) => /^v\d+\.json$/.test(f))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as BatchViewMeta);
  }

  private prune(): void {
    const metas = this.versions();
    for (const m of metas.slice(0, Math.max(0, metas.length - this.keep))) {
      if (this.pins.has(m.version) || m.version === this.currentView?.version) continue;
      rmSync(join(this.dir, `v${pad(m.version)}.json`), { force: true });
      rmSync(join(this.dir, m.file), { force: true, recursive: true });
      this.loaded.delete(m.version);
    }
  }
}

export function pad(n: number): string {
  return String(n).padStart(6, '0');
}

async function loadView(db: AnalyticDb, meta: BatchViewMeta, dir: string): Promise<BatchView> {
  return { ...meta, cells: await loadCells(db, join(dir, meta.file, '*.parquet')) };
}

/**
 * Reads a view's Parquet parts into ViewCells: campaign ids become indexes into the sorted list of
 * the view's campaigns (one small query), and the cells come back sorted by (window, campaign)
 * as numeric columns, copied chunk by chunk into typed arrays (no per-cell JS objects).
 */
export async function loadCells(db: AnalyticDb, glob: string): Promise<ViewCells> {
  const parts = `read_parquet(${sqlString(glob)})`;
  const ids = `SELECT DISTINCT campaign_id FROM ${parts}`;
  const campaignRows = await db.connection.runAndReadAll(
    `SELECT campaign_id::VARCHAR FROM (${ids}) ORDER BY 1`,
  );
  const campaigns = campaignRows.getRows().map((r) => String(r[0]));
  if (campaigns.length === 0) return ViewCells.empty;
  const result = await db.connection.run(
    `SELECT d.idx, v.window_start::DOUBLE, v.views::DOUBLE, v.distinct_users::DOUBLE
     FROM ${parts} AS v
     JOIN (SELECT campaign_id, (row_number() OVER (ORDER BY campaign_id::VARCHAR) - 1)::INTEGER AS idx FROM (${ids})) AS d
       USING (campaign_id)
     ORDER BY v.window_start, d.idx`,
  );
  const chunks = await result.fetchAllChunks();
  const n = chunks.reduce((s, c) => s + c.rowCount, 0);
  const campaignIdx = new Uint32Array(n);
  const windowOf = new Float64Array(n);
  const views = new Float64Array(n);
  const users = new Float64Array(n);
  let k = 0;
  for (const chunk of chunks) {
    const m = chunk.rowCount;
    copyColumn(chunk.getColumnVector(0), campaignIdx, k, m);
    copyColumn(chunk.getColumnVector(1), windowOf, k, m);
    copyColumn(chunk.getColumnVector(2), views, k, m);
    copyColumn(chunk.getColumnVector(3), users, k, m);
    k += m;
  }
  const starts: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || windowOf[i] !== windowOf[i - 1]) {
      starts.push(windowOf[i]!);
      offsets.push(i);
    }
  }
  offsets.push(n);
  return new ViewCells(
    campaigns,
    Float64Array.from(starts),
    Uint32Array.from(offsets),
    campaignIdx,
    views,
    users,
  );
}

/**
 * Copies one numeric column of a chunk into `into` at `at`. DuckDB's fixed-width vectors hold
 * their values in a typed array over the chunk's memory: one bulk copy when it is there (the
 * columns here are never NULL); item by item otherwise.
 */
function copyColumn(vector: DuckDBVector, into: Uint32Array | Float64Array, at: number, count: number): void {
  const items = (vector as unknown as { items?: unknown }).items;
  if ((items instanceof Float64Array || items instanceof Int32Array) && items.length === count) {
    into.set(items, at);
    return;
  }
  for (let i = 0; i < count; i++) into[at + i] = Number(vector.getItem(i));
}
