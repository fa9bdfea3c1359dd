/**
 * One process per data directory: a lock file holding the owner's pid and host. The file is
 * written complete under a temp name and hard-linked into place (link fails when it exists),
 * so a reader never sees a half-written lock. A lock whose pid is dead on this host is taken over.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { LabError } from '../../errors/lab-error.js';

interface LockContent {
  pid: number;
  host: string;
}

export class DataDirLock {
  private constructor(readonly path: string) {}

  static async acquire(path: string): Promise<DataDirLock> {
    const mine: LockContent = { pid: process.pid, host: hostname() };
    const temp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
    await writeFile(temp, JSON.stringify(mine), { flush: true });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(temp, path);
          return new DataDirLock(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = await readLock(path);
        if (holder === undefined) continue; // released meanwhile: try again
        if (holder.host !== mine.host || isAlive(holder.pid)) {
          throw lockedError(path, holder);
        }
        // Stale: the owner died without releasing it.
        await rm(path, { force: true });
      }
      throw new LabError(
        'LKL_ERR_LOG_LOCKED',
        `Could not take the log lock ${path}; another process keeps taking it. Stop the other lab and retry.`,
        {
          details: { lockFile: path },
        },
      );
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Removes the lock if this process still holds it. */
  async release(): Promise<void> {
    const holder = await readLock(this.path);
    if (holder && holder.pid === process.pid && holder.host === hostname())
      await rm(this.path, { force: true });
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string')
      return { pid: parsed.pid, host: parsed.host };
  } catch {
    // fall through
  }
  throw new LabError(
    'LKL_ERR_LOG_LOCKED',
    `The log lock file ${path} is unreadable. If no lab uses this data directory, delete the file and retry.`,
    {
      details: { lockFile: path },
    },
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(path: string, holder: LockContent): LabError {
  const who =
    holder.pid === process.pid && holder.host === hostname()
      ? `this process (pid ${holder.pid}) through another open EmbeddedEventLog; share that instance or close it first`
      : `pid ${holder.pid} on host ${holder.host}; stop that process (or use another data directory) and retry`;
  return new LabError('LKL_ERR_LOG_LOCKED', `The embedded log at ${path} is locked by ${who}.`, {
    details: { lockFile: path, pid: holder.pid, host: holder.host },
  });
}
