import type { Clock } from '../clock/clock.js';
import { decodeEvent, type DecodeLimits } from '../events/event-decoder.js';
import { AD_EVENTS_TOPIC } from '../events/ysb-event.js';
import type { EventLog } from '../ports/event-log.js';
import type { DeadLetterWriter } from './dead-letter.js';

export interface IngestSummary {
  accepted: number;
  rejected: number;
  /** The first rejections (up to 20), with their 1-based line number and reason. */
  rejections: Array<{ line: number; reason: string }>;
}

export interface IngestLimits {
  maxRecordBytes: number;
  maxFutureMs: number;
  knownAds: ReadonlySet<string> | undefined;
}

const APPEND_CHUNK = 10_000;
const SHOWN_REJECTIONS = 20;

/**
 * Validates external records and appends the valid ones to the ad-events topic; invalid ones go to
 * the dead-letter topic with their line and reason. Valid records are never dropped.
 */
export class IngestService {
  private totals = { accepted: 0, rejected: 0 };

  constructor(
    private readonly log: EventLog,
    private readonly deadLetters: DeadLetterWriter,
    private readonly clock: Clock,
    private readonly limits: IngestLimits,
    private readonly topic = AD_EVENTS_TOPIC,
  ) {}

  get counters(): { accepted: number; rejected: number } {
    return { ...this.totals };
  }

  /** Ingests raw records; `firstLine` numbers them (1-based) for error reports. */
  async ingestLines(lines: readonly string[], source: string, firstLine = 1): Promise<IngestSummary> {
    const decodeLimits: DecodeLimits = {
      maxRecordBytes: this.limits.maxRecordBytes,
      maxEventTimeMs: this.clock.now() + this.limits.maxFutureMs,
      ...(this.limits.knownAds ? { knownAds: this.limits.knownAds } : {}),
    };
    const summary: IngestSummary = { accepted: 0, rejected: 0, rejections: [] };
    let valid: Array<{ key: string; value: string }> = [];
    let dead: Array<{ source: string; line: number; reason: string; raw: string }> = [];
    const flush = async (): Promise<void> => {
      // Dead letters first: if the log fails mid-way, the caller gets an error and can retry the whole request.
      if (dead.length) await this.deadLetters.write(dead);
      if (valid.length) await this.log.append(this.topic, valid);
      valid = [];
      dead = [];
    };
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i] as string;
      if (raw.trim() === '') continue; // blank lines are not records
      const line = firstLine + i;
      const result = decodeEvent(raw, decodeLimits);
      if (result.ok) {
        valid.push({ key: result.event.ad_id, value: raw.trim() });
        summary.accepted++;
      } else {
        dead.push({ source, line, reason: result.reason, raw });
        summary.rejected++;
        if (summary.rejections.length < SHOWN_REJECTIONS)
          summary.rejections.push({ line, reason: result.reason });
      }
      if (valid.length + dead.length >= APPEND_CHUNK) await flush();
    }
    await flush();
    this.totals.accepted += summary.accepted;
    this.totals.rejected += summary.rejected;
    return summary;
  }

  /** Splits a request body: a JSON array of events, or NDJSON (one event per line). */
  static splitBody(body: string): { lines: string[]; format: 'json-array' | 'ndjson' } | { error: string } {
    const trimmed = body.trimStart();
    if (trimmed.startsWith('[')) {
      let arr: unknown;
      try {
        arr = JSON.parse(body);
      } catch (err) {
        return {
          error: `body starts with "[" but is not a valid JSON array (${(err as Error).message}); send a JSON array of events or NDJSON, one event per line`,
        };
      }
      if (!Array.isArray(arr)) return { error: 'body is not a JSON array' };
      return { lines: arr.map((item) => JSON.stringify(item) ?? 'undefined'), format: 'json-array' };
    }
    return { lines: body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), format: 'ndjson' };
  }
}
