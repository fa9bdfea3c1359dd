import type { Command } from 'commander';
import { AnalyticDb, startBatchWorker } from '../../batch-layer/index.js';
import { createJobQueue } from '../../kernel/adapters/store-factory.js';
import { systemClock } from '../../kernel/clock/system-clock.js';
import { loadConfig } from '../../kernel/config/load-config.js';
import { LabError } from '../../kernel/errors/lab-error.js';
import { redactUrl } from '../../kernel/util/redact.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import { assertSafeBind } from '../../serving-layer/security/bind-policy.js';
import { DEFAULTS } from '../../kernel/config/defaults.js';
import { CONFIG_FILE_HELP, configDefault, intOption, numberOption } from '../options.js';
import { createLab, type LabRole } from '../../lab/create-lab.js';
import { exitOnSignals } from '../runtime/shutdown.js';

/** Stops on SIGINT/SIGTERM: flush, commit, close — within server.shutdownTimeoutMs, or at a second signal. */
function onSignals(
  what: string,
  config: ReturnType<typeof loadConfig>,
  stop: () => Promise<void>,
  pending?: () => string | undefined,
): void {
  exitOnSignals({
    announce: `stopping the ${what} (flush, commit, close)...`,
    stop,
    timeoutMs: config.server.shutdownTimeoutMs,
    pending: pending ?? (() => `the ${what}`),
  });
}

function requireDistributed(command: string, config: ReturnType<typeof loadConfig>): void {
  if (config.kafka.brokers.length === 0 || !config.redis.url) {
    throw new LabError(
      'LKL_ERR_CLI_USAGE',
      `\`lklab ${command}\` runs one component of the distributed lab: set KAFKA_BROKERS and REDIS_URL (\`npm run stack:up\` prints them). For everything in one process use \`lklab start\`.`,
    );
  }
}

/** Starts a lab process with some roles only. */
async function runRoles(
  command: string,
  configFile: string | undefined,
  roles: Partial<Record<LabRole, boolean>>,
  listen: boolean,
  overrides = {},
): Promise<void> {
  const config = loadConfig({ file: configFile, overrides });
  requireDistributed(command, config);
  if (listen) assertSafeBind(config.server); // before anything starts
  const lab = await createLab(config, { roles });
  if (listen) console.log(`lklab ${command}: serving at ${await lab.listen()} (mode ${lab.services.mode})`);
  else
    console.log(
      `lklab ${command}: running (mode ${lab.services.mode}, Kafka ${config.kafka.brokers.join(',')}, Redis ${redactUrl(config.redis.url)})`,
    );
  onSignals(
    command,
    config,
    () => lab.close(),
    () => lab.closing,
  );
}

export function registerComponents(program: Command): void {
  program
    .command('serve')
    .description(
      'Distributed mode: the serving layer (API + dashboard) with the batch coordinator (ingest, schedule, view publishing) and the Kappa control plane. Map/reduce tasks go to `lklab batch-worker` processes.',
    )
    .option(
      '-p, --port <port>',
      `TCP port of the API and dashboard ${configDefault(DEFAULTS.server.port, 'server.port')}`,
      intOption('--port'),
    )
    .option('--host <host>', `interface to bind ${configDefault(DEFAULTS.server.host, 'server.host')}`)
    .option(
      '--local-workers <n>',
      'map/reduce tasks (at once) that also run in this process',
      intOption('--local-workers'),
      0,
    )
    .option('-c, --config <file>', CONFIG_FILE_HELP)
    .action(async (opts: { port?: number; host?: string; localWorkers: number; config?: string }) => {
      await runRoles(
        'serve',
        opts.config,
        { generator: false, speed: false, kappa: true, batch: true },
        true,
        {
          server: { port: opts.port, host: opts.host },
          batch: { localWorkers: opts.localWorkers },
        },
      );
    });

  program
    .command('speed-layer')
    .description('Distributed mode: run the speed layer alone (consumes Kafka, flushes to Redis).')
    .option('-c, --config <file>', CONFIG_FILE_HELP)
    .action(async (opts: { config?: string }) => {
      await runRoles(
        'speed-layer',
        opts.config,
        { generator: false, speed: true, kappa: false, batch: false },
        false,
      );
    });

  program
    .command('produce')
    .description('Distributed mode: run the YSB generator alone, into Kafka.')
    .option(
      '-r, --rate <events/s>',
      `generator rate in events/s ${configDefault(DEFAULTS.generator.rate, 'generator.rate')}`,
      numberOption('--rate'),
    )
    .option(
      '-w, --workers <n>',
      `producer threads, each its own idempotent Kafka producer; partition p is written by thread p mod N (0 = this thread) ${configDefault(DEFAULTS.generator.producerWorkers, 'generator.producerWorkers')}`,
      intOption('--workers'),
    )
    .option('-c, --config <file>', CONFIG_FILE_HELP)
    .action(async (opts: { rate?: number; workers?: number; config?: string }) => {
      await runRoles(
        'produce',
        opts.config,
        { generator: true, speed: false, kappa: false, batch: false },
        false,
        { generator: { rate: opts.rate, producerWorkers: opts.workers } },
      );
    });

  program
    .command('batch-worker')
    .description(
      'Run one batch worker: takes map and reduce tasks from the job queue (BullMQ on REDIS_URL) and runs them on DuckDB over the shared data directory.',
    )
    .option('--concurrency <n>', 'map/reduce tasks at once', intOption('--concurrency'), 1)
    .option(
      '-d, --data-dir <dir>',
      `the shared data directory (must be the lab's) ${configDefault(DEFAULTS.dataDir, 'dataDir')}`,
    )
    .option('-c, --config <file>', CONFIG_FILE_HELP)
    .action(async (opts: { concurrency: number; dataDir?: string; config?: string }) => {
      const config = loadConfig({ file: opts.config, overrides: { dataDir: opts.dataDir } });
      if (!config.redis.url) {
        throw new LabError(
          'LKL_ERR_CLI_USAGE',
          '`lklab batch-worker` takes tasks from BullMQ: set REDIS_URL. The embedded lab runs its workers in-process (batch.localWorkers).',
        );
      }
      const db = await AnalyticDb.open(buildReferenceData(config.reference));
      const queue = await createJobQueue(config, systemClock);
      const worker = await startBatchWorker(queue, db, systemClock, Math.max(1, opts.concurrency));
      console.log(
        `lklab batch-worker: taking map/reduce tasks (concurrency ${opts.concurrency}, data ${config.dataDir}, Redis ${redactUrl(config.redis.url)})`,
      );
      onSignals('batch worker', config, async () => {
        await worker.close();
        await queue.close();
        db.close();
      });
    });
}
