import { every } from '../kernel/clock/every.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Clock } from '../kernel/clock/clock.js';
import type { EventLog, LogConsumer, RecordBatch } from '../kernel/ports/event-log.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import { lateness, toTruthEvent, truthCellKey } from './truth-count.js';
import { TRUTH_LOGIC, truthLogicVersions, truthSqlCampaign, truthSqlPredicate } from './truth-logic.js';
import { waitUntil } from '../kernel/util/wait-until.js';
import { DUCKDB_ALLOCATOR_OPTIONS } from '../kernel/util/duckdb-allocator.js';

export interface TruthOracleOptions {
  topic: string;
  /** The oracle's own consumer group (it never shares offsets with a layer). */
  group: string;
  /** DuckDB database file; undefined = in memory (rebuilt from the log at every start). */
  path: string | undefined;
  /** Watermark = highest event time read in a partition − this (Kappa's kappa.maxOutOfOrderMs). */
  maxOutOfOrderMs: number;
  /** An event arriving this long after its window's end passed the watermark is "dropped" by an exact stream job. */
  allowedLatenessMs: number;
  /** Pending rows are appended to DuckDB at least this often (ms). */
  flushIntervalMs: number;
  /** DuckDB memory_limit (e.g. '256MB'); undefined = DuckDB's default (80 % of RAM). */
  memoryLimit?: string | undefined;
}

/** The exact answer of one (campaign, window) under every logic version the oracle knows. */
export interface TruthCell {
  campaign: string;
  window: number;
  /** logic version → views (0: the cell does not exist under that version) */
  views: Record<number, number>;
  /** logic version → exact distinct users */
  users: Record<number, number>;
  /** logic version → views that reached the log after their window was complete (watermark passed its end) */
  late: Record<number, number>;
  /** logic version → views that arrived later than the allowed lateness */
  dropped: Record<number, number>;
}

const MAX_PENDING_ROWS = 100_000;
/** Windows whose answers the oracle keeps between queries (~100 cells, ~35 KB each at YSB's 100 campaigns; the measurement's horizon is 30). */
const MAX_CACHED_WINDOWS = 128;

/**
 * The truth oracle: exact answers per (metric, campaign, window) from the full log. Its own consumer
 * group reads every record of the topic; view events are pre-aggregated per (ad, window, user,
 * lateness) and appended to a DuckDB table together with the offsets they cover, in one transaction
 * (exactly once across restarts). Answers are SQL over that table: a join to the campaigns, the
 * logic version's predicate (truth-logic.ts), SUM for views and COUNT(DISTINCT user) for users.
 * Which records are events, their window and lateness: truth-count.ts, shared with the scenarios.
 */
export class TruthOracle {
  private instance: DuckDBInstance | undefined;
  private conn: DuckDBConnection | undefined;
  private consumer: LogConsumer | undefined;
  private pending = new Map<string, number>();
  /** partition → next offset read (in memory, maybe not yet appended) */
  private readonly next = new Map<number, number>();
  /** partition → next offset appended to DuckDB */
  private readonly stored = new Map<number, number>();
  private readonly maxEventTime = new Map<number, number>();
  private readonly seeked = new Map<number, number>();
  private readonly windows = new Set<number>();
  /**
   * The answers of whole windows as last queried, dropped when a flush appends rows to them: the
   * measurement asks for the same closed windows every snapshot (its whole horizon), and a closed
   * window rarely changes (a dropped event), so each query reads only the windows that changed.
   */
  private readonly answered = new Map<number, TruthCell[]>();
  private chain: Promise<unknown> = Promise.resolve();
  private loop: Promise<void> | undefined;
  private abort = new AbortController();
  private running = false;
  readonly stats = { events: 0, views: 0, invalid: 0, late: 0, dropped: 0, flushes: 0, rows: 0 };
  lastError: string | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly reference: ReferenceData,
    private readonly clock: Clock,
    private readonly options: TruthOracleOptions,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    if (this.options.path) mkdirSync(dirname(this.options.path), { recursive: true });
    this.instance = await DuckDBInstance.create(this.options.path ?? ':memory:', {
      threads: '1',
      ...DUCKDB_ALLOCATOR_OPTIONS,
      ...(this.options.memoryLimit ? { memory_limit: this.options.memoryLimit } : {}),
    });
    const c = (this.conn = await this.instance.connect());
    await c.run(
      'CREATE TABLE IF NOT EXISTS partials (ad_id VARCHAR, window_start BIGINT, user_id VARCHAR, late BOOLEAN, dropped BOOLEAN, views INTEGER)',
    );
    await c.run(
      'CREATE TABLE IF NOT EXISTS positions (part INTEGER PRIMARY KEY, next BIGINT, max_event_time BIGINT)',
    );
    await c.run('CREATE OR REPLACE TABLE ads (ad_id VARCHAR PRIMARY KEY, campaign_id VARCHAR)');
    await c.run('CREATE OR REPLACE TABLE bots (user_id VARCHAR PRIMARY KEY)');
    const ads = await c.createAppender('ads');
    for (const a of this.reference.ads) {
      ads.appendVarchar(a.ad_id);
      ads.appendVarchar(a.campaign_id);
      ads.endRow();
    }
    ads.closeSync();
    const bots = await c.createAppender('bots');
    for (const b of new Set(this.reference.bots)) {
      bots.appendVarchar(b);
      bots.endRow();
    }
    bots.closeSync();
    await c.run('CREATE OR REPLACE TABLE moved_ads (ad_id VARCHAR PRIMARY KEY, campaign_id VARCHAR)');
    const moved = await c.createAppender('moved_ads');
    for (const [ad, campaign] of this.reference.movedAds) {
      moved.appendVarchar(ad);
      moved.appendVarchar(campaign);
      moved.endRow();
    }
    moved.closeSync();
    const pos = await c.runAndReadAll(
      'SELECT part::INTEGER, next::DOUBLE, max_event_time::DOUBLE FROM positions',
    );
    for (const [part, next, max] of pos.getRows() as Array<[number, number, number]>) {
      this.next.set(part, next);
      this.stored.set(part, next);
      this.maxEventTime.set(part, max);
    }
    const ws = await c.runAndReadAll('SELECT DISTINCT window_start::DOUBLE FROM partials');
    for (const [w] of ws.getRows() as Array<[number]>) this.windows.add(w);
    const stats = await c.runAndReadAll(
      'SELECT coalesce(sum(views), 0)::DOUBLE, count(*)::DOUBLE FROM partials',
    );
    const [views, rows] = stats.getRows()[0] as [number, number];
    this.stats.views = views;
    this.stats.rows = rows;

    this.consumer = this.log.consumer({
      group: this.options.group,
      topic: this.options.topic,
      start: 'earliest',
      maxBatchRecords: 10_000,
    });
    // Resume from what DuckDB holds (appended with its offsets in one transaction), not from the
    // group's committed offsets: exactly once across restarts, on any log.
    for (const p of await this.log.offsets(this.options.topic))
      this.consumer.seek(p.partition, this.next.get(p.partition) ?? 0);
    const consumer = this.consumer;
    await consumer.run((batch) => this.onBatch(consumer, batch));
    this.running = true;
    const abort = (this.abort = new AbortController());
    this.loop = every(
      this.clock,
      this.options.flushIntervalMs,
      abort.signal,
      () => this.flush(),
      (err) => (this.lastError = err.message),
    );
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    await this.loop;
    await this.consumer?.stop();
    await this.flush().catch((err: Error) => (this.lastError = err.message));
    await this.chain.catch(() => undefined);
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = undefined;
    this.instance = undefined;
  }

  /** Highest event time read (over all partitions); null before the first event. */
  watermark(): number | null {
    let max: number | null = null;
    for (const t of this.maxEventTime.values()) if (max === null || t > max) max = t;
    return max;
  }

  /** Highest event time read per partition (partitions with at least one event). */
  partitionEventTimes(): ReadonlyMap<number, number> {
    return this.maxEventTime;
  }

  /** Window starts the oracle has seen events for, ascending. */
  windowStarts(): number[] {
    return [...this.windows].sort((a, b) => a - b);
  }

  /** Next offset the oracle reads in a partition. */
  position(partition: number): number {
    return this.next.get(partition) ?? 0;
  }

  /** Records appended to the log that the oracle has not read yet. */
  async lag(): Promise<number> {
    const ends = await this.log.offsets(this.options.topic);
    return ends.reduce(
      (s, e) => s + Math.max(0, e.end - Math.max(e.low, this.next.get(e.partition) ?? 0)),
      0,
    );
  }

  /** Resolves once everything appended to the log before the call has been read and appended to DuckDB. */
  async sync(timeoutMs: number): Promise<void> {
    const ends = await this.log.offsets(this.options.topic);
    await waitUntil(() => !ends.some((e) => e.end > Math.max(e.low, this.next.get(e.partition) ?? 0)), {
      what: () => `the truth oracle to read the log up to its end (${this.lastError ?? 'no error'})`,
      timeoutMs,
      intervalMs: 10,
    });
    await this.flush();
  }

  private async onBatch(consumer: LogConsumer, batch: RecordBatch): Promise<void> {
    const p = batch.partition;
    const records = batch.records;
    if (records.length === 0) return;
    const expected = this.next.get(p) ?? 0;
    if (records[0]!.offset > expected && this.seeked.get(p) !== expected) {
      // The group's committed offset is ahead of what DuckDB holds (e.g. the database was removed):
      // go back once; a gap that stays is retention (records no longer in the log).
      this.seeked.set(p, expected);
      consumer.seek(p, expected);
      return;
    }
    let max = this.maxEventTime.get(p) ?? Number.NEGATIVE_INFINITY;
    const { maxOutOfOrderMs, allowedLatenessMs } = this.options;
    for (const r of records) {
      if (r.offset < expected) continue; // already in DuckDB (at-least-once delivery after a restart)
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.value);
      } catch {
        this.stats.invalid++;
        continue;
      }
      const e = toTruthEvent(parsed);
      if (!e) {
        this.stats.invalid++;
        continue;
      }
      this.stats.events++;
      const w = e.window;
      const { late, dropped } = lateness(w, max - maxOutOfOrderMs, allowedLatenessMs);
      if (e.time > max) max = e.time;
      if (e.type !== 'view') continue;
      if (late) this.stats.late++;
      if (dropped) this.stats.dropped++;
      this.windows.add(w);
      const key = `${e.adId}\u0001${w}\u0001${e.userId}\u0001${late ? 1 : 0}${dropped ? 1 : 0}`;
      this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    }
    if (Number.isFinite(max)) this.maxEventTime.set(p, max);
    this.next.set(p, Math.max(expected, records[records.length - 1]!.offset + 1));
    if (this.pending.size >= MAX_PENDING_ROWS) await this.flush();
  }

  /** Appends the pending rows and the offsets they cover in one DuckDB transaction. */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      const c = this.conn;
      if (!c) return;
      const changed = [...this.next].filter(([p, n]) => this.stored.get(p) !== n);
      if (this.pending.size === 0 && changed.length === 0) return;
      const pending = this.pending;
      const next = new Map(this.next);
      const maxTimes = new Map(this.maxEventTime);
      this.pending = new Map();
      try {
        await c.run('BEGIN TRANSACTION');
        const app = await c.createAppender('partials');
        let views = 0;
        const touched = new Set<string>();
        for (const [key, n] of pending) {
          const [ad, w, user, flags] = key.split('\u0001') as [string, string, string, string];
          touched.add(w);
          app.appendVarchar(ad);
          app.appendBigInt(BigInt(w));
          app.appendVarchar(user);
          app.appendBoolean(flags[0] === '1');
          app.appendBoolean(flags[1] === '1');
          app.appendInteger(n);
          app.endRow();
          views += n;
        }
        app.closeSync();
        const rows = [...next].map(([p, n]) => {
          const max = maxTimes.get(p);
          return `(${p}, ${n}, ${max !== undefined && Number.isFinite(max) ? max : 'NULL'})`;
        });
        if (rows.length > 0) await c.run(`INSERT OR REPLACE INTO positions VALUES ${rows.join(', ')}`);
        await c.run('COMMIT');
        for (const w of touched) this.answered.delete(Number(w));
        for (const [p, n] of next) this.stored.set(p, n);
        this.stats.views += views;
        this.stats.rows += pending.size;
        this.stats.flushes++;
        this.lastError = undefined;
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        for (const [k, n] of pending) this.pending.set(k, (this.pending.get(k) ?? 0) + n);
        this.lastError = (err as Error).message;
        throw err;
      }
      // The group's offsets in the log are for display (lag); DuckDB's positions are the cursor.
      await this.consumer
        ?.commit([...next].map(([partition, offset]) => ({ partition, offset })))
        .catch(() => undefined);
    });
  }

  /** Exact answers for every cell with a window in [from, to) under every logic version. */
  async cells(from: number, to: number, campaign?: string): Promise<Map<string, TruthCell>> {
    await this.flush();
    return this.exclusive(async () => {
      const out = new Map<string, TruthCell>();
      if (!this.conn) return out;
      if (campaign !== undefined) {
        for (const cell of await this.query(from, to, campaign))
          out.set(truthCellKey(cell.campaign, cell.window), cell);
        return out;
      }
      const windows = [...this.windows].filter((w) => w >= from && w < to).sort((a, b) => a - b);
      const missing = windows.filter((w) => !this.answered.has(w));
      if (missing.length > 0) {
        const lo = missing[0]!;
        const hi = missing.at(-1)! + 1;
        const byWindow = new Map<number, TruthCell[]>();
        for (const w of windows) if (w >= lo && w < hi) byWindow.set(w, []);
        for (const cell of await this.query(lo, hi, undefined)) byWindow.get(cell.window)?.push(cell);
        for (const [w, cells] of byWindow) {
          this.answered.delete(w);
          this.answered.set(w, cells);
        }
        while (this.answered.size > MAX_CACHED_WINDOWS)
          this.answered.delete(this.answered.keys().next().value!);
      }
      for (const w of windows)
        for (const cell of this.answered.get(w) ?? [])
          out.set(truthCellKey(cell.campaign, cell.window), cell);
      return out;
    });
  }

  /** The SQL behind cells(): every cell with a window in [from, to) (of one campaign, if given). */
  private async query(from: number, to: number, campaign: string | undefined): Promise<TruthCell[]> {
    const c = this.conn!;
    const out = new Map<string, TruthCell>();
    const versions = truthLogicVersions();
    // A join change (v3) gives a row another campaign: one query per join, versions that share
    // a join in the same query; a version without a row for a cell counts 0 there.
    const byJoin = new Map<string, number[]>();
    for (const v of versions) {
      const join = truthSqlCampaign(TRUTH_LOGIC.get(v)!);
      byJoin.set(join, [...(byJoin.get(join) ?? []), v]);
    }
    const cellOf = (campaign_: string, w: number): TruthCell => {
      const key = truthCellKey(campaign_, w);
      let cell = out.get(key);
      if (!cell) {
        const zero = (): Record<number, number> => Object.fromEntries(versions.map((v) => [v, 0]));
        cell = {
          campaign: campaign_,
          window: w,
          views: zero(),
          users: zero(),
          late: zero(),
          dropped: zero(),
        };
        out.set(key, cell);
      }
      return cell;
    };
    for (const [join, joined] of byJoin) {
      const cols = joined.flatMap((v) => {
        const pred = truthSqlPredicate(TRUTH_LOGIC.get(v)!);
        return [
          `coalesce(sum(p.views) FILTER (WHERE ${pred}), 0)::DOUBLE`,
          `count(DISTINCT p.user_id) FILTER (WHERE ${pred})::DOUBLE`,
          `coalesce(sum(p.views) FILTER (WHERE (${pred}) AND p.late), 0)::DOUBLE`,
          `coalesce(sum(p.views) FILTER (WHERE (${pred}) AND p.dropped), 0)::DOUBLE`,
        ];
      });
      const where = [
        `p.window_start >= ${Math.floor(from)}`,
        `p.window_start < ${Math.ceil(to)}`,
        ...(campaign ? [`${join} = '${campaign.replace(/'/g, "''")}'`] : []),
      ];
      const reader = await c.runAndReadAll(
        `SELECT ${join}, p.window_start::DOUBLE, ${cols.join(', ')}
         FROM partials p JOIN ads a ON a.ad_id = p.ad_id LEFT JOIN moved_ads m ON m.ad_id = p.ad_id
         WHERE ${where.join(' AND ')}
         GROUP BY ${join}, p.window_start`,
      );
      for (const row of reader.getRows()) {
        const cell = cellOf(String(row[0]), Number(row[1]));
        joined.forEach((v, i) => {
          cell.views[v] = Number(row[2 + 4 * i]);
          cell.users[v] = Number(row[3 + 4 * i]);
          cell.late[v] = Number(row[4 + 4 * i]);
          cell.dropped[v] = Number(row[5 + 4 * i]);
        });
      }
    }
    return [...out.values()];
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    // The chain waits for `run` without keeping its value: a query's answer (MBs of cells at a
    // 30-window horizon) is the caller's, and would otherwise stay reachable until the next call.
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
