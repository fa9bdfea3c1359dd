/**
 * The rounds of bench/embedded-log-bench.ts: YSB events to append, one timed round (append, read
 * and parse, read after a reopen, parse only) and the crash-recovery check (append, then kill).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../../kernel/clock/system-clock.js';
import type { AppendRecord } from '../../kernel/ports/event-log.js';
import {
  openEmbeddedEventLog,
  type EmbeddedEventLog,
} from '../../kernel/adapters/embedded-log/embedded-event-log.js';
import { timed as measure } from './measure.js';

export const AD_TYPES = ['banner', 'modal', 'sponsored-search', 'mail', 'mobile'] as const;
export const EVENT_TYPES = ['view', 'click', 'purchase'] as const;
export const TOPIC = 'ysb-bench';

export interface Args {
  events: number;
  batch: number;
  partitions: number;
  readBatch: number;
  rounds: number;
  dir: string | undefined;
  /** --json FILE: also write the report there. */
  json: string | undefined;
}

export function generateEvents(n: number): string[] {
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

export async function readAndParse(
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
export async function appendThenKill(dataDir: string, partitions: number, target: number): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromSources = import.meta.url.endsWith('.ts');
  const child = join(
    here,
    '..',
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

export interface Round {
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
export const fullGc = ((): (() => void) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
})();

/** Wall-clock and CPU time (all threads of the process) of `fn`, after a full GC. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  fullGc();
  return measure(fn);
}

/**
 * One round: generate the events (not timed), append them, drop them, read them back. The
 * generated events are released before reading so that the reader's heap is that of a consumer,
 * not one holding the producer's million strings (which makes every major GC slower).
 */
export async function runRound(dataDir: string, args: Args): Promise<Round & { avgBytes: number }> {
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
