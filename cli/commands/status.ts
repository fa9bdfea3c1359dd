import type { Command } from 'commander';
import type { LabStatus } from '../../serving-layer/plugins/status.js';
import { callLab, DEFAULT_URL } from '../http-client.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('Show the running lab: mode, topics with low/end offsets, consumer groups with lag.')
    .option('--json', 'print JSON', false)
    .option(
      '--url <url>',
      'URL of the running lab ($LKLAB_URL when set)',
      process.env.LKLAB_URL ?? DEFAULT_URL,
    )
    .action(async (opts: { json?: boolean; url: string }) => {
      const status = await callLab<LabStatus>(opts.url, '/api/status');
      if (opts.json) {
        console.log(JSON.stringify(status, null, 2));
        return;
      }
      console.log(
        `mode: ${status.mode}   uptime: ${(status.uptimeMs / 1000).toFixed(0)} s   url: ${opts.url}`,
      );
      console.log(
        `generator (in the lab's own process): ${status.generator.running ? `${status.generator.rate} events/s (${status.generator.mode})` : 'off'}, produced ${status.generator.produced}` +
          (status.generator.lastError ? `, last error: ${status.generator.lastError}` : ''),
      );
      console.log(
        `ingest: ${status.ingest.accepted} accepted, ${status.ingest.rejected} rejected; dead letters: ${status.deadLetters}`,
      );
      console.log('\ntopics:');
      for (const t of status.topics) {
        console.log(
          `  ${t.name.padEnd(28)} ${t.partitions.map((p) => `p${p.partition} ${p.low}..${p.end}`).join('  ')}   (end ${t.end})`,
        );
      }
      console.log('\nconsumer groups:');
      if (status.groups.length === 0) console.log('  (none)');
      for (const g of status.groups) console.log(`  ${g.group.padEnd(28)} ${g.topic}  lag ${g.totalLag}`);
    });
}
