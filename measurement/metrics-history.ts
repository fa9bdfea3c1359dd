import type { MetricsHistory, MetricsSnapshot } from './measurement-api.js';

/** Snapshots kept for time-series plots: the newest `capacity`, oldest first. */
export class MetricsHistoryBuffer {
  private readonly points: MetricsSnapshot[] = [];

  constructor(private readonly capacity: number) {}

  add(s: MetricsSnapshot): void {
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
