import type { Command } from 'commander';
import { loadConfig } from '../../kernel/config/load-config.js';
import { findScenario, loadScenarios } from '../../scenarios/scenario-loader.js';
import { writeReports } from '../../scenarios/scenario-report.js';
import { CONFIG_FILE_HELP, intOption } from '../options.js';
import { runScenario, type ScenarioRunState } from '../../scenarios/scenario-runner.js';
import { callLab, DEFAULT_URL } from '../http-client.js';
import { exitOnSignals } from '../runtime/shutdown.js';
import { createLab } from '../../lab/create-lab.js';

const urlOption = ['--url <url>', 'lab URL', process.env.LKLAB_URL ?? DEFAULT_URL] as const;

/**
 * `lklab scenario list`, `lklab scenario run ID [--fast] [--report FILE] [--seed S]` (a lab of its
 * own, in this process), and for the runs a running lab started through its API:
 * `lklab scenario runs [--url]` and `lklab scenario cancel RUN_ID [--url]`.
 */
export function registerScenario(program: Command): void {
  const cmd = program.command('scenario').description('teaching scenarios (scenarios/*.yaml)');
  cmd
    .command('list')
    .description('the scenarios, with their goal')
    .option('--json', 'as JSON', false)
    .action((opts: { json?: boolean }) => {
      const all = loadScenarios();
      if (opts.json) {
        console.log(
          JSON.stringify(
            all.map((s) => ({ id: s.scenario.id, title: s.scenario.title })),
            null,
            2,
          ),
        );
        return;
      }
      for (const { scenario: s } of all) console.log(`${s.id.padEnd(24)} ${s.title} (${s.duration} s)`);
    });
  cmd
    .command('run <id>')
    .description('run a scenario in a lab of its own and check its expectations (exit code 1 when one fails)')
    .option(
      '--fast',
      'fast-forward on a virtual clock (deterministic for the seed) instead of real time',
      false,
    )
    .option(
      '--report <file>',
      'write FILE.json and FILE.html (self-contained page with charts and verdicts) (default: none)',
    )
    .option('--seed <n>', "seed of the event stream (default: the scenario file's seed)", intOption('--seed'))
    .option(
      '--metrics <source>',
      "auto (the lab's measurement service) or probe (the runner's own recount)",
      'auto',
    )
    .option(
      '--config <file>',
      `${CONFIG_FILE_HELP}: the base configuration (its Kafka/Redis make a live run distributed)`,
    )
    .action(
      async (
        id: string,
        opts: { fast?: boolean; report?: string; seed?: number; config?: string; metrics: string },
      ) => {
        const loaded = findScenario(id);
        const base = loadConfig(opts.config ? { file: opts.config } : {});
        // SIGTERM/SIGINT: the run's lab is closed and its temporary data removed, then exit 1.
        const abort = new AbortController();
        let running: Promise<unknown> = Promise.resolve();
        exitOnSignals({
          announce: `interrupting scenario run ${id} (closing its lab, removing its data)...`,
          stop: async () => {
            abort.abort(new Error('interrupted'));
            await running.catch(() => undefined);
          },
          timeoutMs: base.server.shutdownTimeoutMs,
          pending: () => `the lab of scenario run ${id}`,
          done: 'interrupted: no verdict.',
          doneCode: 1,
        });
        const run = runScenario(loaded, createLab, {
          signal: abort.signal,
          fast: opts.fast ?? false,
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          baseConfig: base,
          metricsSource: opts.metrics === 'probe' ? 'probe' : 'auto',
          onUpdate: (() => {
            let beats = 0;
            let actions = 0;
            return (st) => {
              for (const b of st.beats.slice(beats)) console.log(`[${b.t} s] ${b.text}`);
              beats = st.beats.length;
              const acts = st.timeline.filter((e) => e.kind === 'action');
              for (const a of acts.slice(actions))
                console.log(`[${a.t} s] > ${a.label}: ${a.outcome} — ${a.detail}`);
              actions = acts.length;
            };
          })(),
        });
        running = run;
        const result = await run;
        console.log('');
        for (const v of result.verdicts)
          console.log(
            `${v.status.toUpperCase().padEnd(11)} ${v.name}${'detail' in v ? ` — ${v.detail}` : ''}`,
          );
        if (result.tally)
          console.log(
            `\n${result.tally.passed} passed, ${result.tally.failed} failed, ${result.tally.notMeasured} not measured`,
          );
        if (result.error) console.error(`run failed: ${result.error}`);
        if (opts.report) {
          const files = writeReports(result, opts.report);
          console.log(`\nreport: ${files.json}, ${files.html}`);
        }
        if (!result.passed) process.exitCode = 1;
      },
    );
  cmd
    .command('runs')
    .description('the scenario runs a running lab started through its API (queued, running, finished)')
    .option('--json', 'as JSON', false)
    .option(...urlOption)
    .action(async (opts: { json?: boolean; url: string }) => {
      const runs = await callLab<ScenarioRunState[]>(opts.url, '/api/scenarios/runs');
      if (opts.json) return console.log(JSON.stringify(runs, null, 2));
      for (const r of runs)
        console.log(
          `${r.runId.padEnd(34)} ${r.mode.padEnd(4)} ${(r.state === 'queued' ? `queued #${r.position ?? '?'}` : r.state).padEnd(10)} ${Math.round(r.progress.t)}/${r.progress.duration} s`,
        );
    });
  cmd
    .command('cancel <runId>')
    .description(
      'cancel a queued or running scenario run of a running lab (DELETE /api/scenarios/runs/:runId): its lab is stopped and cleaned up',
    )
    .option(...urlOption)
    .action(async (runId: string, opts: { url: string }) => {
      const st = await callLab<ScenarioRunState>(
        opts.url,
        `/api/scenarios/runs/${encodeURIComponent(runId)}`,
        {
          method: 'DELETE',
        },
      );
      console.log(`${st.runId}: ${st.state}`);
    });
}
