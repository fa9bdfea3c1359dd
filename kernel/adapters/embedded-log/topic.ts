/**
 * A topic: its metadata and one PartitionLog per partition. Chooses the partition of each
 * appended record and writes every partition's share of an append with one write call.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../errors/lab-error.js';
import type { AppendAck, AppendRecord, PartitionOffsets, TopicDescription } from '../../ports/event-log.js';
import { fsyncDir } from './atomic-file.js';
import type { LogInstrumentation } from './instrumentation.js';
import type { ChunkCache } from './read-cache.js';
import type { PartitionLogOptions, RecoveryStats } from './partition-context.js';
import { PartitionLog } from './partition-log.js';
import { RoundRobin, partitionForKey } from './partitioner.js';
import { RECORD_OVERHEAD_BYTES } from './record-codec.js';
import { readTopicMetadata, writeTopicMetadata, type TopicMetadata } from './topic-metadata.js';

export type TopicOpenOptions = Omit<PartitionLogOptions, 'segmentBytes'>;

export class Topic {
  private readonly roundRobin = new RoundRobin();

  private constructor(
    readonly meta: TopicMetadata,
    readonly dir: string,
    readonly partitions: PartitionLog[],
    private readonly maxRecordBytes: number,
  ) {}

  get name(): string {
    return this.meta.name;
  }

  /**
   * Creates the topic directory under a temp name (partition directories, first segments,
   * topic.json) and renames it into place, so a crash never leaves a half-made topic.
   */
  static async create(logDir: string, meta: TopicMetadata, indexIntervalBytes: number): Promise<string> {
    const temp = join(logDir, `.creating-${meta.name}-${randomUUID().slice(0, 8)}`);
    await mkdir(temp);
    for (let p = 0; p < meta.partitions; p++) {
      const pdir = join(temp, String(p));
      await mkdir(pdir);
      await PartitionLog.initialize(pdir, indexIntervalBytes);
      await fsyncDir(pdir);
    }
    await writeTopicMetadata(temp, meta);
    const dir = join(logDir, meta.name);
    await rename(temp, dir);
    await fsyncDir(logDir);
    return dir;
  }

  static async open(
    dir: string,
    name: string,
    instrumentation: LogInstrumentation,
    cache: ChunkCache,
    opts: TopicOpenOptions,
    stats: RecoveryStats,
  ): Promise<Topic> {
    const meta = await readTopicMetadata(dir, name);
    const partitions: PartitionLog[] = [];
    try {
      for (let p = 0; p < meta.partitions; p++) {
        partitions.push(
          await PartitionLog.open(
            join(dir, String(p)),
            { topic: name, partition: p, instrumentation, cache },
            { ...opts, segmentBytes: meta.segmentBytes },
            stats,
          ),
        );
      }
    } catch (err) {
      await Promise.all(partitions.map((p) => p.close()));
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LabError(
          'LKL_ERR_LOG_CORRUPT',
          `Topic ${name} is missing partition directory ${join(dir, String(partitions.length))}. Restore the data directory from a copy, or delete ${dir} to lose the topic.`,
          {
            cause: err,
            details: { topic: name, dir },
          },
        );
      }
      throw err;
    }
    return new Topic(meta, dir, partitions, opts.maxRecordBytes);
  }

  partition(p: number): PartitionLog {
    const log = Number.isInteger(p) ? this.partitions[p] : undefined;
    if (!log) {
      throw new LabError(
        'LKL_ERR_LOG_PARTITION_UNKNOWN',
        `Topic ${this.name} has no partition ${String(p)}; use 0 to ${this.partitions.length - 1}.`,
        { details: { topic: this.name, partition: p, partitions: this.partitions.length } },
      );
    }
    return log;
  }

  describe(): TopicDescription {
    return {
      name: this.name,
      partitions: this.meta.partitions,
      retentionMs: this.meta.retentionMs,
      retentionBytes: this.meta.retentionBytes,
    };
  }

  offsets(): PartitionOffsets[] {
    return this.partitions.map((p) => ({ partition: p.partition, low: p.low, end: p.end }));
  }

  /**
   * Validates every record first (nothing is written if one is invalid), groups them by
   * partition (explicit, else murmur2 of the key, else round-robin) and appends each group
   * with one write. Acks are sorted by partition.
   */
  async append(records: readonly AppendRecord[], now: number): Promise<AppendAck[]> {
    const n = this.partitions.length;
    const groups: AppendRecord[][] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      this.validate(r, i);
      const p = r.partition ?? (r.key != null ? partitionForKey(r.key, n) : this.roundRobin.pick(n));
      (groups[p] ??= []).push(r);
    }
    const pending: Array<Promise<AppendAck>> = [];
    for (let p = 0; p < n; p++) {
      const group = groups[p];
      if (group) pending.push(this.partitions[p]!.append(group, now).then((a) => ({ partition: p, ...a })));
    }
    return Promise.all(pending);
  }

  /** Throws LKL_ERR_LOG_INVALID_ARGUMENT (or PARTITION_UNKNOWN) for a malformed record. Hot path: no allocation. */
  private validate(r: AppendRecord, i: number): void {
    if (r === null || typeof r !== 'object') this.invalid(i, 'not an object');
    if (typeof r.value !== 'string') this.invalid(i, 'value must be a string');
    if (r.key != null && typeof r.key !== 'string') this.invalid(i, 'key must be a string or undefined');
    if (r.timestamp !== undefined && (!Number.isSafeInteger(r.timestamp) || r.timestamp < 0)) {
      this.invalid(i, 'timestamp must be a non-negative integer number of ms');
    }
    if (r.partition !== undefined) this.partition(r.partition);
    const worst = RECORD_OVERHEAD_BYTES + 3 * (r.value.length + (r.key?.length ?? 0));
    if (worst > this.maxRecordBytes) {
      const exact =
        RECORD_OVERHEAD_BYTES + Buffer.byteLength(r.value) + (r.key ? Buffer.byteLength(r.key) : 0);
      if (exact > this.maxRecordBytes) {
        this.invalid(i, `it takes ${exact} bytes, more than the ${this.maxRecordBytes} allowed`);
      }
    }
  }

  private invalid(i: number, why: string): never {
    throw new LabError(
      'LKL_ERR_LOG_INVALID_ARGUMENT',
      `Record ${i} appended to ${this.name} is invalid: ${why}. Nothing was appended.`,
      { details: { topic: this.name, index: i } },
    );
  }

  /** Waits for pending appends and fsyncs every partition. */
  async flush(): Promise<void> {
    await Promise.all(this.partitions.map((p) => p.flush()));
  }

  async syncIfDirty(): Promise<void> {
    await Promise.all(this.partitions.map((p) => p.syncIfDirty()));
  }

  async close(): Promise<void> {
    await Promise.all(this.partitions.map((p) => p.close()));
  }
}
