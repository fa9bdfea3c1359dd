import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../kernel/util/atomic-file.js';
import { sqlString, type AnalyticDb } from './analytic-db.js';

export interface WindowValue {
  views: number;
  distinctUsers: number;
}

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
  /** window_start → campaign_id → values; only windows below the boundary. */
  windows: Map<number, Map<string, WindowValue>>;
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
    this.dir = join(dataDir, 'batch', 'views');
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
  // Columns as JS numbers (no BigInt), campaign ids interned: a view of ~1 M cells loads in well under a second.
  const reader = await db.connection.runAndReadAll(
    `SELECT campaign_id::VARCHAR AS c, window_start::DOUBLE AS w, views::DOUBLE AS v, distinct_users::DOUBLE AS d
     FROM read_parquet(${sqlString(join(dir, meta.file, '*.parquet'))})`,
  );
  // An empty view (every event at or above the boundary) has no chunks, so getColumns() is [].
  const [cs = [], ws = [], vs = [], ds = []] = reader.getColumns() as [
    string[],
    number[],
    number[],
    number[],
  ];
  const windows = new Map<number, Map<string, WindowValue>>();
  const interned = new Map<string, string>();
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    let m = windows.get(w);
    if (!m) windows.set(w, (m = new Map()));
    let c = interned.get(cs[i]!);
    if (c === undefined) interned.set(cs[i]!, (c = cs[i]!));
    m.set(c, { views: vs[i]!, distinctUsers: ds[i]! });
  }
  return { ...meta, windows };
}
