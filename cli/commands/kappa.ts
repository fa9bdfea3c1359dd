import type { Command } from 'commander';
import { createEventLog } from '../../kernel/adapters/event-log-factory.js';
import { createRealtimeStore } from '../../kernel/adapters/store-factory.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { loadConfig } from '../../kernel/config/load-config.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import { AD_EVENTS_TOPIC } from '../../kernel/events/ysb-event.js';
import { DeadLetterWriter } from '../../kernel/ingest/dead-letter.js';
import { LAB_EVENTS, LabEventBus } from '../../kernel/instrumentation/lab-events.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import {
  type KappaJobRecord,
  type KappaJobsView,
  type ReplayPreflight,
  type KappaJobView,
  type ActivePointer,
  type KappaVerification,
  type SwitchoverResult,
  KappaWorkerHost,
} from '../../kappa-reprocessor/index.js';
import { callLab, DEFAULT_URL } from '../http-client.js';
import { DEFAULTS } from '../../kernel/config/defaults.js';
import { CONFIG_FILE_HELP, configDefault, intOption } from '../options.js';
import { exitOnSignals } from '../runtime/shutdown.js';
import { atOption, modeOption, registerCutoverCommand } from './kappa-cutover.js';

const urlOption = [
  '--url <url>',
  'URL of the running lab ($LKLAB_URL when set)',
  process.env.LKLAB_URL ?? DEFAULT_URL,
] as const;

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** One job, as `lklab kappa jobs` prints it. */
export function describeJob(j: KappaJobView): string {
  const head =
    `${j.active ? '*' : ' '} job ${j.id}  ${j.state.padEnd(9)}  logic v${j.logicVersion}  table ${j.table}  group ${j.group}` +
    (j.state === 'retired' || j.state === 'aborted'
      ? `  (${j.endReason ?? j.state})`
      : `  lag ${j.lag}  ${j.rate} events/s  ETA ${duration(j.etaMs)}`);
  const lines = [head];
  if (j.partitions.length > 0) {
    for (const p of j.partitions) {
      const progress =
        p.progress === null
          ? ''
          : `  ${(p.progress * 100).toFixed(1).padStart(5)} % of snapshot ${p.snapshotEnd}`;
      lines.push(
        `      p${p.partition}  ${String(p.position).padStart(10)} / ${String(p.end).padEnd(10)} lag ${String(p.lag).padEnd(8)} ${String(p.rate).padStart(7)} ev/s  ETA ${duration(p.etaMs)}${progress}`,
      );
    }
    const c = j.counters;
    lines.push(
      `      processed ${c.processed}, counted ${c.counted}, late ${c.late}, dropped (too late) ${c.dropped}, invalid ${c.invalid}` +
        (j.rateLimit ? `, rate limit ${j.rateLimit} events/s` : '') +
        (j.kind === 'replay' ? `, parallelism ${j.parallelism}` : ''),
    );
  }
  for (const w of j.warnings) lines.push(`      warning: ${w}`);
  return lines.join('\n');
}

/** A verdict as `lklab kappa verify` prints it: one line per window with its |diff| histogram. */
export function describeVerification(v: KappaVerification): string {
  const lines = [
    `verification of job ${v.job} (logic v${v.logicVersion})${v.against === null ? '' : ` against job ${v.against} (logic v${v.againstLogicVersion})`}: ${v.verdict}`,
    `  ${v.reason}`,
  ];
  if (v.windows.length > 0) {
    lines.push(`  |diff| buckets: ${v.buckets.join(' | ')}`);
    for (const w of v.windows) {
      const vsActive =
        w.absDiffActive === null
          ? ''
          : `  vs job ${v.against}: Σ|diff| ${w.absDiffActive}, unexplained ${w.unexplainedActive}`;
      lines.push(
        `  ${new Date(w.window).toISOString()}  ${String(w.cells).padStart(4)} cells  truth ${w.expectedViews}  job ${w.candidateViews}  Σ|diff| ${w.absDiffTruth}  [${w.histogram.join(' ')}]${vsActive}${v.failedWindows.includes(w.window) ? '  DIFFERS' : ''}`,
      );
      for (const d of w.differing.slice(0, 5))
        lines.push(
          `      ${d.campaign}: truth ${d.expected}, job ${d.candidate}${d.active === null ? '' : `, job ${v.against} ${d.active} (explained ${d.explained})`}`,
        );
    }
  }
  return lines.join('\n');
}

export function registerKappa(program: Command): void {
  const kappa = program
    .command('kappa')
    .description(
      'The Kappa architecture: one exact stream job per logic version; change logic by replaying the log.',
    );

  kappa
    .command('jobs')
    .description(
      'List Kappa jobs (* = the one readers use): state, lag, rate, per-partition progress and ETA.',
    )
    .option('--json', 'print JSON', false)
    .option(...urlOption)
    .action(async (opts: { json?: boolean; url: string }) => {
      const view = await callLab<KappaJobsView>(opts.url, '/api/kappa/jobs');
      if (opts.json) {
        console.log(JSON.stringify(view, null, 2));
        return;
      }
      console.log(
        `active job: ${view.active ?? 'none'}${view.previous ? ` (previous ${view.previous}, rollback possible while it is in grace)` : ''}; logic versions: ${view.availableLogicVersions.map((v) => `v${v}`).join(', ')}`,
      );
      for (const j of view.jobs) console.log(describeJob(j));
    });

  kappa
    .command('replay')
    .description(
      "Start job N+1 with a logic version: new group, new table, from the earliest offset (refused when the log lost history, unless --force). --source archive (Kappa+) reads the history from the batch layer's master dataset up to a cut-over per partition, then the log.",
    )
    .requiredOption(
      '--logic <version>',
      'logic version, e.g. 2 (YSB without bots) (required)',
      intOption('--logic'),
    )
    .option('--force', 'start even when retention dropped history (a warning is recorded on the job)', false)
    .option(
      '--rate <events/s>',
      `rate limit of the replay in events/s; 0 = unlimited ${configDefault(DEFAULTS.kappa.replayRateLimit, 'kappa.replayRateLimit')}`,
      intOption('--rate'),
    )
    .option(
      '--source <source>',
      'where the history is read: log (from offset 0), archive (the master dataset up to the cut-over, then the log: Kappa+) or auto (the log if it holds everything, else the archive)',
      'log',
    )
    .option(
      '--check',
      'only run the pre-flight: print which sources can replay the whole history, start nothing',
      false,
    )
    .option(...urlOption)
    .action(
      async (opts: {
        logic: number;
        force?: boolean;
        rate?: number;
        source: string;
        check?: boolean;
        url: string;
      }) => {
        if (opts.source !== 'log' && opts.source !== 'archive' && opts.source !== 'auto')
          throw new LabError(
            'LKL_ERR_CLI_USAGE',
            `--source takes log, archive or auto, got "${opts.source}".`,
          );
        if (opts.check) {
          const pre = await callLab<ReplayPreflight>(opts.url, '/api/kappa/replays/preflight');
          const o = pre.options;
          console.log(
            `log replay: ${o.log.possible ? 'possible' : `not possible — ${o.log.problems.join('; ')}`}`,
          );
          console.log(
            `archive replay: ${o.archive.possible ? `possible — cut-over ${o.archive.partitions.map((p) => `p${p.partition}@${p.cutover}`).join(', ')}; ${o.archive.fromLog} events from the log after it` : `not possible — ${o.archive.problems.join('; ')}`}`,
          );
          console.log(
            `--source auto would: ${o.choice === 'refuse' ? 'refuse' : `replay from the ${o.choice}`}`,
          );
          return;
        }
        const job = await callLab<KappaJobRecord>(opts.url, '/api/kappa/replays', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            logicVersion: opts.logic,
            ...(opts.force ? { force: true } : {}),
            ...(opts.rate === undefined ? {} : { rateLimit: opts.rate }),
            source: opts.source,
          }),
        });
        if (job.source === 'archive')
          console.log(
            `reading the archive up to the cut-over (${(job.cutover ?? []).map((c) => `p${c.partition}@${c.cutover}`).join(', ')}), then the log`,
          );
        console.log(
          `replay job ${job.id} started: logic v${job.logicVersion}, group ${job.group}, table kappa_v${job.id}, parallelism ${job.parallelism}${job.rateLimit ? `, rate limit ${job.rateLimit} events/s` : ''}; snapshot of ${job.snapshot?.reduce((s, p) => s + p.end, 0) ?? 0} events to pass.`,
        );
        for (const w of job.warnings) console.log(`warning: ${w}`);
        console.log('Follow it with `lklab kappa jobs`.');
      },
    );

  kappa
    .command('verify')
    .description(
      "The switchover gate's verdict, computed now: the replay's table (or --job N) against the truth and the active job over the last kappa.verifyWindows closed windows, with a per-window |diff| histogram.",
    )
    .option(
      '--job <id>',
      'job to verify (default: the replay in progress, else the active job)',
      intOption('--job'),
    )
    .option('--json', 'print JSON', false)
    .option(...urlOption)
    .action(async (opts: { job?: number; json?: boolean; url: string }) => {
      const v = await callLab<KappaVerification>(
        opts.url,
        `/api/kappa/verification${opts.job === undefined ? '' : `?job=${opts.job}`}`,
      );
      console.log(opts.json ? JSON.stringify(v, null, 2) : describeVerification(v));
    });

  kappa
    .command('switchover')
    .description(
      'Point readers at the caught-up replay; the previous job is kept for kappa.graceMs. --mode says how readers move: flip (one atomic flip), overlap (both jobs served summed for kappa.overlapMs) or gate (windows before T from the old job); default kappa.cutoverMode. `lklab kappa cutover` counts what it lost or duplicated. Refused when the replay differs from the truth in recent closed windows (see `lklab kappa verify`), unless --skip-verification.',
    )
    .option('--skip-verification', 'switch even when the verification gate says failed', false)
    .option(
      '--mode <mode>',
      "how readers move: flip, overlap or gate (default: the lab's kappa.cutoverMode)",
      modeOption,
    )
    .option(
      '--at <time>',
      'gate: the cut-over event time T, ISO 8601 or ms (default: the first window the old job has not finalized)',
      atOption,
    )
    .option(...urlOption)
    .action(async (opts: { url: string; skipVerification?: boolean; mode?: string; at?: number }) => {
      const p = await callLab<SwitchoverResult>(opts.url, '/api/kappa/switchover', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...(opts.skipVerification ? { skipVerification: true } : {}),
          ...(opts.mode ? { mode: opts.mode } : {}),
          ...(opts.at !== undefined ? { cutoverTime: opts.at } : {}),
        }),
      });
      console.log(
        `readers now use job ${p.job} (logic v${p.logicVersion}); previous job ${p.previous ?? 'none'} is kept for the grace period (\`lklab kappa rollback\` flips back).`,
      );
      const v = p.verification;
      console.log(
        `verification: ${v.verdict}${v.skipped ? ' (skipped with --skip-verification)' : ''} — ${v.reason}`,
      );
      if (p.cutoverRecord)
        console.log(`cutover: ${p.cutoverRecord.reason} (\`lklab kappa cutover\` counts it)`);
    });

  registerCutoverCommand(kappa, urlOption);

  kappa
    .command('rollback')
    .description('Point readers back at the previous job while it still exists.')
    .option(...urlOption)
    .action(async (opts: { url: string }) => {
      const p = await callLab<ActivePointer>(opts.url, '/api/kappa/rollback', { method: 'POST' });
      console.log(`readers now use job ${p.job} (logic v${p.logicVersion}) again.`);
    });

  kappa
    .command('abort <id>')
    .description('Cancel a replay: stop it and remove its table, consumer group and offsets.')
    .option(...urlOption)
    .action(async (id: string, opts: { url: string }) => {
      const n = Number(id);
      if (!Number.isInteger(n) || n < 1)
        throw new LabError(
          'LKL_ERR_CLI_USAGE',
          `abort takes a job id (a positive whole number), got "${id}"; \`lklab kappa jobs\` lists them.`,
        );
      const job = await callLab<KappaJobRecord>(opts.url, `/api/kappa/replays/${n}/abort`, {
        method: 'POST',
      });
      console.log(
        `job ${job.id} ${job.state}: table kappa_v${job.id}, group ${job.group} and its offsets removed.`,
      );
    });

  program
    .command('kappa-worker')
    .description(
      'Run Kappa job consumers in this process against Kafka + Redis (KAFKA_BROKERS, REDIS_URL): joins the consumer group of every running job the lab lists and checkpoints its partitions. Start several to spread a replay over processes.',
    )
    .option('-c, --config <file>', CONFIG_FILE_HELP)
    .option('--jobs <which>', 'all (live jobs and replays) or replays', 'all')
    .option('--consumers <n>', 'consumers per job in this process', intOption('--consumers'), 1)
    .option('--poll-ms <ms>', 'how often the job registry is read, ms', intOption('--poll-ms'), 1000)
    .action(async (opts: { config?: string; jobs: string; consumers: number; pollMs: number }) => {
      if (opts.jobs !== 'all' && opts.jobs !== 'replays')
        throw new LabError('LKL_ERR_CLI_USAGE', `--jobs takes all or replays, got "${opts.jobs}".`);
      const config = loadConfig({ file: opts.config });
      if (config.kafka.brokers.length === 0 || !config.redis.url) {
        throw new LabError(
          'LKL_ERR_KAPPA_WORKER_UNSUPPORTED',
          'kappa-worker needs Kafka and Redis: set KAFKA_BROKERS and REDIS_URL (`npm run stack:up` prints them) for the lab and for every worker. On the embedded log, replays use worker threads inside the lab instead.',
        );
      }
      const clock = systemClock;
      const log = await createEventLog(config, clock);
      const store = await createRealtimeStore(config, clock);
      const deadLetters = new DeadLetterWriter(log, clock);
      await deadLetters.ensureTopic();
      const bus = new LabEventBus();
      const name = `kappa-worker ${process.pid}`;
      const host = new KappaWorkerHost(
        log,
        store,
        deadLetters,
        buildReferenceData(config.reference),
        clock,
        bus,
        {
          topic: AD_EVENTS_TOPIC,
          settings: config.kappa,
          jobs: opts.jobs,
          consumersPerJob: Math.max(1, opts.consumers),
          pollMs: Math.max(100, opts.pollMs),
          runner: name,
          onChange: (m) => console.log(`${new Date(clock.now()).toISOString()} ${m}`),
        },
      );
      bus.on(LAB_EVENTS.KAPPA_CHECKPOINT_FAILED, (e) =>
        console.error(
          `${new Date(e.at).toISOString()} checkpoint of job ${String(e.payload.job)} failed: ${String(e.payload.error)}`,
        ),
      );
      await host.start();
      console.log(
        `${name}: following the Kappa jobs of the lab (${config.kafka.brokers.join(',')}, ${config.redis.url.replace(/\/\/[^@]*@/, '//***@')}); Ctrl-C stops it.`,
      );
      let closing = 'the Kappa jobs (checkpoint, leave the groups)';
      exitOnSignals({
        announce: 'checkpointing and leaving the groups...',
        stop: async () => {
          await host.stop();
          closing = 'the realtime store';
          await store.close();
          closing = 'the event log';
          await log.close();
        },
        timeoutMs: config.server.shutdownTimeoutMs,
        pending: () => closing,
      });
    });
}
