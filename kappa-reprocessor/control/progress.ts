/**
 * Rates and ETAs of a Kappa job from position samples (pure): events/s consumed per partition,
 * events/s arriving per partition, and the time to catch up (lag / (consume rate − arrival rate)).
 */
export interface ProgressSample {
  at: number;
  positions: ReadonlyMap<number, number>;
  ends: ReadonlyMap<number, number>;
}

export interface PartitionRate {
  partition: number;
  /** Events/s processed (checkpointed positions). */
  rate: number;
  /** Events/s appended to the partition. */
  arrival: number;
}

export class ProgressTracker {
  private readonly samples: ProgressSample[] = [];

  /**
   * @param windowMs rates are averaged over about this much time
   * @param minSpanMs no rate is reported before the samples span this long: positions move in
   *   checkpoint-sized steps, and one step over a short span would read as a burst
   */
  constructor(
    private readonly windowMs = 5_000,
    private readonly minSpanMs = 1_000,
  ) {}

  add(sample: ProgressSample): void {
    this.samples.push(sample);
    const cutoff = sample.at - 2 * this.windowMs;
    while (this.samples.length > 2 && this.samples[0]!.at < cutoff) this.samples.shift();
  }

  rates(): PartitionRate[] {
    const last = this.samples.at(-1);
    if (!last) return [];
    const first = this.samples.find((s) => last.at - s.at <= this.windowMs) ?? this.samples[0]!;
    const dt = (last.at - first.at) / 1000;
    const out: PartitionRate[] = [];
    for (const [p, pos] of last.positions) {
      if (dt <= 0 || dt * 1000 < this.minSpanMs) {
        out.push({ partition: p, rate: 0, arrival: 0 });
        continue;
      }
      const rate = Math.max(0, (pos - (first.positions.get(p) ?? pos)) / dt);
      const end = last.ends.get(p) ?? 0;
      const arrival = Math.max(0, (end - (first.ends.get(p) ?? end)) / dt);
      out.push({ partition: p, rate, arrival });
    }
    return out.sort((a, b) => a.partition - b.partition);
  }
}

/** Milliseconds until `remaining` events are processed at `rate` while `arrival` events/s come in; null when never. */
export function etaMs(remaining: number, rate: number, arrival: number): number | null {
  if (remaining <= 0) return 0;
  const net = rate - arrival;
  if (!(net > 0)) return null;
  return Math.round((remaining / net) * 1000);
}
