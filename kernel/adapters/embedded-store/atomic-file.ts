/**
 * Whole-file replacement that survives a crash at any point: write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. A reader sees the old file
 * or the new one, never a torn one.
 */
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

const TEMP_MARK = '.tmp-';

export async function writeFileAtomic(dir: string, name: string, data: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const temp = join(dir, `${name}${TEMP_MARK}${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const fh = await open(temp, 'w');
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/** Removes temp files a crash left behind next to `name`. */
export async function removeStaleTemps(dir: string, name: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    entries.filter((e) => e.startsWith(`${name}${TEMP_MARK}`)).map((e) => rm(join(dir, e), { force: true })),
  );
}

async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  } finally {
    await fh?.close();
  }
}
