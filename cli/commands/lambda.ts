import type { Command } from 'commander';
import type { BatchRunRecord } from '../../batch-layer/index.js';
import { callLab, DEFAULT_URL } from '../http-client.js';
import { intOption } from '../options.js';
import { waitUntil } from '../../kernel/util/wait-until.js';

const urlOption = [
  '--url <url>',
  'URL of the running lab ($LKLAB_URL when set)',
  process.env.LKLAB_URL ?? DEFAULT_URL,
] as const;

function describeRun(r: BatchRunRecord): string {
  const phases = Object.entries(r.phases)
    .map(([k, v]) => `${k} ${v} ms`)
    .join(', ');
  return (
    `batch run ${r.id}: ${r.state}${r.error ? ` (${r.error})` : ''}; logic v${r.logicVersion}; ${r.splits} splits, ${r.events} events; ${phases || 'no phases yet'}` +
    (r.viewVersion
      ? `; view v${r.viewVersion}, boundary ${r.boundary} (${new Date(r.boundary ?? 0).toISOString()})`
      : '')
  );
}

export function registerLambda(program: Command): void {
  const batch = program.command('batch').description('The Lambda batch layer.');
  batch
    .command('run')
    .description('Start a batch run now (MapReduce over the whole master dataset).')
    .option('--wait', 'wait until it has finished and print its phases', false)
    .option(...urlOption)
    .action(async (opts: { wait?: boolean; url: string }) => {
      let run = await callLab<BatchRunRecord>(opts.url, '/api/lambda/batch-runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ trigger: 'cli' }),
      });
      if (opts.wait) {
        const id = run.id;
        run = await waitUntil(
          async () => {
            const r = await callLab<BatchRunRecord>(opts.url, `/api/lambda/batch-runs/${id}`);
            return (r.state === 'completed' || r.state === 'failed') && r;
          },
          // --wait waits as long as the run takes
          { what: `batch run ${id} to finish`, timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 250 },
        );
      }
      console.log(describeRun(run));
      if (run.state === 'failed') process.exitCode = 1;
    });
  batch
    .command('runs')
    .description('List batch runs, newest first.')
    .option('--json', 'print JSON', false)
    .option(...urlOption)
    .action(async (opts: { json?: boolean; url: string }) => {
      const runs = await callLab<BatchRunRecord[]>(opts.url, '/api/lambda/batch-runs');
      if (opts.json) console.log(JSON.stringify(runs, null, 2));
      else for (const r of runs) console.log(describeRun(r));
    });

  const lambda = program.command('lambda').description('The Lambda architecture as a whole.');
  lambda
    .command('deploy')
    .description(
      'Deploy a logic version to ONE Lambda layer (the batch SQL or the speed TS): a partial deploy shows divergence.',
    )
    .requiredOption('--layer <layer>', 'batch or speed (required)')
    .requiredOption(
      '--logic <version>',
      'logic version, e.g. 2 (YSB without bots) (required)',
      intOption('--logic'),
    )
    .option(...urlOption)
    .action(async (opts: { layer: string; logic: number; url: string }) => {
      const r = await callLab<{ batchLogicVersion: number; speedLogicVersion: number }>(
        opts.url,
        '/api/lambda/deploy',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ layer: opts.layer, logicVersion: opts.logic }),
        },
      );
      console.log(
        `deployed logic v${opts.logic} to the ${opts.layer} layer; batch runs v${r.batchLogicVersion}, speed runs v${r.speedLogicVersion}`,
      );
    });
  lambda
    .command('status')
    .description('Logic version per layer, the current batch view and boundary, speed-layer counters.')
    .option(...urlOption)
    .action(async (opts: { url: string }) => {
      console.log(JSON.stringify(await callLab(opts.url, '/api/lambda'), null, 2));
    });
}
