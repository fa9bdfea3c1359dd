/**
 * BENCHMARKS.md from bench/results/latest.json: the machine, then one table per part, each row
 * naming the command that produced it, the ratios ours / peer, and the charts.
 */
import { writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import {
  ARCH_LABEL,
  modeLabel,
  highestSustained,
  loadRows,
  mapreduceRows,
  memoryRows,
  mib,
  peerRatios,
  replayRows,
  type BenchResults,
} from './bench-results.js';

const fmt = (n: number | null | undefined): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en');
const ms = (n: number | null): string => (n === null ? '—' : `${fmt(n)}`);
const code = (s: string): string => '`' + s.replace(/\|/g, '\\|') + '`';

function tableMd(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Writes the report; returns the ratio lines (also printed by run-all). */
export function writeReport(r: BenchResults, file: string, charts: string[]): string[] {
  const m = r.machine;
  const ratios = peerRatios(r);
  const chart = (name: string, alt: string): string[] => {
    const c = charts.find((x) => x.endsWith(`${name}.png`));
    return c ? ['', `![${alt}](${relative(dirname(file), c)})`] : [];
  };
  const L: string[] = [];
  L.push('# Benchmarks');
  L.push('');
  L.push(
    `Profile **${r.profile}**, run ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${fmt(r.seconds)} s in all (\`${r.command}\`). Machine-readable results: [bench/results/latest.json](bench/results/latest.json).`,
  );
  if (r.note) {
    L.push('');
    L.push(`> **Note:** ${r.note}`);
  }
  L.push('');
  L.push(
    "Reproduce: start the local stack (`npm run stack:up`, [docs/local-stack.md](docs/local-stack.md)), then `npm run bench` (short profile, ≈ 15 min on 2 cores) or `npm run bench -- --profile full` (YSB's eight load steps of 240 s, histories of 1 M, 10 M and 50 M events; hours). Each row names the command that produced it (after `npm run build`); `bench/run-all.ts` describes the parts, `bench/bench-results.ts` the profiles.",
  );
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push(
    ...tableMd(
      [
        'CPU',
        'cores',
        'memory',
        'OS',
        'Node',
        'Java',
        'Kafka (broker, Streams)',
        'Redis',
        'load average before / after',
      ],
      [
        [
          m.cpu,
          String(m.cores),
          `${m.memoryGiB} GiB`,
          m.os,
          m.node,
          m.java,
          m.kafka,
          m.redis,
          `${m.loadAverageBefore.join(' ')} / ${m.loadAverageAfter.join(' ')}`,
        ],
      ],
    ),
  );
  L.push('');
  L.push(
    'Kafka and Redis are the local stack on the same machine (one KRaft broker, one Redis), so every process of a row shares these cores with them.',
  );

  // ---- load steps
  const load = loadRows(r);
  L.push('');
  L.push('## YSB load steps: final-event latency');
  L.push('');
  L.push(
    `YSB's final-event latency (\`time_updated − window_start − 10 000\` ms) over the campaign windows that closed during the step, in ms. A step is **sustained** when ≥ 95 % of the target rate was produced and p99 ≤ ${fmt(r.profileSettings.load.p99LimitMs)} ms; an architecture stops climbing after its first step that is not. Steps of ${r.profileSettings.load.seconds} s. Lambda's latency is its speed layer's (the serving layer answers windows above the batch boundary from it); Kappa's is the live job's. Embedded: the generator in the same process; Kafka + Redis: two \`lklab produce\` processes feed the topic. A step of ${r.profileSettings.load.seconds} s closes only ${Math.max(0, Math.floor(r.profileSettings.load.seconds / 10) - 1)} or ${Math.floor(r.profileSettings.load.seconds / 10)} whole 10-s windows, and the 100 campaign windows of one window are flushed together, so p50 and p99 are often equal in short steps; YSB's 240-s steps close 23.`,
  );
  L.push('');
  L.push(
    ...tableMd(
      [
        'architecture',
        'mode',
        'target ev/s',
        'achieved ev/s',
        'windows',
        'p50',
        'p90',
        'p99',
        'sustained',
        'command',
      ],
      load.map((x) => [
        ARCH_LABEL[x.arch] ?? x.arch,
        modeLabel(x.arch, x.mode),
        fmt(x.targetRate),
        x.error ? `failed: ${x.error.split('\n')[0]!.slice(0, 80)}` : fmt(x.achievedRate),
        fmt(x.windows),
        ms(x.p50),
        ms(x.p90),
        ms(x.p99),
        x.sustained ? 'yes' : 'no',
        code(x.command),
      ]),
    ),
  );
  L.push('');
  L.push('Highest sustained rate:');
  L.push('');
  L.push(
    ...tableMd(
      ['architecture', 'mode', 'highest sustained step (events/s)'],
      highestSustained(load).map((h) => [
        ARCH_LABEL[h.arch] ?? h.arch,
        modeLabel(h.arch, h.mode),
        h.rate === null
          ? `none sustained (lowest step: ${fmt(r.profileSettings.load.rates[0]!)})`
          : fmt(h.rate),
      ]),
    ),
  );
  L.push(...chart('bench-load-latency', 'final-event latency p50 and p99 per load step'));
  L.push('');
  L.push(
    "For scale, the YSB repository's 2020 cluster runs (5 Kafka brokers, a 72-slot processing host) report p50 / p99 at 50 K events/s of 763 / 1220 ms (Flink 1.11) and 514 / 1199 ms (Storm 2.2) — see [docs/workload.md](docs/workload.md).",
  );

  // ---- replay
  const replay = replayRows(r);
  L.push('');
  L.push('## Kappa replay rate against history size');
  L.push('');
  L.push(
    "A replay job (logic v1, new consumer group and output table) from offset 0 until its checkpointed offsets pass the end of a YSB catch-up history; beside it on the same Kafka topic, in the same run, the YSB query as a Kafka Streams application ([bench/peers/kafka-streams-ysb](bench/peers/kafka-streams-ysb)) and as an Apache Flink job on a local MiniCluster ([bench/peers/flink-ysb](bench/peers/flink-ysb)), and Kafka's ConsumerPerformance (consumption alone: the ceiling).",
  );
  L.push('');
  L.push(
    ...tableMd(
      ['history (events)', 'what', 'events/s', 'seconds', 'command'],
      replay.map((x) => [
        fmt(x.events),
        x.what,
        fmt(x.eventsPerSec),
        x.seconds === null ? '—' : x.seconds.toFixed(1),
        code(x.command),
      ]),
    ),
  );
  L.push(...chart('bench-replay', 'replay rate against history size'));

  // ---- ratios
  L.push('');
  L.push('## Ours / peer');
  L.push('');
  if (ratios.length) for (const x of ratios) L.push(`- ${x}`);
  else L.push('- (no peer rows in this run)');

  // ---- ceiling
  const ceil = r.runs.find((x) => x.part === 'ceiling');
  if (ceil) {
    const c = (ceil.report?.results ?? {}) as Record<string, number>;
    L.push('');
    L.push('## Raw Kafka consumption: our adapter beside ConsumerPerformance');
    L.push('');
    L.push(
      ...tableMd(
        [
          'events',
          'ours: produce ev/s',
          'ours: consume + JSON.parse ev/s',
          'ConsumerPerformance ev/s',
          'ours / Java',
          'command',
        ],
        [
          [
            fmt(c.events),
            fmt(c.produceEventsPerSec),
            fmt(c.oursConsumeEventsPerSec),
            fmt(c.javaConsumerPerfEventsPerSec),
            c.ratio === undefined ? (ceil.error ? 'failed' : '—') : `${c.ratio} %`,
            code(ceil.command),
          ],
        ],
      ),
    );
  }

  // ---- mapreduce
  const mr = mapreduceRows(r);
  L.push('');
  L.push('## Batch MapReduce against history size, beside one plain DuckDB query');
  L.push('');
  L.push(
    'A full batch run (map per Parquet split → shuffle by key → reduce → publish a view) against one `GROUP BY` over the same Parquet files in the same process (median round).',
  );
  L.push('');
  L.push(
    ...tableMd(
      [
        'history (events)',
        'MapReduce ms',
        'map / shuffle / reduce / publish ms',
        'plain DuckDB ms',
        'ratio',
        'command',
      ],
      mr.map((x) => [
        fmt(x.events),
        fmt(x.mapreduceMs),
        x.phases,
        fmt(x.plainMs),
        (x.mapreduceMs / Math.max(1, x.plainMs)).toFixed(2),
        code(x.command),
      ]),
    ),
  );
  L.push(...chart('bench-mapreduce', 'MapReduce and plain DuckDB time against history size'));

  // ---- serving
  const sv = r.runs.find((x) => x.part === 'serving');
  if (sv) {
    const s = (sv.report?.result ?? {}) as Record<string, number>;
    L.push('');
    L.push('## Serving latency under load');
    L.push('');
    L.push(
      'An embedded lab with live YSB traffic and a published batch view; a separate process sends requests open-loop (timed from their scheduled start) of `GET /api/views?arch=lambda` over the last 5 minutes (both sides of the batch boundary), all campaigns and one campaign, in turn. Milliseconds.',
    );
    L.push('');
    L.push(
      ...tableMd(
        ['target req/s', 'achieved req/s', 'errors', 'p50', 'p90', 'p99', 'max', 'command'],
        [
          [
            fmt(r.profileSettings.serving.rate),
            sv.ok ? fmt(s.achievedRps) : 'failed',
            fmt((s.errors ?? 0) + (s.statusErrors ?? 0)),
            String(s.p50 ?? '—'),
            String(s.p90 ?? '—'),
            String(s.p99 ?? '—'),
            String(s.max ?? '—'),
            code(sv.command),
          ],
        ],
      ),
    );
  }

  // ---- embedded log
  const lg = r.runs.find((x) => x.part === 'log');
  if (lg) {
    const e = (lg.report?.results ?? {}) as Record<string, { median: number } | number>;
    const med = (k: string): string => fmt((e[k] as { median: number } | undefined)?.median);
    L.push('');
    L.push('## Embedded log');
    L.push('');
    L.push(
      ...tableMd(
        ['events', 'append ev/s', 'read + JSON.parse ev/s', 'JSON.parse alone ev/s', 'command'],
        [
          [
            fmt(e.events as number),
            med('appendEventsPerSec'),
            med('readParseEventsPerSec'),
            med('parseOnlyEventsPerSec'),
            code(lg.command),
          ],
        ],
      ),
    );
  }

  // ---- memory
  const mem = memoryRows(r);
  L.push('');
  L.push('## Peak memory per component');
  L.push('');
  L.push(
    'Peak resident set size of the process that ran the component (each bench script runs in its own process; the peer is its JVM, `-Xmx1g`). Embedded rows include the generator and the log in the same process.',
  );
  L.push('');
  L.push(
    ...tableMd(
      ['component', 'peak RSS', 'command'],
      mem.map((x) => [x.component, mib(x.peakRssBytes), code(x.command)]),
    ),
  );
  L.push(...chart('bench-memory', 'peak memory per component'));

  // ---- failures and skips
  const failed = r.runs.filter((x) => !x.ok);
  if (failed.length || r.skipped.length) {
    L.push('');
    L.push('## Not measured in this run');
    L.push('');
    for (const f of failed)
      L.push(
        `- ${f.label}: failed — ${code(f.error?.split('\n')[0]?.slice(0, 200) ?? '?')} (${code(f.command)})`,
      );
    for (const s of r.skipped) L.push(`- skipped: ${s}`);
  }
  L.push('');
  writeFileSync(file, L.join('\n'));
  return ratios;
}
