/**
 * The shape of bench/results/latest.json (written by bench/run-all.ts) and the profiles it runs
 * with; bench/bench-results.ts re-exports them beside the figures derived from the raw reports.
 */

export interface Profile {
  load: { rates: number[]; seconds: number; p99LimitMs: number };
  replay: { sizes: number[]; engines: string };
  ceiling: { events: number; rounds: number };
  mapreduce: { sizes: number[]; splits: number; rounds: number };
  serving: { rate: number; seconds: number; warmup: number; eventRate: number };
  log: { events: number; rounds: number };
  /** A bench script still running after this many seconds is stopped (its row: failed). */
  timeoutSeconds: number;
}

/** YSB's load steps (events/s). */
export const YSB_RATES = [50_000, 70_000, 90_000, 110_000, 130_000, 135_000, 150_000, 170_000];

export const PROFILES: Record<'smoke' | 'short' | 'full', Profile> = {
  /** ≈ 4 min: every part once at toy sizes, to check the pipeline end to end (figures mean little). */
  smoke: {
    load: { rates: [20_000], seconds: 10, p99LimitMs: 5_000 },
    replay: { sizes: [50_000], engines: 'inline,workers:2' },
    ceiling: { events: 50_000, rounds: 1 },
    mapreduce: { sizes: [200_000], splits: 4, rounds: 1 },
    serving: { rate: 500, seconds: 5, warmup: 5, eventRate: 1000 },
    log: { events: 50_000, rounds: 1 },
    timeoutSeconds: 300,
  },
  /** ≈ 15 min on 2 cores: two load steps of 15 s, small histories. For CI and for trying it out. */
  short: {
    load: { rates: [50_000, 110_000], seconds: 20, p99LimitMs: 5_000 },
    replay: { sizes: [250_000, 1_000_000], engines: 'inline,workers:2' },
    ceiling: { events: 500_000, rounds: 1 },
    mapreduce: { sizes: [1_000_000, 3_000_000], splits: 10, rounds: 2 },
    serving: { rate: 1000, seconds: 10, warmup: 15, eventRate: 1000 },
    log: { events: 500_000, rounds: 1 },
    timeoutSeconds: 600,
  },
  /** The real run: YSB's eight steps of 240 s; histories of 1 M, 10 M and 50 M events (hours, ≈ 30 GB of disk). */
  full: {
    load: { rates: YSB_RATES, seconds: 240, p99LimitMs: 5_000 },
    replay: { sizes: [1_000_000, 10_000_000, 50_000_000], engines: 'inline,workers:1,workers:2' },
    ceiling: { events: 10_000_000, rounds: 3 },
    mapreduce: { sizes: [1_000_000, 10_000_000, 50_000_000], splits: 20, rounds: 3 },
    serving: { rate: 1000, seconds: 60, warmup: 60, eventRate: 10_000 },
    log: { events: 10_000_000, rounds: 3 },
    timeoutSeconds: 6 * 3600,
  },
};

export interface PartRun {
  part: string;
  label: string;
  /** The command that produced the row (after `npm run build`). */
  command: string;
  startedAt: string;
  seconds: number;
  ok: boolean;
  /** The script's --json report. */
  report: Record<string, unknown> | null;
  error: string | null;
}

export interface BenchResults {
  schema: 1;
  profile: string;
  profileSettings: Profile;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  command: string;
  note: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    os: string;
    node: string;
    java: string;
    kafka: string;
    redis: string;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
  };
  infra: { brokers: string; redis: string } | null;
  runs: PartRun[];
  skipped: string[];
}
