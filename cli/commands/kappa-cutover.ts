/** `lklab kappa cutover` and the cutover part of `lklab kappa switchover` (issue 17, item 3). */
import type { Command } from 'commander';
import { LabError } from '../../kernel/errors/lab-error.js';
import { CUTOVER_MODES, type CutoverMode, type CutoverReport } from '../../kappa-reprocessor/index.js';
import { callLab } from '../http-client.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** --mode: one of flip, overlap, gate. */
export function modeOption(value: string): CutoverMode {
  if ((CUTOVER_MODES as readonly string[]).includes(value)) return value as CutoverMode;
  throw new LabError('LKL_ERR_CLI_USAGE', `--mode takes one of ${CUTOVER_MODES.join(', ')}, got "${value}".`);
}

/** --at: the gate's cut-over event time, ISO 8601 or ms since the epoch. */
export function atOption(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isFinite(n) && n >= 0) return n;
  throw new LabError(
    'LKL_ERR_CLI_USAGE',
    `--at takes an event time (ISO 8601 such as 2026-12-04T19:00:00Z, or ms since the epoch), got "${value}".`,
  );
}

/** The last cutover as lines: mode, T, idle partitions, then per window lost and duplicated. */
export function describeCutover(r: CutoverReport | null, defaultMode: string): string {
  if (!r) return `no switchover yet (kappa.cutoverMode = ${defaultMode}).`;
  const lines = [
    `last cutover: ${r.mode}, job ${r.from ?? 'none'} → job ${r.to} at ${iso(r.switchedAt)}${r.at !== null ? `, T = ${iso(r.at)}` : ''}`,
    r.reason,
  ];
  if (!r.measured) return [...lines, `not counted: ${r.measuredReason}`].join('\n');
  lines.push(`lost ${r.lost}, duplicated ${r.duplicated} (${r.measuredReason})`);
  lines.push('window                    jobs      expected   served     lost  duplicated');
  for (const w of r.windows)
    lines.push(
      `${iso(w.window)}  ${w.jobs.join('+').padEnd(8)}  ${String(w.expected).padStart(8)}  ${String(w.served).padStart(7)}  ${String(w.lost).padStart(7)}  ${String(w.duplicated).padStart(10)}`,
    );
  return lines.join('\n');
}

export function registerCutoverCommand(kappa: Command, urlOption: readonly [string, string, string]): void {
  kappa
    .command('cutover')
    .description(
      "The last switchover's cutover (flip, overlap or gate; T and idle partitions) and, per closed window around it, the events readers lost and got twice, counted by the truth oracle.",
    )
    .option('--json', 'print JSON', false)
    .option(...urlOption)
    .action(async (opts: { json?: boolean; url: string }) => {
      const c = await callLab<{ defaultMode: string; last: CutoverReport | null }>(
        opts.url,
        '/api/kappa/cutover',
      );
      console.log(opts.json ? JSON.stringify(c, null, 2) : describeCutover(c.last, c.defaultMode));
    });
}
