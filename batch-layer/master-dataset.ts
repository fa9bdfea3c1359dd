import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../kernel/util/atomic-file.js';
import { masterDatasetDir } from './storage-layout.js';

/** What one immutable split covers: per log partition, offsets [from, to) and the newest event time. */
export interface SplitInfo {
  id: number;
  /** Path relative to the master dataset directory. */
  file: string;
  events: number;
  bytes: number;
  minEventTime: number;
  maxEventTime: number;
  partitions: Record<string, { from: number; to: number }>;
  createdAt: number;
  /**
   * The split's rows carry `log_partition` and `log_offset` (splits written before that column
   * existed do not: an archive replay stops at the first such split of a partition).
   */
  logPositions?: boolean;
}

export interface MasterManifest {
  format: 1;
  topic: string;
  splits: SplitInfo[];
  /** Next offset to ingest, per partition: the exactly-once cursor (the truth, not the group's commit). */
  offsets: Record<string, number>;
  /** Newest event time ingested per partition (drives the batch boundary). */
  maxEventTime: Record<string, number>;
  /** Records the ingest rejected (dead-lettered), in total. */
  rejected: number;
}

/**
 * The immutable master dataset: Parquet splits plus a manifest that is replaced atomically. A split
 * file exists before the manifest names it; on open, files the manifest does not name (a crash
 * between the two) are removed, so the dataset never holds a duplicate or a half-written split.
 */
export class MasterDataset {
  readonly dir: string;
  readonly splitsDir: string;
  private manifest: MasterManifest;

  constructor(dataDir: string, topic: string) {
    this.dir = masterDatasetDir(dataDir);
    this.splitsDir = join(this.dir, 'splits');
    mkdirSync(this.splitsDir, { recursive: true });
    const path = this.manifestPath;
    this.manifest = existsSync(path)
      ? (JSON.parse(readFileSync(path, 'utf8')) as MasterManifest)
      : { format: 1, topic, splits: [], offsets: {}, maxEventTime: {}, rejected: 0 };
    this.removeOrphans();
  }

  private get manifestPath(): string {
    return join(this.dir, 'manifest.json');
  }

  get snapshot(): Readonly<MasterManifest> {
    return this.manifest;
  }

  get nextSplitId(): number {
    return (this.manifest.splits.at(-1)?.id ?? 0) + 1;
  }

  splitPath(split: SplitInfo): string {
    return join(this.dir, split.file);
  }

  /** Records a split whose file is already durable at its final path. */
  commitSplit(split: SplitInfo, maxEventTimes: Record<string, number>, rejected: number): void {
    const next: MasterManifest = {
      ...this.manifest,
      splits: [...this.manifest.splits, split],
      offsets: { ...this.manifest.offsets },
      maxEventTime: { ...this.manifest.maxEventTime },
      rejected: this.manifest.rejected + rejected,
    };
    for (const [p, range] of Object.entries(split.partitions)) next.offsets[p] = range.to;
    for (const [p, t] of Object.entries(maxEventTimes))
      next.maxEventTime[p] = Math.max(next.maxEventTime[p] ?? 0, t);
    writeFileAtomic(this.manifestPath, JSON.stringify(next, null, 1));
    this.manifest = next;
  }

  totalEvents(): number {
    return this.manifest.splits.reduce((s, x) => s + x.events, 0);
  }

  totalBytes(): number {
    return this.manifest.splits.reduce((s, x) => s + x.bytes, 0);
  }

  private removeOrphans(): void {
    const named = new Set(this.manifest.splits.map((s) => s.file.split('/').pop()));
    for (const f of readdirSync(this.splitsDir)) {
      if (!named.has(f)) rmSync(join(this.splitsDir, f), { force: true, recursive: true });
    }
    for (const s of this.manifest.splits) {
      if (!s.file) continue; // a split of only rejected records advances the cursor and holds no file
      const p = this.splitPath(s);
      if (!existsSync(p) || statSync(p).size !== s.bytes) {
        throw new Error(
          `master dataset: split ${s.file} named by the manifest is missing or has the wrong size; restore ${this.dir} from a copy`,
        );
      }
    }
  }
}
