import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';
import { buildProgram, forEachCommand, run as runCli } from '../cli/main.js';
import { projectRoot } from '../kernel/util/project-root.js';

// Every command line people touch answers --help (exit 0) with each flag, its unit and its
// default, and an unknown flag with one line naming it and pointing at --help (exit 2, no stack
// trace). Runs the built scripts: `npm test` and `npm run test:full` build first.
const root = projectRoot();
const run = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function node(args: string[]): Promise<Ran> {
  try {
    const r = await run(process.execPath, args, { cwd: root, timeout: 60_000, env: { ...process.env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `lklab ...args` through cli/main.ts run(), capturing stdout/stderr and the exit code. */
async function inProcess(args: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  const before = process.exitCode;
  try {
    await runCli(['node', 'lklab', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = before;
  }
}

const squash = (s: string): string => s.replace(/\s+/g, ' ');
const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function expectOneLineUsageError(r: Ran, flag: string): void {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(flag);
  expect(lines[0]).toContain('--help');
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

// ---- bench scripts --------------------------------------------------------------------------

const benchDir = join(root, 'bench');
const sources = readdirSync(benchDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
const text = (f: string): string => readFileSync(join(benchDir, f), 'utf8');
/** A bench module imported by another one is a library (bench-support, the report, the peer); the rest are scripts. */
const libraries = new Set(
  sources.flatMap((f) => [...text(f).matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`)),
);
const scripts = sources.filter((f) => !libraries.has(f));

/** The flags a script declares: the keys of the object literal given to flags(), with literal defaults. */
function declaredFlags(file: string): Array<{ key: string; literal: string | undefined }> {
  const sf = ts.createSourceFile(file, text(file), ts.ScriptTarget.Latest, true);
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (n: ts.Node): void => {
    if (
      !found &&
      ts.isCallExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'flags' &&
      n.arguments[0] &&
      ts.isObjectLiteralExpression(n.arguments[0])
    )
      found = n.arguments[0];
    ts.forEachChild(n, visit);
  };
  visit(sf);
  if (!found) throw new Error(`bench/${file} does not parse its flags with flags() from bench-support.ts`);
  return found.properties.filter(ts.isPropertyAssignment).map((p) => {
    const key = p.name.getText(sf);
    const v = p.initializer;
    let literal: string | undefined;
    if (ts.isNumericLiteral(v)) literal = String(Number(v.text.replace(/_/g, '')));
    else if (ts.isStringLiteral(v)) literal = v.text === '' ? 'none' : v.text;
    else if (v.kind === ts.SyntaxKind.TrueKeyword || v.kind === ts.SyntaxKind.FalseKeyword)
      literal = v.getText(sf);
    return { key, literal };
  });
}

describe('bench scripts: --help and unknown flags', () => {
  it('finds the bench scripts (and the build)', () => {
    expect(scripts).toEqual(expect.arrayContaining(['mapreduce-bench.ts', 'run-all.ts', 'http-load.ts']));
    expect(scripts).not.toContain('bench-support.ts');
    expect(existsSync(join(root, 'dist', 'bench', 'run-all.js')), 'run `npm run build` first').toBe(true);
  });

  it.each(scripts)('%s --help lists every flag with a description and its default, exit 0', async (file) => {
    const declared = declaredFlags(file);
    expect(declared.length).toBeGreaterThan(0);
    const r = await node([join('dist', 'bench', file.replace(/\.ts$/, '.js')), '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: /);
    const lines = r.stdout.split('\n');
    for (const { key, literal } of declared) {
      const line = lines.find(
        (l) => l.trimStart().startsWith(`--${kebab(key)} `) || l.trim() === `--${kebab(key)}`,
      );
      expect(line, `--${kebab(key)} in the help of ${file}`).toBeDefined();
      // a description before the default
      expect(line!).toMatch(new RegExp(`--${kebab(key)}(?: <[^>]+>)?\\s{2,}\\S.*\\(default: `));
      if (literal !== undefined) expect(line!).toContain(`(default: ${literal})`);
      else expect(line!).toMatch(/\(default: \S/);
    }
  });

  it.each(scripts)('%s --no-such-flag: one line naming it, exit 2', async (file) => {
    const r = await node([join('dist', 'bench', file.replace(/\.ts$/, '.js')), '--no-such-flag', '1']);
    expectOneLineUsageError(r, '--no-such-flag');
  });
});

// ---- lklab ----------------------------------------------------------------------------------

const commands: Array<{
  path: string[];
  options: Array<{ flags: string; defaultValue: unknown; mandatory: boolean; description: string }>;
}> = [];
forEachCommand(buildProgram(), (cmd, path) =>
  commands.push({
    path: path.split(' ').slice(1),
    options: cmd.options
      .filter((o) => o.long !== '--version')
      .map((o) => ({
        flags: o.flags,
        defaultValue: o.defaultValue as unknown,
        mandatory: o.mandatory,
        description: o.description,
      })),
  }),
);

describe('lklab <command> --help and unknown flags', () => {
  it('walks every command', () => {
    const names = commands.map((c) => c.path.join(' '));
    expect(names).toEqual(expect.arrayContaining(['', 'start', 'kappa replay', 'scenario run', 'generate']));
    expect(commands.length).toBeGreaterThan(20);
  });

  it.each(commands.map((c) => [c.path.join(' ') || '(program)', c] as const))(
    'lklab %s --help lists every option with its default, exit 0',
    async (_name, c) => {
      const r = await node(['bin/lklab.js', ...c.path, '--help']);
      expect(r.code, r.stderr).toBe(0);
      const help = squash(r.stdout);
      expect(help).toContain(`Usage: lklab ${c.path.join(' ')}`.trim());
      for (const o of c.options) {
        expect(help).toContain(o.flags);
        if (o.defaultValue !== undefined)
          expect(help).toContain(`(default: ${JSON.stringify(o.defaultValue)})`);
        else if (o.mandatory) expect(o.description).toContain('(required)');
        else expect(o.description, `${o.flags} of lklab ${c.path.join(' ')}`).toMatch(/\(default: /);
      }
    },
  );

  // In process (each spawn loads the whole lab: ~1 s), through the same run() bin/lklab.js calls;
  // mandatory options are given so that the unknown flag is the only mistake.
  it.each(commands.map((c) => [c.path.join(' ') || '(program)', c] as const))(
    'lklab %s --no-such-flag: one line naming it, exit 2',
    async (_name, c) => {
      const given = c.options
        .filter((o) => o.mandatory)
        .flatMap((o) => [o.flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!, '1']);
      expectOneLineUsageError(await inProcess([...c.path, ...given, '--no-such-flag']), '--no-such-flag');
    },
  );

  it('the real binary: one line, exit 2', async () => {
    expectOneLineUsageError(
      await node(['bin/lklab.js', 'kappa', 'jobs', '--no-such-flag']),
      '--no-such-flag',
    );
  });

  it('an unknown command: one line naming it, exit 2', async () => {
    expectOneLineUsageError(await inProcess(['no-such-command']), 'no-such-command');
  });
});
