import type { Clock } from '../clock/clock.js';
import { DEAD_LETTER_TOPIC } from '../events/ysb-event.js';
import type { EventLog } from '../ports/event-log.js';

/** One rejected record, as stored in the dead-letter topic. */
export interface DeadLetter {
  /** Where the record came from: "POST /api/events", "import events.jsonl", "generator", a layer name... */
  source: string;
  /** 1-based line number in the source, when it has lines. */
  line: number | undefined;
  reason: string;
  /** The record exactly as received (cut at 64 KiB). */
  raw: string;
  at: number;
}

const MAX_RAW = 64 * 1024;
const RING = 1000;

/** "field \"x\" must be..." → "field must be"; keeps counters readable. */
export function reasonClass(reason: string): string {
  return reason
    .replace(/"[^"]*"/g, '')
    .replace(/\d+/g, 'N')
    .replace(/\s+/g, ' ')
    .split(':')[0]!
    .trim()
    .slice(0, 80);
}

/** Appends rejected records, with their reason, to the dead-letter topic: nothing is dropped silently. */
export class DeadLetterWriter {
  private readonly ring: DeadLetter[] = [];
  private readonly byReason = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock,
    readonly topic = DEAD_LETTER_TOPIC,
  ) {}

  async ensureTopic(): Promise<void> {
    await this.log.ensureTopic(this.topic, { partitions: 1 });
  }

  async write(entries: Array<Omit<DeadLetter, 'at'>>): Promise<void> {
    if (entries.length === 0) return;
    const at = this.clock.now();
    const letters = entries.map((e): DeadLetter => ({
      ...e,
      raw: e.raw.length > MAX_RAW ? e.raw.slice(0, MAX_RAW) : e.raw,
      at,
    }));
    await this.log.append(
      this.topic,
      letters.map((l) => ({ value: JSON.stringify(l), partition: 0 })),
    );
    for (const l of letters) {
      this.total++;
      const cls = reasonClass(l.reason);
      this.byReason.set(cls, (this.byReason.get(cls) ?? 0) + 1);
      this.ring.push(l);
    }
    if (this.ring.length > RING) this.ring.splice(0, this.ring.length - RING);
  }

  /** The most recent dead letters written by this process, newest last. */
  recent(limit = 100): DeadLetter[] {
    return this.ring.slice(-limit);
  }

  /** Dead letters written by this process, per reason class (the text before the first ':' or quote). */
  counts(): { total: number; byReason: Record<string, number> } {
    return { total: this.total, byReason: Object.fromEntries(this.byReason) };
  }
}
