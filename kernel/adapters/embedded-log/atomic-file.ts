/**
 * Crash-safe small files: write a temp file, fsync it, rename it over the target, fsync the
 * directory. A reader sees the old content or the new one, never a mix.
 */
import { randomUUID } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const TEMP_MARK = '.tmp-';

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temp = `${path}${TEMP_MARK}${process.pid}-${randomUUID().slice(0, 8)}`;
  const fh = await open(temp, 'w');
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes temp files a crash left behind in `dir`. */
export async function removeStaleTempFiles(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.filter((n) => basename(n).includes(TEMP_MARK)).map((n) => rm(join(dir, n), { force: true })),
  );
}
