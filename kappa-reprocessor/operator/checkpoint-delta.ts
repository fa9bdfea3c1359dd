/**
 * What a Kappa job has computed since its last checkpoint, per partition: per (window, campaign)
 * the views to add and the users seen, counters, and the records to dead-letter. A partition
 * processor aggregates into a CheckpointDelta and hands it over ENCODED (EncodedDelta): one JSON
 * payload per window, so a checkpoint writes one store field per (window, partition) instead of
 * one per (campaign, user) — and worker threads do that encoding off the main thread.
 * Pure data; plain arrays and strings cross a worker-thread boundary as they are.
 */

export interface CellDelta {
  views: number;
  users: Set<string>;
}

export interface DeadLetterEntry {
  partition: number;
  offset: number;
  reason: string;
  raw: string;
}

export interface DeltaCounters {
  /** Records consumed (valid or not). */
  processed: number;
  /** Records counted by the logic (on time or late within the allowed lateness). */
  counted: number;
  /** Counted although their window had already passed the watermark (a revision). */
  late: number;
  /** Later than the allowed lateness: not counted, dead-lettered. */
  dropped: number;
  /** Not a valid YSB event: dead-lettered. */
  invalid: number;
  /** Parsed by the full decoder because they were not in YSB's canonical layout. */
  slowPath: number;
}

export const emptyCounters = (): DeltaCounters => ({
  processed: 0,
  counted: 0,
  late: 0,
  dropped: 0,
  invalid: 0,
  slowPath: 0,
});

export function addCounters(into: DeltaCounters, from: DeltaCounters): void {
  for (const k of Object.keys(from) as Array<keyof DeltaCounters>) into[k] += from[k];
}

/**
 * A window's delta as stored: JSON of [[campaign, views, [users not written before]], ...].
 * The store field holding it is `{"t":<time_updated>,"c":<payload>}` (kappa-tables.ts).
 */
export type WindowPayload = [campaign: string, views: number, users: string[]];

export interface EncodedDelta {
  /** [window start, JSON of WindowPayload[]]. */
  windows: Array<[number, string]>;
  counters: DeltaCounters;
  deadLetters: DeadLetterEntry[];
}

export const emptyEncodedDelta = (): EncodedDelta => ({
  windows: [],
  counters: emptyCounters(),
  deadLetters: [],
});

/** In-progress aggregation of one partition between two checkpoints. */
export class CheckpointDelta {
  /** window start → campaign → cell. */
  readonly windows = new Map<number, Map<string, CellDelta>>();
  readonly counters: DeltaCounters = emptyCounters();
  readonly deadLetters: DeadLetterEntry[] = [];
  private lastWindow = Number.NaN;
  private lastCells: Map<string, CellDelta> | undefined;

  /** Adds `views` counted views (default 1) of `user` for (window, campaign). */
  count(window: number, campaign: string, user: string, views = 1): void {
    let cells = this.lastCells;
    if (window !== this.lastWindow || cells === undefined) {
      cells = this.windows.get(window);
      if (cells === undefined) this.windows.set(window, (cells = new Map()));
      this.lastWindow = window;
      this.lastCells = cells;
    }
    const cell = cells.get(campaign);
    if (cell === undefined) cells.set(campaign, { views, users: new Set([user]) });
    else {
      cell.views += views;
      cell.users.add(user);
    }
  }

  /**
   * Encodes the delta; `fresh(window, campaign, user)` says whether a user still has to be written
   * for the cell (users already stored for it are left out — the union is exact either way).
   */
  encode(fresh: (window: number, campaign: string, user: string) => boolean): EncodedDelta {
    const windows: Array<[number, string]> = [];
    for (const [w, cells] of this.windows) {
      const payload: WindowPayload[] = [];
      for (const [campaign, cell] of cells) {
        const users: string[] = [];
        for (const u of cell.users) if (fresh(w, campaign, u)) users.push(u);
        payload.push([campaign, cell.views, users]);
      }
      windows.push([w, JSON.stringify(payload)]);
    }
    return { windows, counters: { ...this.counters }, deadLetters: this.deadLetters };
  }
}
