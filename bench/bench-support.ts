import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, loadavg, release, totalmem } from 'node:os';

/** The machine a benchmark ran on, printed with every result. */
export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${release()}`,
    loadavg1m: Number(loadavg()[0]!.toFixed(2)),
  };
}

export function printMachine(): void {
  const m = machine();
  console.log(
    `machine: ${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, load ${m.loadavg1m}`,
  );
}

/** --name value flags into numbers/strings, with defaults. */
export function flags<T extends Record<string, number | string>>(
  defaults: T,
  argv = process.argv.slice(2),
): T {
  const out: Record<string, number | string> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const key = a.slice(2).replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
    if (!(key in defaults))
      throw new Error(
        `unknown flag ${a}; known: ${Object.keys(defaults)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    const v = argv[++i];
    out[key] = typeof defaults[key] === 'number' ? Number(v) : String(v);
    if (typeof defaults[key] === 'number' && !Number.isFinite(out[key]))
      throw new Error(`${a} takes a number`);
  }
  return out as T;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function table(rows: Array<Record<string, string | number>>): void {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(width[i]!)).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

/** Peak resident set size of this process so far (bytes), for "peak memory per component". */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** The machine-readable output mode of every bench script: `--json FILE` writes its report there. */
export function writeJson(file: string, report: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
}
