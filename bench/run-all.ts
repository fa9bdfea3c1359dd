/**
 * `npm run bench`: every benchmark of the lab in one run, each bench script in its own process
 * (so its peak memory is its component's), then bench/results/latest.json, BENCHMARKS.md and the
 * charts in docs/images/bench-*.png.
 *
 *   npm run bench                                  short profile (≈ 15 min on 2 cores; CI-sized)
 *   npm run bench -- --profile full                the real run (hours: 240 s per load step, 50 M events)
 *   node dist/bench/run-all.js [--profile short|full] [--only load,replay,...] [--skip ...]
 *       [--out bench/results/latest.json] [--markdown BENCHMARKS.md] [--images docs/images] [--note TEXT]
 *   node dist/bench/run-all.js --report-only      re-render BENCHMARKS.md and the charts from --out
 *
 * Parts (one script each; the table rows in BENCHMARKS.md name the exact command):
 *   load      YSB load steps per architecture and mode: speed-latency-bench.ts --arch lambda|kappa
 *             (embedded; Kafka + Redis), and --arch kafka-streams / --arch flink (the Java peers) on Kafka;
 *             stops climbing for an architecture/mode after the first step it does not sustain
 *   replay    Kappa replay rate against history size: kappa-replay-bench.ts per size, with the
 *             Kafka Streams and Flink peers and Kafka's ConsumerPerformance on the same topic
 *   ceiling   kafka-bench.ts: our Kafka consumer beside ConsumerPerformance (raw consumption ceiling)
 *   mapreduce batch MapReduce against history size beside one plain DuckDB query: mapreduce-bench.ts
 *   serving   serving latency under load: serving-bench.ts
 *   log       the embedded log's append and read rates: embedded-log-bench.ts
 *
 * The Kafka + Redis parts use KAFKA_BROKERS / REDIS_URL, or the local stack's addresses when
 * `scripts/stack/stack.sh status` says it is up (it is never started or stopped here); without
 * either they are skipped and say so. Topics get random names and are deleted at the end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { flags, usageError, writeJson } from './bench-support.js';
import { renderCharts } from './bench-charts.js';
import { writeReport } from './bench-report.js';
import { PROFILES, type BenchResults, type PartRun, type Profile } from './bench-results.js';
import {
  root,
  log,
  run,
  infra,
  describeMachine,
  setScriptTimeoutSeconds,
  ALL_PARTS,
  type Part,
  runScript,
  sustained,
} from './lib/run-all-processes.js';

export { sustained } from './lib/run-all-processes.js';

interface Args {
  profile: string;
  only: Part[];
  skip: Part[];
  out: string;
  markdown: string;
  images: string;
  note: string;
  reportOnly: boolean;
}

function parseArgs(argv: string[]): Args {
  const f = flags(
    {
      profile: 'short',
      only: ALL_PARTS.join(','),
      skip: '',
      out: join(root, 'bench', 'results', 'latest.json'),
      markdown: join(root, 'BENCHMARKS.md'),
      images: join(root, 'docs', 'images'),
      note: '',
      reportOnly: false,
    },
    {
      about:
        'Every benchmark of the lab, each script in its own process, then the results JSON, BENCHMARKS.md and the charts. Kafka + Redis parts use KAFKA_BROKERS/REDIS_URL or the local stack when it is up.',
      flags: {
        profile: `<${Object.keys(PROFILES).join('|')}> how big a run: short ≈ 15 min on 2 cores, full takes hours (bench/bench-results.ts)`,
        only: `<${ALL_PARTS.join(',')}> parts to run, comma-separated`,
        skip: '<parts> parts not to run, comma-separated',
        out: '<file> the results JSON',
        markdown: '<file> the Markdown report',
        images: '<dir> where the chart PNGs go',
        note: '<text> a note printed in the report',
        reportOnly: 're-render the report and charts from --out without running anything',
      },
    },
    argv,
  );
  const parts = (v: string): Part[] => {
    const list = v.split(',').filter(Boolean);
    for (const p of list)
      if (!(ALL_PARTS as readonly string[]).includes(p))
        usageError(`unknown part ${p}; parts: ${ALL_PARTS.join(',')}`);
    return list as Part[];
  };
  if (!(f.profile in PROFILES))
    usageError(`--profile ${f.profile}: use ${Object.keys(PROFILES).join(' or ')}`);
  return { ...f, only: parts(f.only), skip: parts(f.skip) };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.reportOnly) {
    const results = JSON.parse(readFileSync(a.out, 'utf8')) as BenchResults;
    await publish(results, a);
    return;
  }
  const profile: Profile = PROFILES[a.profile as keyof typeof PROFILES];
  setScriptTimeoutSeconds(profile.timeoutSeconds);
  const parts = a.only.filter((p) => !a.skip.includes(p));
  const t0 = performance.now();
  const machine = await describeMachine();
  const kafka = await infra();
  log(
    `profile ${a.profile}: ${parts.join(', ')}; ${machine.cores} × ${machine.cpu}, load average ${machine.loadAverageBefore.join(' ')}; Kafka + Redis: ${kafka ? `${kafka.brokers}, ${kafka.redis}` : 'not available (those rows are skipped)'}`,
  );
  const kenv = kafka ? { KAFKA_BROKERS: kafka.brokers, REDIS_URL: kafka.redis } : null;
  const runs: PartRun[] = [];
  const skipped: string[] = [];
  if (!kafka)
    skipped.push('every Kafka + Redis row: no KAFKA_BROKERS/REDIS_URL and the local stack is not up');

  if (parts.includes('replay') || parts.includes('load')) {
    if (kafka) {
      for (const peer of ['kafka-streams-ysb', 'flink-ysb']) {
        log(`building a peer (bench/peers/${peer}/peer.sh build)`);
        await run('bash', [join(root, 'bench', 'peers', peer, 'peer.sh'), 'build']);
      }
    }
  }

  if (parts.includes('load')) {
    const combos: Array<{ arch: string; mode: string }> = [
      { arch: 'lambda', mode: 'embedded' },
      { arch: 'kappa', mode: 'embedded' },
      ...(kafka
        ? [
            { arch: 'lambda', mode: 'distributed' },
            { arch: 'kappa', mode: 'distributed' },
            { arch: 'kafka-streams', mode: 'distributed' },
            { arch: 'flink', mode: 'distributed' },
          ]
        : []),
    ];
    for (const c of combos) {
      for (const rate of profile.load.rates) {
        const r = await runScript(
          'load',
          'speed-latency-bench',
          [
            '--arch',
            c.arch,
            '--mode',
            c.mode,
            '--rate',
            String(rate),
            '--seconds',
            String(profile.load.seconds),
          ],
          c.mode === 'distributed' ? kenv! : {},
          `load ${c.arch} ${c.mode} ${rate}/s`,
        );
        runs.push(r);
        if (!sustained(r.report, profile.load.p99LimitMs)) {
          const rest = profile.load.rates.filter((x) => x > rate);
          if (rest.length)
            skipped.push(`load ${c.arch} ${c.mode}: ${rest.join(', ')} events/s (${rate} not sustained)`);
          break;
        }
      }
    }
  }

  if (parts.includes('replay')) {
    for (const n of profile.replay.sizes) {
      const dir = mkdtempSync(join(tmpdir(), 'lkl-bench-replay-'));
      try {
        runs.push(
          await runScript(
            'replay',
            'kappa-replay-bench',
            [
              '--events',
              String(n),
              '--kafka-events',
              String(n),
              '--skip',
              kafka ? 'latency' : 'latency,kafka',
              '--engines',
              profile.replay.engines,
              '--peer',
              'kafka-streams,flink',
              '--dir',
              dir,
            ],
            kenv ?? {},
            `replay ${n.toLocaleString('en')} events`,
          ),
        );
        // The row's command shows a placeholder instead of this run's temp dir.
        runs.at(-1)!.command = runs.at(-1)!.command.replace(dir, '$(mktemp -d)');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  if (parts.includes('ceiling')) {
    if (kafka)
      runs.push(
        await runScript(
          'ceiling',
          'kafka-bench',
          [
            '--events',
            String(profile.ceiling.events),
            '--rounds',
            String(profile.ceiling.rounds),
            '--brokers',
            kafka.brokers,
          ],
          {},
          `ceiling ${profile.ceiling.events.toLocaleString('en')} events`,
        ),
      );
    else skipped.push('ceiling: needs Kafka');
  }

  if (parts.includes('mapreduce')) {
    for (const n of profile.mapreduce.sizes)
      runs.push(
        await runScript(
          'mapreduce',
          'mapreduce-bench',
          [
            '--events',
            String(n),
            '--splits',
            String(profile.mapreduce.splits),
            '--rounds',
            String(profile.mapreduce.rounds),
          ],
          {},
          `mapreduce ${n.toLocaleString('en')} events`,
        ),
      );
  }

  if (parts.includes('serving')) {
    runs.push(
      await runScript(
        'serving',
        'serving-bench',
        [
          '--rate',
          String(profile.serving.rate),
          '--seconds',
          String(profile.serving.seconds),
          '--warmup',
          String(profile.serving.warmup),
          '--event-rate',
          String(profile.serving.eventRate),
        ],
        {},
        `serving ${profile.serving.rate} requests/s`,
      ),
    );
  }

  if (parts.includes('log')) {
    runs.push(
      await runScript(
        'log',
        'embedded-log-bench',
        ['--events', String(profile.log.events), '--rounds', String(profile.log.rounds)],
        {},
        `embedded log ${profile.log.events.toLocaleString('en')} events`,
      ),
    );
  }

  machine.loadAverageAfter = loadavg().map((l) => Number(l.toFixed(2)));
  const results: BenchResults = {
    schema: 1,
    profile: a.profile,
    profileSettings: profile,
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    finishedAt: new Date().toISOString(),
    seconds: Math.round((performance.now() - t0) / 1000),
    command: `npm run bench -- --profile ${a.profile}`,
    note: a.note,
    machine,
    infra: kafka,
    runs,
    skipped,
  };
  writeJson(a.out, results);
  log(
    `results: ${relative(root, a.out)} (${results.seconds} s in all, ${runs.filter((r) => !r.ok).length} failed)`,
  );
  await publish(results, a);
  if (runs.some((r) => !r.ok)) process.exitCode = 1;
}

async function publish(results: BenchResults, a: Args): Promise<void> {
  const charts = await renderCharts(results, a.images).catch((err: Error) => {
    log(`charts not rendered: ${err.message}`);
    return [] as string[];
  });
  const summary = writeReport(results, a.markdown, charts);
  log(
    `report: ${relative(root, a.markdown)}; charts: ${charts.map((c) => relative(root, c)).join(', ') || 'none'}`,
  );
  for (const line of summary) log(line);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
