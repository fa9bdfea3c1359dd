/**
 * OpenAPI conformance of the running API, checked by an ecosystem tester: Portman turns the
 * document served at /docs/json into a Postman collection (contract tests on every operation,
 * fuzzing variations, stateful chains, unknown-id requests; test/fixtures/portman/README.md says
 * what each part checks) and runs it with newman against an embedded lab on a loopback port.
 * Every assertion must pass, no request may fail, and the run must cover every operation of the
 * document but GET /api/stream (SSE: the answer never ends, a request/response tester cannot
 * drive it; test/api-fuzz.test.ts skips it for the same reason).
 *
 * Portman is a devDependency: without it this test fails (it never skips).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../lab/create-lab.js';
import { loadConfig } from '../kernel/config/load-config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'portman');
const PORTMAN = join(ROOT, 'node_modules', '.bin', 'portman');
const TOKEN = 'conformance-token-0123456789abcdef';
/** Operations the run leaves out, with the reason. */
const EXCLUDED: Record<string, string> = {
  'GET /api/stream': 'Server-Sent Events: the answer never ends, so no request/response test can finish',
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface Spec {
  paths: Record<string, Record<string, unknown>>;
}
interface NewmanExecution {
  item: { name: string };
  request: { method: string; url: { path?: string[] } };
  response?: { code: number };
  requestError?: { message: string };
  assertions?: Array<{ assertion: string; error?: { message: string } }>;
}
interface NewmanReport {
  run: {
    stats: Record<string, { total: number; failed: number }>;
    executions: NewmanExecution[];
    failures: Array<{ error: { message: string }; source?: { name?: string } }>;
  };
}

/** The document's operations as "METHOD /path" (path templates as written: /api/x/{id}). */
function operations(spec: Spec): string[] {
  return Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => METHODS.includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/** Which document operation a concrete request hit (`/api/lambda/batch-runs/1` → `{id}`). */
function matchOperation(ops: string[], method: string, path: string): string | undefined {
  const exact = ops.find((o) => o === `${method} ${path}`);
  if (exact) return exact;
  return ops.find((o) => {
    const [m, p] = o.split(' ') as [string, string];
    if (m !== method) return false;
    const re = new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return re.test(path);
  });
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, output }));
  });
}

describe('OpenAPI conformance (Portman + newman against a running lab)', () => {
  let dir: string;
  let lab: Lab;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-conformance-'));
    lab = await createLab(
      loadConfig({
        env: {},
        overrides: {
          dataDir: join(dir, 'data'),
          server: { host: '127.0.0.1', port: 0, token: TOKEN, rateLimit: 0 },
          generator: { rate: 0 },
          batch: { intervalMs: 0 },
          // The chain replays, switches over and rolls back by itself: no automatic switchover,
          // and a replay of the (empty) log counts as caught up after 100 ms.
          kappa: { replayParallelism: 1, autoSwitchover: false, catchUpDwellMs: 100 },
        },
      }),
    );
    url = await lab.listen();
  }, 60_000);

  afterAll(async () => {
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every operation of the document answers as the document says', async () => {
    expect(existsSync(PORTMAN), `Portman is not installed (${PORTMAN}); run npm ci`).toBe(true);

    const spec = (await (await fetch(`${url}/docs/json`)).json()) as Spec;
    const all = operations(spec);
    for (const op of Object.keys(EXCLUDED)) expect(all, `${op} is in the document`).toContain(op);
    const covered = all.filter((op) => !(op in EXCLUDED));
    // Portman gets the document without the excluded operations.
    for (const op of Object.keys(EXCLUDED)) {
      const [method, path] = op.split(' ') as [string, string];
      delete spec.paths[path]![method.toLowerCase()];
      if (Object.keys(spec.paths[path]!).length === 0) delete spec.paths[path];
    }
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(spec));

    const config = JSON.parse(readFileSync(join(FIXTURES, 'portman-config.json'), 'utf8')) as {
      globals: { collectionVariables: Record<string, string> };
      operationPreRequestScripts: Array<{ scripts: string[] }>;
    };
    config.globals.collectionVariables.bearerToken = TOKEN;
    for (const s of config.operationPreRequestScripts)
      s.scripts = s.scripts.map((x) => (x.startsWith('file:') ? `file:${join(FIXTURES, x.slice(5))}` : x));
    writeFileSync(join(dir, 'portman-config.json'), JSON.stringify(config));
    const reportFile = join(dir, 'newman-report.json');
    const newmanOptions = JSON.parse(readFileSync(join(FIXTURES, 'newman-options.json'), 'utf8')) as {
      reporter: { json: { export: string } };
    };
    newmanOptions.reporter.json.export = reportFile;
    writeFileSync(join(dir, 'newman-options.json'), JSON.stringify(newmanOptions));

    const result = await run(
      PORTMAN,
      [
        '--local',
        'openapi.json',
        '--baseUrl',
        url,
        '--portmanConfigFile',
        'portman-config.json',
        '--newmanOptionsFile',
        'newman-options.json',
        '--runNewman',
        '--syncPostman',
        'false',
        '--output',
        join(dir, 'collection.json'),
      ],
      dir,
    );
    expect(
      existsSync(reportFile),
      `newman wrote no report; Portman said:\n${result.output.slice(-4000)}`,
    ).toBe(true);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as NewmanReport;
    const { stats, executions, failures } = report.run;

    const hit = new Set<string>();
    const unmatched: string[] = [];
    for (const e of executions) {
      const method = e.request.method.toUpperCase();
      const path = `/${(e.request.url.path ?? []).join('/')}`;
      const op = matchOperation(covered, method, path);
      if (op) hit.add(op);
      else unmatched.push(`${method} ${path}`);
    }
    const requestErrors = executions.filter((e) => e.requestError || !e.response);
    const failed = executions.flatMap((e) =>
      (e.assertions ?? [])
        .filter((a) => a.error)
        .map((a) => `${e.item.name}: ${a.assertion}: ${a.error!.message}`),
    );
    console.log(
      `OpenAPI conformance: ${covered.length} operations (${Object.keys(EXCLUDED).length} excluded: ${Object.keys(EXCLUDED).join(', ')}), ${stats.requests!.total} requests, ${stats.assertions!.total} assertions, ${stats.assertions!.failed} failed, ${requestErrors.length} request errors`,
    );

    expect(failed, 'failed assertions').toEqual([]);
    expect(failures.map((f) => `${f.source?.name ?? ''}: ${f.error.message}`)).toEqual([]);
    expect(stats.assertions!.failed).toBe(0);
    expect(stats.assertions!.total).toBeGreaterThan(covered.length * 4);
    expect(requestErrors.map((e) => e.item.name)).toEqual([]);
    expect(stats.requests!.failed).toBe(0);
    expect(unmatched, 'requests to no operation of the document').toEqual([]);
    expect(
      covered.filter((op) => !hit.has(op)),
      'operations the run did not cover',
    ).toEqual([]);
  }, 180_000);
});
