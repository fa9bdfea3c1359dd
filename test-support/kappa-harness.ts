/**
 * Wiring for Kappa tests and benchmarks: a KappaReprocessor over a given log and store, YSB
 * catch-up streams appended in chunks, and answers read the way GET /api/views?arch=kappa reads them.
 */
import type { Clock } from '../kernel/clock/clock.js';
import { systemClock } from '../kernel/clock/system-clock.js';
import { DEFAULTS } from '../kernel/config/defaults.js';
import { AD_EVENTS_TOPIC, WINDOW_MS, type YsbEvent } from '../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import { buildReferenceData, type ReferenceData } from '../kernel/workload/reference-data.js';
import { YsbGenerator, type GeneratorKnobs } from '../kernel/workload/ysb-generator.js';
import {
  KappaReprocessor,
  type KappaReprocessorOptions,
  type KappaSettings,
  createReplayEngine,
} from '../kappa-reprocessor/index.js';
import { queryKappaViews } from '../query/kappa-query.js';
import { cellKey } from './recount.js';

export const T0 = 1_700_000_000_000;
export const ref: ReferenceData = buildReferenceData();

export interface KappaRig {
  log: EventLog;
  store: RealtimeStore;
  deadLetters: DeadLetterWriter;
  bus: LabEventBus;
  kappa: KappaReprocessor;
}

export function kappaSettings(over: Partial<KappaSettings> = {}): KappaSettings {
  return { ...DEFAULTS.kappa, ...over };
}

export async function startKappa(
  log: EventLog,
  store: RealtimeStore,
  topic: string,
  settings: KappaSettings,
  options: Partial<KappaReprocessorOptions> & { clock?: Clock; deadLetterTopic?: string } = {},
): Promise<KappaRig> {
  const clock = options.clock ?? systemClock;
  const deadLetters = new DeadLetterWriter(log, clock, options.deadLetterTopic ?? `${topic}-dead-letter`);
  await deadLetters.ensureTopic();
  const bus = new LabEventBus(10_000);
  const kappa = new KappaReprocessor(log, store, deadLetters, ref, clock, bus, {
    topic,
    settings,
    replayEngine: createReplayEngine,
    ...options,
  });
  await kappa.start();
  return { log, store, deadLetters, bus, kappa };
}

/** A deterministic YSB catch-up stream (event_time = start + n × 10 ms), lazily. */
export function* catchUpEvents(
  seed: number,
  n: number,
  startTime = T0,
  knobs: Partial<GeneratorKnobs> = {},
): Generator<YsbEvent> {
  const gen = new YsbGenerator(ref, { seed, mode: 'catch-up', rate: 0, startTime, knobs });
  for (let done = 0; done < n;) {
    const chunk = gen.take(Math.min(20_000, n - done));
    done += chunk.length;
    for (const r of chunk) if (r.event) yield r.event;
  }
}

/** Appends the same stream to the log, keyed by ad_id, in appends of `chunk` events (a segment rolls only between appends). */
export async function appendCatchUp(
  log: EventLog,
  topic: string,
  seed: number,
  n: number,
  startTime = T0,
  knobs: Partial<GeneratorKnobs> = {},
  chunkSize = 20_000,
): Promise<void> {
  const gen = new YsbGenerator(ref, { seed, mode: 'catch-up', rate: 0, startTime, knobs });
  for (let done = 0; done < n;) {
    const chunk = gen.take(Math.min(chunkSize, n - done));
    done += chunk.length;
    await log.append(
      topic,
      chunk.filter((r) => r.event).map((r) => ({ key: r.event!.ad_id, value: r.value })),
    );
  }
}

/** Appends a catch-up stream of n events to these partitions only (round robin): the others stay idle. */
export async function appendCatchUpTo(
  log: EventLog,
  seed: number,
  n: number,
  startTime: number,
  partitions: number[],
): Promise<void> {
  const gen = new YsbGenerator(ref, { seed, mode: 'catch-up', rate: 0, startTime });
  const recs = gen.take(n).filter((r) => r.event);
  await log.append(
    AD_EVENTS_TOPIC,
    recs.map((r, i) => ({
      key: r.event!.ad_id,
      value: r.value,
      partition: partitions[i % partitions.length]!,
    })),
  );
}

/** Event-time range [from, to) covering a catch-up stream of n events. */
export function catchUpRange(n: number, startTime = T0): { from: number; to: number } {
  return { from: startTime, to: Math.ceil((startTime + n * 10) / WINDOW_MS) * WINDOW_MS + WINDOW_MS };
}

export interface Served {
  values: Map<string, number>;
  jobs: Set<number>;
  logicVersions: Set<number>;
  sources: Set<string>;
}

/** What GET /api/views?arch=kappa answers, as cell → value. */
export async function servedKappa(
  store: RealtimeStore,
  metric: 'views' | 'distinct_users',
  from: number,
  to: number,
): Promise<Served> {
  const values = new Map<string, number>();
  const jobs = new Set<number>();
  const logicVersions = new Set<number>();
  const sources = new Set<string>();
  // The API caps one query at 10,000 windows; read in slices like a client would.
  const step = 5_000 * WINDOW_MS;
  for (let f = from; f < to; f += step) {
    const a = await queryKappaViews(
      { arch: 'kappa', metric, from: f, to: Math.min(to, f + step) },
      store,
      systemClock.now(),
    );
    for (const w of a.windows) {
      values.set(cellKey(w.campaign_id, w.window_start), w.value);
      jobs.add(w.version);
      logicVersions.add(w.logicVersion);
      sources.add(w.source);
    }
  }
  return { values, jobs, logicVersions, sources };
}
