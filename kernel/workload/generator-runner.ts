import type { Clock } from '../clock/clock.js';
import { decodeEvent } from '../events/event-decoder.js';
import { AD_EVENTS_TOPIC } from '../events/ysb-event.js';
import type { DeadLetterWriter } from '../ingest/dead-letter.js';
import type { EventLog } from '../ports/event-log.js';
import type { ReferenceData } from './reference-data.js';
import { YsbGenerator, type GeneratorKnobs, type GeneratorMode } from './ysb-generator.js';

export interface GeneratorRunnerOptions {
  rate: number;
  mode: Exclude<GeneratorMode, 'catch-up'>;
  seed: number;
  tickMs: number;
  knobs: Partial<GeneratorKnobs>;
  topic?: string;
}

export interface GeneratorStats {
  running: boolean;
  rate: number;
  mode: string;
  produced: number;
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
    deadLettered: 0,
    appendErrors: 0,
    lastError: undefined as string | undefined,
  };
  private options: GeneratorRunnerOptions;

  constructor(
    private readonly log: EventLog,
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
    while (!signal.aborted) {
      const due = gen.until(this.clock.now(), 200_000);
      if (due.length > 0) {
        const valid: Array<{ key: string; value: string }> = [];
        const dead: Array<{ source: string; line: undefined; reason: string; raw: string }> = [];
        for (const r of due) {
          if (r.event) valid.push({ key: r.event.ad_id, value: r.value });
          else {
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
          // The log is down: keep the records and retry them on the next tick, in order.
          this.stats.appendErrors++;
          this.stats.lastError = (err as Error).message;
          gen.unshift(due);
        }
      }
      try {
        await this.clock.sleep(this.options.tickMs, signal);
      } catch {
        break;
      }
    }
  }
}
