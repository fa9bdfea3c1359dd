import type { Clock } from '../clock/clock.js';
import { decodeEvent } from '../events/event-decoder.js';
import { AD_EVENTS_TOPIC } from '../events/ysb-event.js';
import type { DeadLetterWriter } from '../ingest/dead-letter.js';
import type { EventLog } from '../ports/event-log.js';
import type { ReferenceData } from './reference-data.js';
import {
  YsbGenerator,
  type GeneratedRecord,
  type GeneratorKnobs,
  type GeneratorMode,
} from './ysb-generator.js';

export interface GeneratorRunnerOptions {
  rate: number;
  mode: Exclude<GeneratorMode, 'catch-up'>;
  seed: number;
  tickMs: number;
  knobs: Partial<GeneratorKnobs>;
  topic?: string;
  /**
   * Most records appended in one go (default 4,000). While more are due, the runner yields to the
   * event loop between slices (setImmediate), so a generator that fell behind never holds the
   * thread the consumers run on for long.
   */
  sliceRecords?: number;
  /** Back-pressure: while `saturated()`, the runner appends nothing (kernel/ingest/lag-monitor.ts). */
  backpressure?: Backpressure;
  /**
   * How far (ms) the runner may fall behind its schedule — throttled or slower than the rate —
   * before it skips ahead to now; the events it skips are counted as `shed`, never appended, so
   * the event times it writes stay near the clock and latency stays bounded past capacity.
   * 0 = never skip (the backlog is appended when the log recovers). Default 0.
   */
  maxScheduleLagMs?: number;
}

/** What the generator asks before appending (kernel/ingest/lag-monitor.ts implements it). */
export interface Backpressure {
  saturated(): boolean;
  noteThrottled(): void;
}

export interface GeneratorStats {
  running: boolean;
  rate: number;
  mode: string;
  produced: number;
  /** Events/s appended over the last full second (0 when stopped). */
  achievedRate: number;
  /** Events skipped unproduced because the runner was throttled or fell behind (see maxScheduleLagMs). */
  shed: number;
  /** Ms the runner waited for the consumers (back-pressure) since start. */
  throttledMs: number;
  /** True while the consumers are too far behind and the runner waits. */
  throttled: boolean;
  deadLettered: number;
  appendErrors: number;
  lastError: string | undefined;
}

/**
 * Runs the YSB generator live: every tick it appends the events whose scheduled time has come.
 * If the log falls behind (or was down), the backlog is appended when it recovers, so the
 * stream stays exactly the seed's stream. Malformed records (a knob) go to the dead-letter topic.
 */
export class GeneratorRunner {
  private generator: YsbGenerator | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private stats = {
    produced: 0,
    achievedRate: 0,
    shed: 0,
    throttledMs: 0,
    throttled: false,
    deadLettered: 0,
    appendErrors: 0,
    lastError: undefined as string | undefined,
  };
  private options: GeneratorRunnerOptions;

  constructor(
    /** The log, or a producer pool in front of it (kernel/adapters/event-log-factory.ts). */
    private readonly log: Pick<EventLog, 'append'>,
    private readonly deadLetters: DeadLetterWriter,
    private readonly ref: ReferenceData,
    private readonly clock: Clock,
    options: GeneratorRunnerOptions,
  ) {
    this.options = { ...options };
  }

  get status(): GeneratorStats {
    return {
      running: this.loop !== undefined,
      rate: this.options.rate,
      mode: this.options.mode,
      ...this.stats,
    };
  }

  start(): void {
    if (this.loop || this.options.rate <= 0) return;
    this.generator = new YsbGenerator(this.ref, {
      seed: this.options.seed + this.stats.produced, // a restart with a new rate continues with a fresh, still seeded stream
      mode: this.options.mode,
      rate: this.options.rate,
      startTime: this.clock.now(),
      knobs: this.options.knobs,
    });
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    this.stats.achievedRate = 0;
    this.stats.throttled = false;
  }

  /** Changes the rate (0 stops the generator). */
  async setRate(rate: number): Promise<void> {
    await this.stop();
    this.options.rate = rate;
    this.start();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const topic = this.options.topic ?? AD_EVENTS_TOPIC;
    const gen = this.generator!;
    const slice = this.options.sliceRecords ?? 4000;
    const maxBehind = this.options.maxScheduleLagMs ?? 0;
    const bp = this.options.backpressure;
    let rateSince = this.clock.now();
    let rateFrom = this.stats.produced;
    while (!signal.aborted) {
      const now = this.clock.now();
      if (now - rateSince >= 1000) {
        this.stats.achievedRate = Math.round(((this.stats.produced - rateFrom) * 1000) / (now - rateSince));
        rateSince = now;
        rateFrom = this.stats.produced;
      }
      if (maxBehind > 0) this.stats.shed += gen.skipBehind(now - maxBehind);
      if (bp?.saturated()) {
        if (!this.stats.throttled) bp.noteThrottled();
        this.stats.throttled = true;
        const t0 = this.clock.now();
        try {
          await this.clock.sleep(this.options.tickMs, signal);
        } catch {
          break;
        }
        this.stats.throttledMs += this.clock.now() - t0;
        continue;
      }
      this.stats.throttled = false;
      const due = gen.until(now, slice);
      if (due.length > 0) {
        const valid: Array<{ key: string; value: string }> = [];
        /** Index in `due` of each valid record. */
        const validAt: number[] = [];
        const dead: Array<{ source: string; line: undefined; reason: string; raw: string }> = [];
        for (const r of due) {
          if (r.event) {
            validAt.push(valid.length + dead.length);
            valid.push({ key: r.event.ad_id, value: r.value });
          } else {
            const d = decodeEvent(r.value);
            dead.push({
              source: 'generator',
              line: undefined,
              reason: d.ok ? 'malformed' : d.reason,
              raw: r.value,
            });
          }
        }
        try {
          if (valid.length) await this.log.append(topic, valid);
          if (dead.length) await this.deadLetters.write(dead);
          this.stats.produced += valid.length;
          this.stats.deadLettered += dead.length;
          this.stats.lastError = undefined;
        } catch (err) {
          // The log is down: keep the records and retry them on the next tick, in order. A producer
          // pool may have written part of the append: it names the records it did not write.
          this.stats.appendErrors++;
          this.stats.lastError = (err as Error).message;
          const again = unwrittenOf(err, due, validAt);
          this.stats.produced += due.length - again.length; // written before the failure
          gen.unshift(again);
        }
      }
      if (due.length === slice && this.stats.lastError === undefined) {
        // More is due: let the consumers run, then go on without waiting a tick.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      try {
        await this.clock.sleep(this.options.tickMs, signal);
      } catch {
        break;
      }
    }
  }
}

/**
 * The records of a failed slice to append again: all of them, unless the error names the valid
 * records that were not written (`details.unwritten`, indexes into the append, from a producer
 * pool); then those and the malformed ones (dead letters are written after the append).
 */
function unwrittenOf(err: unknown, due: GeneratedRecord[], validAt: readonly number[]): GeneratedRecord[] {
  const unwritten = (err as { details?: { unwritten?: unknown } }).details?.unwritten;
  if (!Array.isArray(unwritten)) return due;
  const keep = new Set<number>();
  for (const i of unwritten as number[]) if (validAt[i] !== undefined) keep.add(validAt[i]);
  return due.filter((r, i) => r.event === undefined || keep.has(i));
}
