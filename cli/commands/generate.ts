import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { loadConfig } from '../../kernel/config/load-config.js';
import { buildReferenceData } from '../../kernel/workload/reference-data.js';
import { DEFAULT_KNOBS, YsbGenerator } from '../../kernel/workload/ysb-generator.js';
import { CONFIG_FILE_HELP, intOption, numberOption } from '../options.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description(
      'Write YSB events to a JSONL file: catch-up mode (YSB -s: event_time = start + n × 10 ms), or live/skew at a rate for a duration.',
    )
    .option(
      '--catch-up <n>',
      'number of events in catch-up mode (default: none; give it or --rate)',
      intOption('--catch-up'),
    )
    .option(
      '--rate <events/s>',
      'live/skew mode: events per second of event time (default: none; give it or --catch-up)',
      numberOption('--rate'),
    )
    .option(
      '--duration <s>',
      'live/skew mode: seconds of event time (default: none; required with --rate)',
      numberOption('--duration'),
    )
    .option('--skew', 'YSB -w: ±50 ms jitter, 1 in 100 000 late by up to 60 s', false)
    .requiredOption('-o, --out <file>', 'output JSONL file ("-" for stdout) (required)')
    .option('--seed <n>', 'seed of the event stream', intOption('--seed'), 42)
    .option('--start-time <ms>', 'first event time, epoch ms (default: now)', intOption('--start-time'))
    .option(
      '--late-fraction <x>',
      `share of late events, 0..1 (default: ${DEFAULT_KNOBS.lateFraction})`,
      numberOption('--late-fraction'),
    )
    .option(
      '--max-lateness-ms <ms>',
      `largest lateness of a late event, ms (default: ${DEFAULT_KNOBS.maxLatenessMs})`,
      intOption('--max-lateness-ms'),
    )
    .option(
      '--duplicate-fraction <x>',
      `share of duplicated events, 0..1 (default: ${DEFAULT_KNOBS.duplicateFraction})`,
      numberOption('--duplicate-fraction'),
    )
    .option(
      '--malformed-fraction <x>',
      `share of malformed records, 0..1 (default: ${DEFAULT_KNOBS.malformedFraction})`,
      numberOption('--malformed-fraction'),
    )
    .option(
      '--hot-campaign-share <x>',
      `share of events for one hot campaign, 0..1 (default: ${DEFAULT_KNOBS.hotCampaignShare})`,
      numberOption('--hot-campaign-share'),
    )
    .option(
      '--bot-share <x>',
      `share of events from bot users, 0..1 (default: ${DEFAULT_KNOBS.botShare})`,
      numberOption('--bot-share'),
    )
    .option('-c, --config <file>', `${CONFIG_FILE_HELP}; its reference data settings are used`)
    .action(async (opts) => {
      const o = opts as Record<string, number | string | boolean | undefined>;
      if ((o.catchUp === undefined) === (o.rate === undefined)) {
        throw new Error('Give either --catch-up N, or --rate R with --duration S.');
      }
      const config = loadConfig({ file: o.config as string | undefined });
      const ref = buildReferenceData(config.reference);
      const knobs = Object.fromEntries(
        (
          [
            'lateFraction',
            'maxLatenessMs',
            'duplicateFraction',
            'malformedFraction',
            'hotCampaignShare',
            'botShare',
          ] as const
        )
          .filter((k) => o[k] !== undefined)
          .map((k) => [k, o[k] as number]),
      );
      const startTime = (o.startTime as number | undefined) ?? Date.now();
      const mode = o.catchUp !== undefined ? 'catch-up' : o.skew ? 'skew' : 'live';
      const gen = new YsbGenerator(ref, {
        seed: o.seed as number,
        mode,
        rate: (o.rate as number) ?? 0,
        startTime,
        knobs,
      });
      const out = o.out === '-' ? process.stdout : createWriteStream(o.out as string);
      let written = 0;
      const write = async (records: Array<{ value: string }>): Promise<void> => {
        const chunk = records.map((r) => r.value).join('\n') + '\n';
        written += records.length;
        if (!out.write(chunk)) await once(out, 'drain');
      };
      if (mode === 'catch-up') {
        let left = o.catchUp as number;
        while (left > 0) {
          const n = Math.min(left, 50_000);
          await write(gen.take(n));
          left -= n;
        }
      } else {
        if (!(typeof o.duration === 'number' && o.duration > 0))
          throw new Error('--rate needs --duration S (seconds of event time).');
        const end = startTime + (o.duration as number) * 1000;
        for (let t = startTime; t < end; t = Math.min(end, t + 1000))
          await write(gen.until(Math.min(end, t + 1000)));
      }
      if (out !== process.stdout) {
        out.end();
        await once(out, 'finish');
        console.error(
          `wrote ${written} records (${mode}, seed ${o.seed}, first event_time ${startTime}) to ${o.out}`,
        );
      }
    });
}
