import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { MaintenanceFigures } from './measurement-api.js';
import { linesChanged, logicLines, type LogicLanguage } from './logic-lines.js';

/** Where one codebase of an architecture keeps its logic: files `v<N>.<ext>` in `dir`. */
export interface LogicCodebase {
  name: string;
  /** relative to the source root */
  dir: string;
  language: LogicLanguage;
}

/** The logic codebases of each architecture (STYLE.md: business logic lives where it can be counted). */
export const LOGIC_CODEBASES: Record<'lambda' | 'kappa', LogicCodebase[]> = {
  lambda: [
    { name: 'batch', dir: 'batch-layer/logic', language: 'sql' },
    { name: 'speed', dir: 'speed-layer/logic', language: 'ts' },
  ],
  kappa: [{ name: 'kappa', dir: 'kappa-reprocessor/logic', language: 'ts' }],
};

export interface LogicFile {
  path: string;
  language: LogicLanguage;
  lines: number;
  logicVersion: number;
  codebase: string;
  text: string[];
}

/** The logic files of a codebase as they are on disk now. */
export function readLogicFiles(root: string, cb: LogicCodebase): LogicFile[] {
  const dir = join(root, cb.dir);
  if (!existsSync(dir)) return [];
  const ext = cb.language === 'sql' ? 'sql' : 'ts';
  const out: LogicFile[] = [];
  for (const f of readdirSync(dir).sort()) {
    const m = new RegExp(`^v(\\d+)\\.${ext}$`).exec(f);
    if (!m) continue;
    const text = logicLines(readFileSync(join(dir, f), 'utf8'), cb.language);
    out.push({
      path: relative(root, join(dir, f)),
      language: cb.language,
      lines: text.length,
      logicVersion: Number(m[1]),
      codebase: cb.name,
      text,
    });
  }
  return out.sort((a, b) => a.logicVersion - b.logicVersion);
}

/** The code-derived part of an architecture's maintenance figures. */
export interface CodeFigures {
  implementations: number;
  logicFiles: MaintenanceFigures['logicFiles'];
  logicLines: number;
  linesChangedV1toV2: number;
  linesChanged: MaintenanceFigures['linesChanged'];
  currentLogic: Record<string, number>;
}

/**
 * Counts an architecture's business logic from its files: implementations = codebases holding at
 * least one logic file; logicLines = lines of the files of the version each codebase runs now;
 * linesChangedV1toV2 = Σ over codebases of lines added + removed between v1 and v2 (a line diff of
 * the logic lines: comments and blank lines do not count); linesChanged = the same per step vN → vN+1,
 * for every step some codebase has both files of.
 */
export function codeFigures(
  root: string,
  codebases: readonly LogicCodebase[],
  current: Record<string, number>,
): CodeFigures {
  let implementations = 0;
  let logicLinesTotal = 0;
  let changed = 0;
  const steps = new Map<number, number>();
  const files: MaintenanceFigures['logicFiles'] = [];
  for (const cb of codebases) {
    const fs = readLogicFiles(root, cb);
    if (fs.length > 0) implementations++;
    for (const f of fs)
      files.push({ path: f.path, language: f.language, lines: f.lines, logicVersion: f.logicVersion });
    const cur = fs.find((f) => f.logicVersion === current[cb.name]);
    logicLinesTotal += cur?.lines ?? 0;
    const v1 = fs.find((f) => f.logicVersion === 1);
    const v2 = fs.find((f) => f.logicVersion === 2);
    if (v1 && v2) changed += linesChanged(v1.text, v2.text);
    for (const f of fs) {
      const next = fs.find((g) => g.logicVersion === f.logicVersion + 1);
      if (next) steps.set(f.logicVersion, (steps.get(f.logicVersion) ?? 0) + linesChanged(f.text, next.text));
    }
  }
  return {
    implementations,
    logicFiles: files,
    logicLines: logicLinesTotal,
    linesChangedV1toV2: changed,
    linesChanged: [...steps]
      .sort(([a], [b]) => a - b)
      .map(([from, lines]) => ({ from, to: from + 1, lines })),
    currentLogic: { ...current },
  };
}

/** Bytes of the files under a path (0 when it does not exist). */
export function diskBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    try {
      total += e.isDirectory() ? diskBytes(p) : statSync(p).size;
    } catch {
      // removed while walking (a segment deleted by retention, a view pruned)
    }
  }
  return total;
}
