/** Sizes of the embedded log's files on disk (EventLog.localDiskBytes). */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of the files under `dir`, recursively; files removed while walking (retention) count 0. */
export async function directoryBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await directoryBytes(path);
    else
      total += await stat(path).then(
        (st) => st.size,
        () => 0,
      );
  }
  return total;
}
