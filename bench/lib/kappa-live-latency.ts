/**
 * Part (c) of the Kappa replay benchmark (bench/kappa-replay-bench.ts): the live job's YSB
 * final-event latency at a fixed generator rate.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openEmbeddedEventLog } from '../../kernel/adapters/embedded-log/embedded-event-log.js';
import { openEmbeddedRealtimeStore } from '../../kernel/adapters/embedded-store/embedded-realtime-store.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { DEFAULTS } from '../../kernel/config/defaults.js';
import { WINDOW_MS } from '../../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import { GeneratorRunner } from '../../kernel/workload/generator-runner.js';
import { KappaReprocessor, readKappaWindows } from '../../kappa-reprocessor/index.js';
import { type Args } from './kappa-replay-args.js';
import { ref, TOPIC, fmt, log } from './kappa-replay-runs.js';

/** Live job at a fixed generator rate: YSB final-event latency over campaign windows. */
export async function liveLatency(a: Args): Promise<Record<string, unknown>> {
  const dir = join(a.dir, `latency-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  const elog = await openEmbeddedEventLog({ dataDir: dir, clock: systemClock });
  const store = await openEmbeddedRealtimeStore({ clock: systemClock });
  try {
    await elog.ensureTopic(TOPIC, { partitions: a.partitions });
    const deadLetters = new DeadLetterWriter(elog, systemClock);
    await deadLetters.ensureTopic();
    const kappa = new KappaReprocessor(elog, store, deadLetters, ref, systemClock, new LabEventBus(), {
      topic: TOPIC,
      settings: { ...DEFAULTS.kappa },
    });
    await kappa.start();
    const gen = new GeneratorRunner(elog, deadLetters, ref, systemClock, {
      rate: a.latencyRate,
      mode: 'live',
      seed: 42,
      tickMs: 50,
      knobs: {},
    });
    const started = systemClock.now();
    log(
      `latency: generator at ${fmt(a.latencyRate)} events/s for ${a.latencySeconds} s into the embedded log, live job v1 (checkpoint every ${DEFAULTS.kappa.checkpointIntervalMs} ms)`,
    );
    gen.start();
    await new Promise((r) => setTimeout(r, a.latencySeconds * 1000));
    await gen.stop();
    const produced = gen.status.produced;
    await kappa.sync(1, 120_000);
    const stopped = systemClock.now();
    await kappa.stop();
    // Whole windows only: the first and the last are partial.
    const first = Math.ceil(started / WINDOW_MS) * WINDOW_MS;
    const last = Math.floor(stopped / WINDOW_MS) * WINDOW_MS - WINDOW_MS;
    const windows: number[] = [];
    for (let w = first; w < last; w += WINDOW_MS) windows.push(w);
    const samples = (await readKappaWindows(store, 1, windows, { distinct: false })).map(
      (c) => c.timeUpdated - c.window - WINDOW_MS,
    );
    samples.sort((x, y) => x - y);
    const q = (p: number): number =>
      samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? Number.NaN;
    return {
      rate: a.latencyRate,
      seconds: a.latencySeconds,
      produced,
      achievedRate: produced / a.latencySeconds,
      windows: samples.length,
      p50: q(0.5),
      p90: q(0.9),
      p99: q(0.99),
      max: samples.at(-1) ?? null,
    };
  } finally {
    await store.close();
    await elog.close();
    await rm(dir, { recursive: true, force: true });
  }
}
