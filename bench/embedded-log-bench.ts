/**
 * Benchmark of the embedded event log (not a test):
 *   (a) append rate: YSB events in batches into a 4-partition topic, including the final fsync;
 *   (b) sequential read + JSON.parse rate in one thread over all partitions (counting views),
 *       once in the process that wrote the log and once after reopening it (first reads of a
 *       reopened log check every record's CRC);
 *   (c) recovery: time to reopen the data dir after `kill -9` of a child that was appending.
 *
 *   npm run build && node dist/bench/embedded-log-bench.js [--events N] [--rounds N] [--batch N]
 *       [--read-batch N] [--partitions N] [--dir DIR] [--json FILE]
 *
 * Each round appends the events into a fresh log and reads them back; the table shows the median
 * and the best round, by wall clock and per CPU-second (all threads), and the machine's load
 * average, since other work on the machine moves wall-clock figures.
 *   node --import tsx bench/embedded-log-bench.ts [...]           (from the sources)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../kernel/clock/system-clock.js';
import { openEmbeddedEventLog } from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { flags, requirePositiveIntegers, writeJson } from './bench-support.js';
import { TOPIC, type Args, appendThenKill, type Round, timed, runRound } from './lib/embedded-log-rounds.js';
import { fmt, median } from './lib/measure.js';

function parseArgs(argv: string[]): Args {
  const f = flags(
    { events: 1_000_000, batch: 10_000, partitions: 4, readBatch: 1000, rounds: 3, dir: '', json: '' },
    {
      about:
        'The embedded event log: append rate (with the final fsync), sequential read rate, and recovery time after kill -9 of an appending child.',
      flags: {
        events: '<events> YSB events appended per round',
        batch: '<records> records per append call',
        partitions: '<n> partitions of the topic',
        readBatch: '<records> records per read call',
        rounds: '<n> rounds (median and best are reported)',
        dir: '<dir> data directory (kept); none = a fresh temporary directory, removed at the end',
        json: '<file> also write the report as JSON to FILE',
      },
    },
    argv,
  );
  requirePositiveIntegers(f, ['events', 'batch', 'partitions', 'readBatch', 'rounds']);
  return { ...f, dir: f.dir || undefined, json: f.json || undefined };
}

/** YSB events: 7 string fields; ads from a pool of 1000 (100 campaigns × 10 ads in YSB). */
async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch} ${release()}`,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(
    `machine: ${machine.cpu} × ${machine.cores}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}, load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  const baseDir = args.dir ?? (await mkdtemp(join(tmpdir(), 'lkl-log-bench-')));
  let lastDir = '';
  let avgBytes = 0;
  console.log(`${args.rounds} rounds of ${fmt(args.events)} YSB events (generated before timing)...`);
  try {
    const rounds: Round[] = [];
    for (let r = 0; r < args.rounds; r++) {
      if (lastDir) await rm(lastDir, { recursive: true, force: true });
      lastDir = join(baseDir, `round-${r}`);
      const round = await runRound(lastDir, args);
      avgBytes = round.avgBytes;
      rounds.push(round);
      console.log(
        `round ${r + 1}/${args.rounds}: append ${fmt(round.appendEventsPerSec)}/s, read+parse ${fmt(round.readParseEventsPerSec)}/s, after reopen ${fmt(round.readParseAfterReopenEventsPerSec)}/s`,
      );
    }

    // (c) recovery after kill -9 of a child appending to the last round's log
    const childAcked = await appendThenKill(lastDir, args.partitions, 200_000);
    const reopen = await timed(() => openEmbeddedEventLog({ dataDir: lastDir, clock: systemClock }));
    const log = reopen.value;
    const recovered = (await log.offsets(TOPIC)).reduce((a, p) => a + p.end, 0);
    const recovery = log.recovery;
    await log.close();

    const pick = (f: (r: Round) => number): { median: number; best: number } => ({
      median: median(rounds.map(f)),
      best: Math.max(...rounds.map(f)),
    });
    const results = {
      events: args.events,
      rounds: args.rounds,
      batch: args.batch,
      readBatch: args.readBatch,
      partitions: args.partitions,
      avgEventBytes: avgBytes,
      logBytes: rounds[0]!.logBytes,
      appendEventsPerSec: pick((r) => r.appendEventsPerSec),
      appendCpuEventsPerSec: pick((r) => r.appendCpuEventsPerSec),
      readParseEventsPerSec: pick((r) => r.readParseEventsPerSec),
      readParseCpuEventsPerSec: pick((r) => r.readParseCpuEventsPerSec),
      readParseAfterReopenEventsPerSec: pick((r) => r.readParseAfterReopenEventsPerSec),
      readParseAfterReopenCpuEventsPerSec: pick((r) => r.readParseAfterReopenCpuEventsPerSec),
      parseOnlyEventsPerSec: pick((r) => r.parseOnlyEventsPerSec),
      views: rounds[0]!.views,
      recoveryMs: Math.round(reopen.ms * 10) / 10,
      recoveredRecords: recovered,
      childAckedRecords: childAcked,
      recoveryBytesScanned: recovery.bytesScanned,
      recoverySegments: recovery.segmentsScanned,
      tornTailsCut: recovery.truncations.length,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    };
    const rate = (x: { median: number; best: number }): string => `${fmt(x.median)} / ${fmt(x.best)}`;
    const rows: Array<[string, string, string]> = [
      ['figure', 'events/s median / best (wall)', 'events per CPU-second'],
      [
        '(a) append, batches of ' + fmt(args.batch) + ', incl. final fsync',
        rate(results.appendEventsPerSec),
        rate(results.appendCpuEventsPerSec),
      ],
      [
        `(b) read + JSON.parse, one thread, read(…, ${fmt(args.readBatch)})`,
        rate(results.readParseEventsPerSec),
        rate(results.readParseCpuEventsPerSec),
      ],
      [
        '(b) same, first read after reopen (CRCs)',
        rate(results.readParseAfterReopenEventsPerSec),
        rate(results.readParseAfterReopenCpuEventsPerSec),
      ],
      ['    ceiling: JSON.parse alone, no log', rate(results.parseOnlyEventsPerSec), ''],
      [
        '(c) reopen after kill -9 of an appender',
        `${results.recoveryMs} ms`,
        `${fmt(recovered)} records, ${recovery.segmentsScanned} segments, ${fmt(recovery.bytesScanned / 2 ** 20)} MiB scanned, ${recovery.truncations.length} torn tails cut`,
      ],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    console.log('');
    console.log(
      `${fmt(args.events)} YSB events of ${avgBytes} B on average, ${args.partitions} partitions, ${fmt(results.logBytes / 2 ** 20)} MiB of log; ${args.rounds} rounds; load average at end ${results.loadAverageAtEnd.join(' ')}`,
    );
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
    console.log('');
    const report = { bench: 'embedded-log', machine, results, perRound: rounds };
    console.log(JSON.stringify(report));
    if (args.json) writeJson(args.json, report);
  } finally {
    if (!args.dir) await rm(baseDir, { recursive: true, force: true });
    else if (lastDir) await rm(lastDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
