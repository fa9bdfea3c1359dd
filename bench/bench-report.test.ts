import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chartSpecs } from './bench-charts.js';
import { writeReport } from './bench-report.js';
import {
  PROFILES,
  highestSustained,
  loadRows,
  memoryRows,
  peerRatios,
  replayRows,
  type BenchResults,
  type PartRun,
} from './bench-results.js';

const dir = mkdtempSync(join(tmpdir(), 'lkl-bench-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadRun(arch: string, mode: string, rate: number, achieved: number, p99: number | null): PartRun {
  return {
    part: 'load',
    label: `load ${arch} ${mode} ${rate}`,
    command: `node dist/bench/speed-latency-bench.js --arch ${arch} --mode ${mode} --rate ${rate} --seconds 20`,
    startedAt: '2026-01-01T00:00:00.000Z',
    seconds: 40,
    ok: true,
    report: {
      result: {
        arch,
        mode,
        targetRate: rate,
        achievedRate: achieved,
        windows: p99 === null ? 0 : 100,
        p50: p99 === null ? null : p99 / 2,
        p90: p99,
        p99,
        peakRssBytes: 100 * 2 ** 20,
      },
    },
    error: null,
  };
}

const replayRun: PartRun = {
  part: 'replay',
  label: 'replay 1,000,000 events',
  command: 'node dist/bench/kappa-replay-bench.js --events 1000000 --kafka-events 1000000',
  startedAt: '2026-01-01T00:00:00.000Z',
  seconds: 100,
  ok: true,
  report: {
    peakRssBytes: 300 * 2 ** 20,
    embedded: { results: { inline: { events: 1_000_000, seconds: 5, rate: 200_000 } } },
    kafka: {
      events: 1_000_000,
      results: {
        one: { events: 1_000_000, seconds: 20, rate: 50_000 },
        two: { events: 1_000_000, seconds: 12.5, rate: 80_000 },
      },
      javaConsumerPerf: { 'nMsg.sec': 400_000, 'data.consumed.in.nMsg': 1_000_000 },
      peer: {
        eventsPerSec: 40_000,
        eventsPerSecFromFirstRecord: 50_000,
        seconds: 25,
        startupMs: 3000,
        events: 1_000_000,
        peakRssBytes: 500 * 2 ** 20,
      },
    },
  },
  error: null,
};

const results: BenchResults = {
  schema: 1,
  profile: 'short',
  profileSettings: PROFILES.short,
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:15:00.000Z',
  seconds: 900,
  command: 'npm run bench -- --profile short',
  note: 'a test',
  machine: {
    cpu: 'Test CPU',
    cores: 2,
    memoryGiB: 8,
    os: 'linux',
    node: 'v20',
    java: '17',
    kafka: '3.9.2',
    redis: '7',
    loadAverageBefore: [1, 1, 1],
    loadAverageAfter: [1, 1, 1],
  },
  infra: { brokers: '127.0.0.1:19092', redis: 'redis://127.0.0.1:16379' },
  runs: [
    loadRun('lambda', 'distributed', 50_000, 49_000, 1200),
    loadRun('lambda', 'distributed', 110_000, 90_000, 1500), // rate not reached
    loadRun('kappa', 'distributed', 50_000, 50_000, 6000), // p99 above the limit
    loadRun('kafka-streams', 'distributed', 50_000, 50_000, 800),
    replayRun,
  ],
  skipped: ['load kappa distributed: 110000 events/s (50000 not sustained)'],
};

describe('benchmark results → figures', () => {
  it('a step is sustained only with ≥ 95 % of the rate and p99 within the limit', () => {
    const rows = loadRows(results);
    expect(rows.map((r) => r.sustained)).toEqual([true, false, false, true]);
    expect(highestSustained(rows)).toEqual([
      { arch: 'lambda', mode: 'distributed', rate: 50_000 },
      { arch: 'kappa', mode: 'distributed', rate: null },
      { arch: 'kafka-streams', mode: 'distributed', rate: 50_000 },
    ]);
  });

  it('replay rows hold ours, the peer (from start and from its first record) and the ceiling', () => {
    const rows = replayRows(results);
    expect(rows.map((r) => [r.kind, r.eventsPerSec])).toEqual([
      ['embedded', 200_000],
      ['kafka', 50_000],
      ['kafka', 80_000],
      ['peer', 40_000],
      ['peer-steady', 50_000],
      ['ceiling', 400_000],
    ]);
  });

  it('ratios ours / peer use our best Kafka replay and the same load step', () => {
    const lines = peerRatios(results);
    expect(lines).toContain(
      'replay of 1,000,000 events from Kafka: ours 80,000 / Kafka Streams 40,000 events/s = 2.00 (both from start, group join included)',
    );
    expect(lines.some((l) => l.includes('first record 50,000 events/s = 1.60'))).toBe(true);
    expect(lines.some((l) => l.includes('ConsumerPerformance 400,000 events/s = 0.20'))).toBe(true);
    expect(lines.some((l) => l.startsWith('final-event latency at 50,000 events/s on Kafka: Lambda'))).toBe(
      true,
    );
    expect(lines.find((l) => l.includes('Lambda'))).toContain('p99 1200 / 800 ms = 1.50');
  });

  it('memory keeps the largest peak per component', () => {
    const mem = memoryRows(results);
    expect(mem.find((m) => m.component.startsWith('Kafka Streams peer, replay'))?.peakRssBytes).toBe(
      500 * 2 ** 20,
    );
  });

  it('BENCHMARKS.md names the command of every row and carries the note and the machine', () => {
    const file = join(dir, 'BENCHMARKS.md');
    writeReport(results, file, [join(dir, 'docs', 'images', 'bench-replay.png')]);
    const md = readFileSync(file, 'utf8');
    expect(md).toContain('> **Note:** a test');
    expect(md).toContain('| Test CPU | 2 | 8 GiB |');
    for (const run of results.runs) expect(md).toContain('`' + run.command + '`');
    expect(md).toContain('![replay rate against history size](docs/images/bench-replay.png)');
    expect(md).toContain('skipped: load kappa distributed');
  });

  it('one chart per part that has figures', () => {
    expect(chartSpecs(results).map((c) => c.name)).toEqual([
      'bench-load-latency',
      'bench-replay',
      'bench-memory',
    ]);
  });

  describe('with the Flink peer beside Kafka Streams', () => {
    const kafka = (replayRun.report!.kafka ?? {}) as Record<string, unknown>;
    const withFlink: BenchResults = {
      ...results,
      runs: [
        loadRun('lambda', 'distributed', 50_000, 49_000, 1200),
        loadRun('kafka-streams', 'distributed', 50_000, 50_000, 800),
        loadRun('flink', 'distributed', 50_000, 50_000, 600),
        {
          ...replayRun,
          report: {
            ...replayRun.report,
            kafka: {
              ...kafka,
              flinkPeer: {
                eventsPerSec: 100_000,
                eventsPerSecFromFirstRecord: 250_000,
                seconds: 10,
                startupMs: 6000,
                events: 1_000_000,
                peakRssBytes: 700 * 2 ** 20,
              },
            },
          },
        },
      ],
    };

    it('replay rows hold both peers, each from start and from its first record', () => {
      expect(replayRows(withFlink).map((r) => [r.kind, r.eventsPerSec])).toEqual([
        ['embedded', 200_000],
        ['kafka', 50_000],
        ['kafka', 80_000],
        ['peer', 40_000],
        ['peer-steady', 50_000],
        ['flink', 100_000],
        ['flink-steady', 250_000],
        ['ceiling', 400_000],
      ]);
    });

    it('ratios ours / Flink, and each peer as a share of ConsumerPerformance', () => {
      const lines = peerRatios(withFlink);
      expect(lines).toContain(
        'replay of 1,000,000 events from Kafka: ours 80,000 / Flink 100,000 events/s = 0.80 (both from start, job submission included)',
      );
      expect(lines.some((l) => l.includes('Flink from its first record 250,000 events/s = 0.32'))).toBe(true);
      expect(lines).toContain(
        'replay of 1,000,000 events from Kafka: Kafka Streams / ConsumerPerformance 40,000 / 400,000 events/s = 0.10 from start, 0.13 from its first record',
      );
      expect(lines).toContain(
        'replay of 1,000,000 events from Kafka: Flink / ConsumerPerformance 100,000 / 400,000 events/s = 0.25 from start, 0.63 from its first record',
      );
      expect(lines.find((l) => l.includes('Lambda') && l.includes('/ Flink;'))).toContain(
        'p99 1200 / 600 ms = 2.00',
      );
      expect(lines.find((l) => l.includes('Lambda') && l.includes('/ Kafka Streams;'))).toContain(
        'p99 1200 / 800 ms = 1.50',
      );
    });

    it('the Flink peer is labelled a peer on Kafka, with its own memory rows', () => {
      const flinkLoad = loadRows(withFlink).find((r) => r.arch === 'flink');
      expect(flinkLoad?.sustained).toBe(true);
      const mem = memoryRows(withFlink);
      expect(mem.find((m) => m.component === 'Flink peer, replay (JVM)')?.peakRssBytes).toBe(700 * 2 ** 20);
      expect(mem.find((m) => m.component === 'Flink peer, live (JVM)')?.peakRssBytes).toBe(100 * 2 ** 20);
    });
  });
});
