import type { Command } from 'commander';
import { loadConfig } from '../../kernel/config/load-config.js';
import { assertSafeBind } from '../../serving-layer/security/bind-policy.js';
import { createLab } from '../../lab/create-lab.js';
import { DEFAULTS } from '../../kernel/config/defaults.js';
import { CONFIG_FILE_HELP, configDefault, intOption, numberOption } from '../options.js';
import { exitOnSignals } from '../runtime/shutdown.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(
      'Start the all-in-one lab: API + dashboard, generator into the event log (embedded unless KAFKA_BROKERS/REDIS_URL are set).',
    )
    .option(
      '-p, --port <port>',
      `TCP port of the API and dashboard ${configDefault(DEFAULTS.server.port, 'server.port')}`,
      intOption('--port'),
    )
    .option('--host <host>', `interface to bind ${configDefault(DEFAULTS.server.host, 'server.host')}`)
    .option('-d, --data-dir <dir>', `data directory ${configDefault(DEFAULTS.dataDir, 'dataDir')}`)
    .option(
      '-r, --rate <events/s>',
      `generator rate in events/s; 0 = off ${configDefault(DEFAULTS.generator.rate, 'generator.rate')}`,
      numberOption('--rate'),
    )
    .option(
      '--seed <n>',
      `seed of the event stream ${configDefault(DEFAULTS.generator.seed, 'generator.seed')}`,
      intOption('--seed'),
    )
    .option(
      '--mode <mode>',
      `generator mode: live or skew (YSB -w) ${configDefault(DEFAULTS.generator.mode, 'generator.mode')}`,
    )
    .option('-c, --config <file>', CONFIG_FILE_HELP)
    .action(
      async (opts: {
        port?: number;
        host?: string;
        dataDir?: string;
        rate?: number;
        seed?: number;
        mode?: string;
        config?: string;
      }) => {
        const config = loadConfig({
          file: opts.config,
          overrides: {
            server: { port: opts.port, host: opts.host },
            dataDir: opts.dataDir,
            generator: { rate: opts.rate, seed: opts.seed, mode: opts.mode as 'live' | 'skew' | undefined },
          },
        });
        assertSafeBind(config.server); // before anything starts: refuse a non-loopback bind without a token
        const lab = await createLab(config, { logger: false });
        const url = await lab.listen();
        const rate = config.generator.rate;
        console.log(
          `Lambda–Kappa Lab is running at ${url}  (mode: ${lab.services.mode}, data: ${config.dataDir})`,
        );
        console.log(
          `  API docs: ${url}/docs   health: ${url}/api/health   status: lklab status --url ${url}`,
        );
        console.log(
          rate > 0
            ? `  generator: ${rate} YSB events/s into "ad-events"`
            : '  generator: off (send events with POST /api/events or `lklab import FILE`)',
        );
        console.log('  Ctrl-C stops the lab.');
        exitOnSignals({
          announce: `stopping (flushing the log; at most ${config.server.shutdownTimeoutMs} ms, a second signal exits at once)...`,
          stop: () => lab.close(),
          timeoutMs: config.server.shutdownTimeoutMs,
          pending: () => lab.closing,
          done: 'stopped.',
        });
      },
    );
}
