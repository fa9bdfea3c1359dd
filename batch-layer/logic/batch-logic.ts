import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../kernel/util/project-root.js';

/**
 * Batch-layer business logic lives in SQL files, one per logic version (v1.sql = YSB, v2.sql = YSB
 * without bots), so it can be counted and diffed. Each is the MAP query over one split.
 */
const LOGIC_DIR = join(projectRoot(), 'batch-layer', 'logic') + '/';

export function batchLogicDir(): string {
  return LOGIC_DIR;
}

export function availableBatchLogicVersions(): number[] {
  return readdirSync(LOGIC_DIR)
    .map((f) => /^v(\d+)\.sql$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export function batchLogicSql(version: number): string {
  if (!availableBatchLogicVersions().includes(version)) {
    throw new RangeError(
      `batch logic v${version} does not exist; available: ${availableBatchLogicVersions()
        .map((v) => `v${v}`)
        .join(', ')}`,
    );
  }
  return readFileSync(`${LOGIC_DIR}v${version}.sql`, 'utf8');
}

/** The map query for one split: the logic file with its {{split}} placeholder filled. */
export function mapQuery(version: number, splitLiteral: string): string {
  return batchLogicSql(version)
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('--'))
    .join('\n')
    .replace('{{split}}', splitLiteral);
}
