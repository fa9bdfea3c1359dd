import type { MetricsHistory, MetricsSnapshot } from './measurement-api.js';

/**
 * Snapshots kept for time-series plots: the newest `capacity`, oldest first. Only the newest keeps
 * its sketch's per-cell points (`sketch.recent`, up to 200 cells); older ones keep the figures with
 * `recent: []` — a chart draws the newest cells, and 720 snapshots of them would be ≈ 13 MB.
 */
export class MetricsHistoryBuffer {
  private readonly points: MetricsSnapshot[] = [];

  constructor(private readonly capacity: number) {}

  add(s: MetricsSnapshot): void {
    const last = this.points.length - 1;
    if (last >= 0) this.points[last] = withoutSketchPoints(this.points[last]!);
    this.points.push(s);
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
  }

  latest(): MetricsSnapshot | undefined {
    return this.points[this.points.length - 1];
  }

  since(since?: number): MetricsHistory {
    return { points: since === undefined ? [...this.points] : this.points.filter((p) => p.at >= since) };
  }
}

/** A copy of the snapshot whose sketch figures keep no per-cell points (the snapshot is not changed). */
function withoutSketchPoints(s: MetricsSnapshot): MetricsSnapshot {
  if (!s.correctness.some((c) => c.sketch && c.sketch.recent.length > 0)) return s;
  return {
    ...s,
    correctness: s.correctness.map((c) => (c.sketch ? { ...c, sketch: { ...c.sketch, recent: [] } } : c)),
  };
}
