import type { EventLog, LogConsumer } from '../kernel/ports/event-log.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { toTruthEvent, TruthCounter, type CountedCell } from '../measurement/truth-count.js';

/** A (campaign, window) cell of the truth. */
export type TruthCell = CountedCell;

/**
 * The scenario runner's own truth, independent of every layer under test: it reads each event from
 * the log as it arrives (so records retention drops later are still counted) and counts YSB's query
 * with the truth oracle's counting (measurement/truth-count.ts) for every logic version the oracle
 * states (measurement/truth-logic.ts).
 */
export class TruthTracker {
  private consumer: LogConsumer | undefined;
  private readonly counter: TruthCounter;
  private readonly positions = new Map<number, number>();

  constructor(
    private readonly log: EventLog,
    private readonly topic: string,
    reference: ReferenceData,
    private readonly group: string,
  ) {
    this.counter = new TruthCounter(reference);
  }

  /** Events counted so far (every type). */
  get events(): number {
    return this.counter.events;
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

  /** The truth's cells for a logic version (the oldest version's for one the oracle does not state). */
  cellsFor(logicVersion: number): Map<string, TruthCell> {
    return this.counter.cells(logicVersion) ?? this.counter.cells(this.counter.versions()[0]!)!;
  }

  private add(value: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return;
    }
    const e = toTruthEvent(parsed);
    if (e) this.counter.add(e);
  }
}
