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
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../kernel/clock/system-clock.js';
import type { AppendRecord } from '../kernel/ports/event-log.js';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../kernel/adapters/embedded-log/embedded-event-log.js';
import { flags, requirePositiveIntegers, writeJson } from './bench-support.js';

const AD_TYPES = ['banner', 'modal', 'sponsored-search', 'mail', 'mobile'] as const;
const EVENT_TYPES = ['view', 'click', 'purchase'] as const;
const TOPIC = 'ysb-bench';

interface Args {
  events: number;
  batch: number;
  partitions: number;
  readBatch: number;
  rounds: number;
  dir: string | undefined;
  /** --json FILE: also write the report there. */
  json: string | undefined;
}

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
function generateEvents(n: number): string[] {
  const ads = Array.from({ length: 1000 }, () => randomUUID());
  const start = 1_700_000_000_000;
  const events = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    events[i] = JSON.stringify({
      user_id: randomUUID(),
      page_id: randomUUID(),
      ad_id: ads[i % ads.length],
      ad_type: AD_TYPES[i % AD_TYPES.length],
      event_type: EVENT_TYPES[(i * 7) % EVENT_TYPES.length],
      event_time: String(start + i),
      ip_address: '1.2.3.4',
    });
  }
  return events;
}

async function readAndParse(
  log: EmbeddedEventLog,
  readBatch: number,
): Promise<{ events: number; views: number; ms: number }> {
  const t0 = performance.now();
  let events = 0;
  let views = 0;
  for (const { partition, low, end } of await log.offsets(TOPIC)) {
    let offset = low;
    while (offset < end) {
      const records = await log.read(TOPIC, partition, offset, readBatch);
      for (const r of records) {
        const e = JSON.parse(r.value) as { event_type: string };
        if (e.event_type === 'view') views++;
      }
      events += records.length;
      offset = records[records.length - 1]!.offset + 1;
    }
  }
  return { events, views, ms: performance.now() - t0 };
}

/** Runs the append-loop child on `dataDir`, kills it with SIGKILL once it has acknowledged `target` records. */
async function appendThenKill(dataDir: string, partitions: number, target: number): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromSources = import.meta.url.endsWith('.ts');
  const child = join(
    here,
    '..',
    'kernel',
    'adapters',
    'embedded-log',
    `append-loop-child.${fromSources ? 'ts' : 'js'}`,
  );
  const proc = spawn(
    process.execPath,
    [
      ...(fromSources ? ['--import', 'tsx'] : []),
      child,
      '--data-dir',
      dataDir,
      '--topic',
      TOPIC,
      '--partitions',
      String(partitions),
      '--batch',
      '10000',
      '--value-bytes',
      '240',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buffered = '';
  let start: number[] | undefined;
  const ends: number[] = [];
  const acked = (): number => (start ? ends.reduce((a, e, p) => a + e - start![p]!, 0) : 0);
  const exited = once(proc, 'exit');
  await new Promise<void>((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const ready = /^ready ([\d,]+)$/.exec(line);
        if (ready) {
          start = ready[1]!.split(',').map(Number);
          ends.push(...start);
        }
        const ack = /^ack (\d+) (\d+)$/.exec(line);
        if (ack) ends[Number(ack[1])] = Math.max(ends[Number(ack[1])] ?? 0, Number(ack[2]));
      }
      if (acked() >= target) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`append child exited early with code ${String(code)}`)));
  });
  proc.kill('SIGKILL');
  await exited; // reaped: the child's pid is dead, so its lock is stale
  return acked();
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

interface Round {
  appendEventsPerSec: number;
  appendCpuEventsPerSec: number;
  readParseEventsPerSec: number;
  readParseCpuEventsPerSec: number;
  readParseAfterReopenEventsPerSec: number;
  readParseAfterReopenCpuEventsPerSec: number;
  parseOnlyEventsPerSec: number;
  views: number;
  logBytes: number;
}

/**
 * A full garbage collection, so that a measured phase does not pay for the garbage of the one
 * before it (JMH calls System.gc() between iterations for the same reason). The bench runs without
 * --expose-gc, so gc is exposed at run time, the way node's own docs show for v8.setFlagsFromString.
 */
const fullGc = ((): (() => void) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
})();

/** Wall-clock and CPU time (all threads of the process) of `fn`, after a full GC. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  fullGc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * One round: generate the events (not timed), append them, drop them, read them back. The
 * generated events are released before reading so that the reader's heap is that of a consumer,
 * not one holding the producer's million strings (which makes every major GC slower).
 */
async function runRound(dataDir: string, args: Args): Promise<Round & { avgBytes: number }> {
  const perSec = (n: number, ms: number): number => Math.round(n / (ms / 1000));
  let events: string[] = generateEvents(args.events);
  const n = events.length;
  const avgBytes = Math.round(events.reduce((a, e) => a + e.length, 0) / n);
  const expectedViews = events.reduce((a, e) => a + (e.includes('"event_type":"view"') ? 1 : 0), 0);
  // The ceiling for (b): JSON.parse alone over the same strings, no log involved.
  const parseOnly = await timed(async () => {
    let views = 0;
    for (const e of events) if ((JSON.parse(e) as { event_type: string }).event_type === 'view') views++;
    return views;
  });
  if (parseOnly.value !== expectedViews) throw new Error('JSON.parse baseline miscounted views');
  const records: AppendRecord[] = events.map((value) => ({ value }));
  events = [];

  // (a) append, including the final fsync
  let log = await openEmbeddedEventLog({ dataDir, clock: systemClock });
  await log.ensureTopic(TOPIC, { partitions: args.partitions });
  const append = await timed(async () => {
    for (let i = 0; i < records.length; i += args.batch) {
      await log.append(TOPIC, records.slice(i, i + args.batch));
    }
    await log.flush();
  });
  records.length = 0;
  const storage = log.storage(TOPIC);
  const logBytes = storage.reduce((a, p) => a + p.bytes, 0);
  const appended = storage.reduce((a, p) => a + p.end - p.low, 0);
  if (appended !== n) throw new Error(`appended ${appended} records, expected ${n}`);

  // (b) read + parse in the writing process, then after a reopen (first reads check CRCs)
  const warm = await timed(() => readAndParse(log, args.readBatch));
  await log.close();
  log = await openEmbeddedEventLog({ dataDir, clock: systemClock });
  const cold = await timed(() => readAndParse(log, args.readBatch));
  await log.close();
  for (const r of [warm.value, cold.value]) {
    if (r.events !== n || r.views !== expectedViews) {
      throw new Error(`read ${r.events} events / ${r.views} views, expected ${n} / ${expectedViews}`);
    }
  }
  return {
    avgBytes,
    appendEventsPerSec: perSec(n, append.ms),
    appendCpuEventsPerSec: perSec(n, append.cpuMs),
    readParseEventsPerSec: perSec(n, warm.ms),
    readParseCpuEventsPerSec: perSec(n, warm.cpuMs),
    readParseAfterReopenEventsPerSec: perSec(n, cold.ms),
    readParseAfterReopenCpuEventsPerSec: perSec(n, cold.cpuMs),
    parseOnlyEventsPerSec: perSec(n, parseOnly.ms),
    views: warm.value.views,
    logBytes,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

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
