/**
 * What a Kappa job has computed since its last checkpoint: per (window, campaign) the views to
 * add and the users seen, plus counters and the records to dead-letter. Pure data + merge; the
 * job turns a delta into ONE atomic store update together with the consumed offsets
 * (kappa-tables.ts toStoreUpdate). Plain arrays/maps only, so a delta crosses a worker-thread
 * boundary as it is.
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

export const emptyCounters = (): DeltaCounters => ({ processed: 0, counted: 0, late: 0, dropped: 0, invalid: 0, slowPath: 0 });

export class CheckpointDelta {
  /** window start → campaign → cell. */
  readonly windows = new Map<number, Map<string, CellDelta>>();
  readonly counters: DeltaCounters = emptyCounters();
  readonly deadLetters: DeadLetterEntry[] = [];
  private lastWindow = Number.NaN;
  private lastCells: Map<string, CellDelta> | undefined;

  get isEmpty(): boolean {
    return this.windows.size === 0 && this.counters.processed === 0 && this.deadLetters.length === 0;
  }

  /** Adds one counted view of `user` for (window, campaign). */
  count(window: number, campaign: string, user: string): void {
    let cells = this.lastCells;
    if (window !== this.lastWindow || cells === undefined) {
      cells = this.windows.get(window);
      if (cells === undefined) this.windows.set(window, (cells = new Map()));
      this.lastWindow = window;
      this.lastCells = cells;
    }
    const cell = cells.get(campaign);
    if (cell === undefined) cells.set(campaign, { views: 1, users: new Set([user]) });
    else {
      cell.views++;
      cell.users.add(user);
    }
  }

  /** Folds `other` into this delta (used to put back a delta whose checkpoint failed). */
  merge(other: CheckpointDelta | SerializedDelta): void {
    const windows = other instanceof CheckpointDelta ? toEntries(other) : other.cells;
    for (const [w, campaign, views, users] of windows) {
      let cells = this.windows.get(w);
      if (!cells) this.windows.set(w, (cells = new Map()));
      const cell = cells.get(campaign);
      if (cell) {
        cell.views += views;
        for (const u of users) cell.users.add(u);
      } else cells.set(campaign, { views, users: new Set(users) });
    }
    this.lastCells = undefined;
    this.lastWindow = Number.NaN;
    const c = other.counters;
    for (const k of Object.keys(c) as Array<keyof DeltaCounters>) this.counters[k] += c[k];
    this.deadLetters.push(...other.deadLetters);
  }

  /** A structured-clone-friendly copy (worker → main thread). */
  serialize(): SerializedDelta {
    return { cells: toEntries(this), counters: { ...this.counters }, deadLetters: this.deadLetters };
  }

  static from(serialized: SerializedDelta): CheckpointDelta {
    const d = new CheckpointDelta();
    d.merge(serialized);
    return d;
  }
}

/** [window, campaign, views, users]. */
export type CellEntry = [number, string, number, string[]];

export interface SerializedDelta {
  cells: CellEntry[];
  counters: DeltaCounters;
  deadLetters: DeadLetterEntry[];
}

function toEntries(d: CheckpointDelta): CellEntry[] {
  const out: CellEntry[] = [];
  for (const [w, cells] of d.windows) for (const [c, cell] of cells) out.push([w, c, cell.views, [...cell.users]]);
  return out;
}
