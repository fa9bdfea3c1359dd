/**
 * Counting business logic: lines that carry logic (not blank, not comments) and a line diff.
 * Pure; maintenance-cost.ts feeds it the real logic files.
 */

export type LogicLanguage = 'sql' | 'ts';

/** The lines of a logic file that carry logic: blank lines and comments (SQL `--`; TS `//`, block and JSDoc comments) removed. */
export function logicLines(text: string, language: LogicLanguage): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of text.split(/\r?\n/)) {
    let line = raw;
    if (language === 'ts') {
      let kept = '';
      let i = 0;
      while (i < line.length) {
        if (inBlock) {
          const end = line.indexOf('*/', i);
          if (end < 0) {
            i = line.length;
            break;
          }
          inBlock = false;
          i = end + 2;
          continue;
        }
        const start = line.indexOf('/*', i);
        const lineComment = line.indexOf('//', i);
        if (lineComment >= 0 && (start < 0 || lineComment < start) && !inString(line, lineComment)) {
          kept += line.slice(i, lineComment);
          i = line.length;
          break;
        }
        if (start < 0 || inString(line, start)) {
          kept += line.slice(i);
          break;
        }
        kept += line.slice(i, start);
        inBlock = true;
        i = start + 2;
      }
      line = kept;
    } else {
      const dash = line.indexOf('--');
      if (dash >= 0 && !inString(line, dash)) line = line.slice(0, dash);
    }
    const t = line.trim();
    if (t !== '') out.push(t);
  }
  return out;
}

/** Whether position `at` of a line is inside a '…', "…" or `…` literal (single-line literals). */
function inString(line: string, at: number): boolean {
  let quote: string | undefined;
  for (let i = 0; i < at; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
  }
  return quote !== undefined;
}

/** Lines added + removed to turn `a` into `b` (a line diff: both lengths minus twice the longest common subsequence). */
export function linesChanged(a: readonly string[], b: readonly string[]): number {
  const n = a.length;
  const m = b.length;
  let prev = new Array<number>(m + 1).fill(0);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++)
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return n + m - 2 * prev[m]!;
}
