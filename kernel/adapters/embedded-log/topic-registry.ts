/**
 * The open topics of the embedded log: opening them at start (after removing what interrupted
 * operations left behind), creating one once even when asked concurrently, and deleting one
 * through the trash directory so that a crash never leaves half a topic.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.js';
import { topicUnknownError } from './embedded-log-checks.js';
import type { RecoveryReport } from './embedded-log-options.js';
import type { LogInstrumentation } from './instrumentation.js';
import type { ChunkCache } from './read-cache.js';
import { Topic, type TopicOpenOptions } from './topic.js';
import type { TopicMetadata } from './topic-metadata.js';

/** Removes leftovers of interrupted operations; returns the entries of the log directory. */
export async function removeLeftovers(logDir: string): Promise<Dirent[]> {
  const entries = await readdir(logDir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name === '.trash' || e.name.startsWith('.creating-') || e.name.includes('.tmp-')) {
      await rm(join(logDir, e.name), { recursive: true, force: true });
    }
  }
  return entries;
}

export class TopicRegistry {
  private readonly topics = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<void>>();

  constructor(
    private readonly logDir: string,
    private readonly instrumentation: LogInstrumentation,
    private readonly cache: ChunkCache,
    private readonly topicOptions: TopicOpenOptions,
  ) {}

  /** Opens the topic of every (non-hidden) directory among `entries`, counting it in `recovery`. */
  async openAll(entries: Dirent[], recovery: RecoveryReport): Promise<void> {
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const topic = await Topic.open(
        join(this.logDir, e.name),
        e.name,
        this.instrumentation,
        this.cache,
        this.topicOptions,
        recovery,
      );
      this.topics.set(e.name, topic);
      recovery.topics++;
      recovery.partitions += topic.partitions.length;
    }
  }

  /** Creates the topic unless it exists or is being created (then waits for that creation). */
  ensure(topic: string, meta: TopicMetadata): Promise<void> {
    if (this.topics.has(topic)) return Promise.resolve();
    const pending = this.creating.get(topic);
    if (pending) return pending;
    const creation = (async () => {
      const dir = await Topic.create(this.logDir, meta, this.topicOptions.indexIntervalBytes);
      const opened = await Topic.open(dir, topic, this.instrumentation, this.cache, this.topicOptions, {
        segmentsScanned: 0,
        bytesScanned: 0,
        truncations: [],
      });
      this.topics.set(topic, opened);
    })().finally(() => this.creating.delete(topic));
    this.creating.set(topic, creation);
    return creation;
  }

  /** Closes the topic and deletes its files (LKL_ERR_LOG_TOPIC_UNKNOWN for an unknown one). */
  async remove(topic: string): Promise<void> {
    const t = this.get(topic);
    this.topics.delete(topic);
    await t.close();
    const trash = join(this.logDir, '.trash');
    await mkdir(trash, { recursive: true });
    const doomed = join(trash, `${topic}-${randomUUID().slice(0, 8)}`);
    await rename(t.dir, doomed);
    await fsyncDir(this.logDir);
    await rm(doomed, { recursive: true, force: true });
  }

  /** The open topic; LKL_ERR_LOG_TOPIC_UNKNOWN when there is none of that name. */
  get(name: string): Topic {
    const t = this.topics.get(name);
    if (!t) throw topicUnknownError(name);
    return t;
  }

  /** The open topics, in opening order. */
  all(): Topic[] {
    return [...this.topics.values()];
  }

  /** Waits until the creations under way have ended (well or not). */
  async settleCreations(): Promise<void> {
    await Promise.allSettled(this.creating.values());
  }
}
