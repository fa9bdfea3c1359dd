import type { LatencyFigures } from './measurement-api.js';

/** Nearest-rank percentile of sorted samples (p in 0..100); null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** count, p50, p90, p99 and max of latency samples in ms. */
export function latencyFigures(samples: readonly number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : null,
  };
}

/** A bounded ring of samples: the newest `capacity` are kept. */
export class SampleRing<T = number> {
  private readonly buf: T[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(v: T): void {
    if (this.buf.length < this.capacity) this.buf.push(v);
    else {
      this.buf[this.next] = v;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  values(): T[] {
    return [...this.buf];
  }

  get size(): number {
    return this.buf.length;
  }
}
