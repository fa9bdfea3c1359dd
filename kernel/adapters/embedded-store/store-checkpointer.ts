/**
 * Checkpoints of the embedded realtime store: what changed since the last cut, the journal
 * generation and sizes that decide between a journal line and a whole snapshot, the chain
 * that writes them one after the other, and the restore from a snapshot plus its journal.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../clock/clock.js';
import { writeFileAtomic } from './atomic-file.js';
import {
  CHECKPOINT_FILE,
  JOURNAL_FILE,
  MIN_COMPACT_BYTES,
  appendDurably,
  applyJournalLine,
  journalLine,
  restoreSnapshot,
  snapshotFile,
  type CheckpointFile,
  type JournalLine,
  type StoreMaps,
} from './checkpoint-format.js';

export class StoreCheckpointer {
  private checkpointChain: Promise<void> = Promise.resolve();
  /** Clock time of the last completed checkpoint (undefined before the first). */
  lastCheckpointAt: number | undefined;
  /** Keys (hashes or sketches) and offset namespaces changed since the last checkpoint's cut. */
  dirtyKeys = new Set<string>();
  /** Per key, fields set or incremented since the last cut (journaled alone unless the key is in dirtyKeys). */
  dirtyFields = new Map<string, Set<string>>();
  dirtyOffsets = new Set<string>();
  /** Journal generation of the snapshot on disk; undefined = no snapshot written or restored yet. */
  private generation: number | undefined;
  private snapshotBytes = 0;
  private journalBytes = 0;
  /** Set when a checkpoint's write failed: the next one writes a whole snapshot. */
  private needSnapshot = false;

  constructor(
    private readonly state: StoreMaps,
    /** Directory of the files; undefined = memory only (write() is a no-op). */
    private readonly dir: string | undefined,
    private readonly clock: Clock,
  ) {}

  /** Restores a snapshot's content (used by openEmbeddedRealtimeStore). */
  restore(file: CheckpointFile): void {
    restoreSnapshot(this.state, file);
    this.lastCheckpointAt = file.savedAt;
    this.generation = file.journal ?? 0;
  }

  /** True when the journal read at open ended in a torn or unreadable line. */
  get journalTorn(): boolean {
    return this.journalBytes === Number.POSITIVE_INFINITY;
  }

  /**
   * Replays the journal lines of the restored snapshot's generation, in order; stops at a torn or
   * unreadable last line (a checkpoint that did not complete). Returns how many lines were applied.
   */
  replayJournal(text: string): number {
    let applied = 0;
    const lines = text.split('\n');
    this.journalBytes = text.length;
    // The last element is '' after a complete line; anything else there is a torn write, after
    // which nothing may be appended: the next checkpoint writes a snapshot.
    if (lines.at(-1) !== '') this.journalBytes = Number.POSITIVE_INFINITY;
    for (let i = 0; i < lines.length - 1; i++) {
      let line: JournalLine;
      try {
        line = JSON.parse(lines[i]!) as JournalLine;
      } catch {
        this.journalBytes = Number.POSITIVE_INFINITY;
        break;
      }
      if (line.g !== this.generation) continue; // left over from before the last snapshot
      applyJournalLine(this.state, line);
      this.lastCheckpointAt = line.at;
      applied++;
    }
    return applied;
  }

  /**
   * Cuts the state now and writes it: a journal line with what changed, or a whole snapshot
   * (when `compact`, after a failed write, before the first snapshot, or when the journal has
   * outgrown the snapshot).
   */
  write(compact = false): Promise<void> {
    const dir = this.dir;
    if (dir === undefined) return Promise.resolve();
    // Cut synchronously: a consistent state between two apply() calls.
    const savedAt = this.clock.now();
    const full =
      compact ||
      this.needSnapshot ||
      this.generation === undefined ||
      this.journalBytes > Math.max(MIN_COMPACT_BYTES, this.snapshotBytes);
    let write: () => Promise<void>;
    if (full) {
      const generation = (this.generation ?? 0) + 1;
      const text = JSON.stringify(snapshotFile(this.state, savedAt, generation));
      this.generation = generation;
      this.needSnapshot = false;
      this.snapshotBytes = text.length;
      this.journalBytes = 0;
      write = async () => {
        await writeFileAtomic(dir, CHECKPOINT_FILE, text);
        // The snapshot names the new generation: the old journal's lines are ignored from here on.
        await rm(join(dir, JOURNAL_FILE), { force: true });
      };
    } else {
      if (this.dirtyKeys.size === 0 && this.dirtyOffsets.size === 0 && this.dirtyFields.size === 0)
        return this.checkpointChain;
      const line = journalLine(
        this.state,
        this.generation!,
        savedAt,
        this.dirtyKeys,
        this.dirtyOffsets,
        this.dirtyFields,
      );
      const text = JSON.stringify(line) + '\n';
      this.journalBytes += text.length;
      write = () => appendDurably(join(dir, JOURNAL_FILE), text);
    }
    this.dirtyKeys = new Set();
    this.dirtyFields = new Map();
    this.dirtyOffsets = new Set();
    const run = this.checkpointChain.then(async () => {
      await write();
      this.lastCheckpointAt = savedAt;
    });
    // A failed write leaves the journal or the snapshot behind this cut: the next checkpoint
    // writes a whole snapshot, so nothing the failed one held is lost.
    this.checkpointChain = run.catch(() => {
      this.needSnapshot = true;
    });
    return run;
  }
}
