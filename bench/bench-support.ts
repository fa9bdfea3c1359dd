import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
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

export type FlagValue = number | string | boolean;

/** What `--help` prints for a script's flags (see `flags()`). */
export interface FlagHelp<T> {
  /** What the script does, one or two lines. */
  about?: string;
  /**
   * One description per flag, with its unit. A leading `<unit>` becomes the value's placeholder,
   * as in commander: `rate: '<events/s> generator rate'` prints `--rate <events/s>  generator rate`.
   */
  flags?: Partial<Record<keyof T & string, string>>;
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
const scriptName = (): string => basename(process.argv[1] ?? 'bench');

/**
 * Stops a bench script on a bad command line: one line on stderr naming the problem and pointing
 * at --help, exit code 2, no stack trace.
 */
export function usageError(message: string): never {
  console.error(
    `${scriptName()}: ${message} (see node ${relativeScript(process.argv[1] ?? scriptName())} --help)`,
  );
  process.exit(2);
}

/** The `--help` text of a script with these flags. */
export function flagsHelp<T extends Record<string, FlagValue>>(defaults: T, help: FlagHelp<T> = {}): string {
  const rows: Array<[string, string]> = Object.entries(defaults).map(([key, def]) => {
    let text = help.flags?.[key as keyof T & string] ?? '';
    let unit = typeof def === 'number' ? '<n>' : '<text>';
    const m = /^(<[^>]+>)\s*/.exec(text);
    if (m) {
      unit = m[1]!;
      text = text.slice(m[0].length);
    }
    const shown = def === '' ? 'none' : String(def);
    return [
      `--${kebab(key)}${typeof def === 'boolean' ? '' : ` ${unit}`}`,
      `${text}${text ? ' ' : ''}(default: ${shown})`,
    ];
  });
  rows.push(['--help', 'print this help and exit']);
  const width = Math.max(...rows.map(([f]) => f.length));
  return [
    `Usage: node ${process.argv[1] ? relativeScript(process.argv[1]) : 'bench-script.js'} [flags]`,
    ...(help.about ? ['', help.about] : []),
    '',
    'Flags:',
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
    '',
  ].join('\n');
}

function relativeScript(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/**
 * A bench script's command line: `--name value` (or `--name=value`) per key of `defaults`
 * (camelCase keys are kebab-case flags), numbers and strings parsed by their default's type,
 * booleans as switches. `--help` prints every flag with its description, unit and default and
 * exits 0; an unknown flag, a missing value or a bad number exits 2 with one line on stderr.
 */
export function flags<T extends Record<string, FlagValue>>(
  defaults: T,
  help: FlagHelp<T> = {},
  argv = process.argv.slice(2),
): T {
  const out: Record<string, FlagValue> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      process.stdout.write(flagsHelp(defaults, help));
      process.exit(0);
    }
    if (!a.startsWith('--')) usageError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const key = camel(name.slice(2));
    if (!Object.hasOwn(defaults, key)) usageError(`unknown flag ${name}`);
    const def = defaults[key];
    if (typeof def === 'boolean') {
      if (eq > 0) usageError(`${name} is a switch and takes no value`);
      out[key] = true;
      continue;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || (eq < 0 && v.startsWith('--'))) usageError(`${name} needs a value`);
    if (typeof def === 'number') {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) usageError(`${name} takes a number, got "${v}"`);
      out[key] = n;
    } else out[key] = v;
  }
  return out as T;
}

/** Stops with a usage error unless each of these flags is a whole number > 0. */
export function requirePositiveIntegers<T extends Record<string, FlagValue>>(
  args: T,
  keys: ReadonlyArray<keyof T & string>,
): void {
  for (const k of keys) {
    const n = args[k];
    if (!(typeof n === 'number' && Number.isInteger(n) && n > 0))
      usageError(`--${kebab(k)} takes a whole number > 0, got ${String(n)}`);
  }
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
