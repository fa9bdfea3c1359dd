/**
 * Committed offsets per (group, topic, partition), one JSON file per group under
 * `<log>/.groups/`, replaced atomically on every commit. Commits of one group that arrive while
 * a write is in flight are coalesced into the next write, so a busy consumer costs at most one
 * file write (+ fsync) at a time per group.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from '../../errors/lab-error.js';
import type { PartitionOffset } from '../../ports/event-log.js';
import { fsyncDir, removeStaleTempFiles, writeFileAtomic } from './atomic-file.js';

interface GroupFile {
  group: string;
  topics: Record<string, Record<string, number>>;
}

interface WriteState {
  inFlight: Promise<void> | undefined;
  queued: Promise<void> | undefined;
}

type GroupOffsets = Map<string, Map<number, number>>;

export class GroupOffsetStore {
  private readonly writes = new Map<string, WriteState>();

  private constructor(
    private readonly dir: string,
    private readonly groups: Map<string, GroupOffsets>,
  ) {}

  static async load(dir: string): Promise<GroupOffsetStore> {
    await mkdir(dir, { recursive: true });
    await removeStaleTempFiles(dir);
    const groups = new Map<string, GroupOffsets>();
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      let parsed: GroupFile;
      try {
        parsed = JSON.parse(await readFile(path, 'utf8')) as GroupFile;
        if (typeof parsed.group !== 'string' || typeof parsed.topics !== 'object' || parsed.topics === null) {
          throw new Error('missing "group" or "topics"');
        }
      } catch (err) {
        throw new LabError(
          'LKL_ERR_LOG_CORRUPT',
          `Consumer-group offsets file ${path} is unreadable (${(err as Error).message}). Delete it to forget that group's committed offsets, or restore it from a copy.`,
          { cause: err, details: { file: path } },
        );
      }
      const topics: GroupOffsets = new Map();
      for (const [topic, parts] of Object.entries(parsed.topics)) {
        topics.set(topic, new Map(Object.entries(parts).map(([p, o]) => [Number(p), o])));
      }
      groups.set(parsed.group, topics);
    }
    return new GroupOffsetStore(dir, groups);
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** Committed offsets of `group` for `topic` (partition → next offset to consume). */
  get(group: string, topic: string): ReadonlyMap<number, number> | undefined {
    return this.groups.get(group)?.get(topic);
  }

  /** Records the offsets and resolves once they are durable on disk. */
  commit(group: string, topic: string, offsets: readonly PartitionOffset[]): Promise<void> {
    let topics = this.groups.get(group);
    if (!topics) this.groups.set(group, (topics = new Map()));
    let parts = topics.get(topic);
    if (!parts) topics.set(topic, (parts = new Map()));
    for (const o of offsets) parts.set(o.partition, o.offset);
    return this.persist(group);
  }

  /** Forgets the group and deletes its file. */
  deleteGroup(group: string): Promise<void> {
    if (!this.groups.delete(group)) return this.writes.get(group)?.inFlight ?? Promise.resolve();
    return this.persist(group);
  }

  /** Forgets the topic's offsets in every group (the topic was deleted). */
  async dropTopic(topic: string): Promise<void> {
    const touched: string[] = [];
    for (const [group, topics] of this.groups) {
      if (topics.delete(topic)) {
        if (topics.size === 0) this.groups.delete(group);
        touched.push(group);
      }
    }
    await Promise.all(touched.map((g) => this.persist(g)));
  }

  /** Waits for every pending write. */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.writes.values()].flatMap((s) => [s.inFlight, s.queued]).map((p) => p?.catch(() => undefined)),
    );
  }

  private persist(group: string): Promise<void> {
    let st = this.writes.get(group);
    if (!st) this.writes.set(group, (st = { inFlight: undefined, queued: undefined }));
    const state = st;
    if (state.queued) return state.queued;
    if (state.inFlight) {
      state.queued = state.inFlight
        .catch(() => undefined)
        .then(() => {
          state.queued = undefined;
          return this.startWrite(group, state);
        });
      return state.queued;
    }
    return this.startWrite(group, state);
  }

  private startWrite(group: string, state: WriteState): Promise<void> {
    const write = this.writeNow(group).finally(() => {
      if (state.inFlight === write) state.inFlight = undefined;
    });
    state.inFlight = write;
    return write;
  }

  /** Writes the group's current offsets (a snapshot taken now), or deletes its file. */
  private async writeNow(group: string): Promise<void> {
    const path = join(this.dir, groupFileName(group));
    const topics = this.groups.get(group);
    if (!topics) {
      await rm(path, { force: true });
      await fsyncDir(this.dir);
      return;
    }
    const file: GroupFile = { group, topics: {} };
    for (const [topic, parts] of topics) {
      file.topics[topic] = Object.fromEntries(
        [...parts].sort((a, b) => a[0] - b[0]).map(([p, o]) => [String(p), o]),
      );
    }
    await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
  }
}

/** File name of a group: URI-encoded (dots too), or a hash for long names; the real name is inside. */
export function groupFileName(group: string): string {
  const encoded = encodeURIComponent(group).replace(/\./g, '%2E');
  if (encoded.length <= 200) return `${encoded}.json`;
  return `sha256-${createHash('sha256').update(group).digest('hex')}.json`;
}
