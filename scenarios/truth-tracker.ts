import { windowStart, type YsbEvent } from '../kernel/events/ysb-event.js';
import type { EventLog, LogConsumer } from '../kernel/ports/event-log.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import { waitUntil } from '../kernel/util/wait-until.js';

/** A (campaign, window) cell of the truth. */
export interface TruthCell {
  campaign: string;
  window: number;
  views: number;
  users: Set<string>;
}

export const cellKey = (campaign: string, window: number): string => `${campaign}|${window}`;

/**
 * The scenario runner's own truth oracle, independent of every layer under test: it reads each
 * event from the log as it arrives (so records retention drops later are still counted) and
 * recounts YSB's query for every logic version: v1 = YSB, v2 = YSB without bot users.
 */
export class TruthTracker {
  private consumer: LogConsumer | undefined;
  /** logic version → cell key → cell */
  private readonly cells = new Map<number, Map<string, TruthCell>>([
    [1, new Map()],
    [2, new Map()],
  ]);
  private readonly positions = new Map<number, number>();
  private readonly bots: Set<string>;
  events = 0;
  maxEventTime = 0;

  constructor(
    private readonly log: EventLog,
    private readonly topic: string,
    private readonly reference: ReferenceData,
    private readonly group: string,
  ) {
    this.bots = new Set(reference.bots);
  }

  async start(): Promise<void> {
    this.consumer = this.log.consumer({ group: this.group, topic: this.topic, start: 'earliest' });
    await this.consumer.run(async (batch) => {
      for (const r of batch.records) this.add(r.value);
      const last = batch.records.at(-1);
      if (last) this.positions.set(batch.partition, last.offset + 1);
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
    await this.log.deleteGroup(this.group).catch(() => undefined);
  }

  /** Waits (real time) until every record appended so far has been counted. */
  async drain(timeoutMs: number): Promise<void> {
    const ends = await this.log.offsets(this.topic);
    await waitUntil(
      () => !ends.some((p) => p.end > p.low && (this.positions.get(p.partition) ?? 0) < p.end),
      { what: "the scenario's truth oracle to read the log to its end", timeoutMs, intervalMs: 5 },
    );
  }

  /** The truth's cells for a logic version (only v1 and v2 exist). */
  cellsFor(logicVersion: number): Map<string, TruthCell> {
    return this.cells.get(logicVersion) ?? this.cells.get(1)!;
  }

  private add(value: string): void {
    let e: YsbEvent;
    try {
      e = JSON.parse(value) as YsbEvent;
    } catch {
      return;
    }
    if (typeof e !== 'object' || e === null || typeof e.event_time !== 'string') return;
    this.events++;
    const t = Number(e.event_time);
    if (t > this.maxEventTime) this.maxEventTime = t;
    if (e.event_type !== 'view') return;
    const campaign = this.reference.campaignOf.get(e.ad_id);
    if (!campaign) return;
    const w = windowStart(t);
    const key = cellKey(campaign, w);
    for (const [version, cells] of this.cells) {
      if (version === 2 && this.bots.has(e.user_id)) continue;
      let c = cells.get(key);
      if (!c) cells.set(key, (c = { campaign, window: w, views: 0, users: new Set() }));
      c.views++;
      c.users.add(e.user_id);
    }
  }
}
