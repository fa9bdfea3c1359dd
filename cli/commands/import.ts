import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { LabError } from '../../kernel/errors/lab-error.js';
import { callLab, DEFAULT_URL } from '../http-client.js';
import { intOption } from '../options.js';

interface Summary {
  accepted: number;
  rejected: number;
  rejections: Array<{ line: number; reason: string }>;
}

export function registerImport(program: Command): void {
  program
    .command('import <file>')
    .description(
      'Append a JSONL file of YSB events to the running lab; invalid lines go to the dead-letter topic with their line number and reason.',
    )
    .option(
      '--url <url>',
      'URL of the running lab ($LKLAB_URL when set)',
      process.env.LKLAB_URL ?? DEFAULT_URL,
    )
    .option('--chunk <lines>', 'lines sent per request', intOption('--chunk'), 20_000)
    .action(async (file: string, opts: { url: string; chunk: number }) => {
      if (!existsSync(file))
        throw new LabError(
          'LKL_ERR_IMPORT_FILE_UNREADABLE',
          `File ${file} does not exist. Give the path of a JSONL file (one YSB event per line).`,
        );
      const total: Summary = { accepted: 0, rejected: 0, rejections: [] };
      const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      let lines: string[] = [];
      let firstLine = 1;
      let lineNo = 0;
      let waits = 0;
      const post = async (): Promise<Summary> => {
        // Back-pressure: the lab answers 429 with Retry-After while its consumers are behind; wait
        // and send the same chunk again (nothing of it was appended), for up to 10 minutes.
        for (const started = Date.now(); ;) {
          try {
            return await postChunk();
          } catch (err) {
            const e = err as Error & { code?: string; retryAfterS?: number };
            if (e.code !== 'LKL_ERR_INGEST_BACKPRESSURE' || Date.now() - started > 600_000) throw err;
            if (waits++ === 0) console.error('the lab is behind (back-pressure): waiting and retrying...');
            await new Promise((r) => setTimeout(r, 1000 * (e.retryAfterS ?? 1)));
          }
        }
      };
      const postChunk = (): Promise<Summary> =>
        callLab<Summary>(
          opts.url,
          `/api/events?firstLine=${firstLine}&source=${encodeURIComponent(`import ${basename(file)}`)}`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: lines.join('\n'),
          },
        );
      const send = async (): Promise<void> => {
        if (lines.length === 0) return;
        const s = await post();
        total.accepted += s.accepted;
        total.rejected += s.rejected;
        total.rejections.push(...s.rejections.slice(0, Math.max(0, 20 - total.rejections.length)));
        firstLine = lineNo + 1;
        lines = [];
      };
      for await (const line of rl) {
        lineNo++;
        lines.push(line);
        if (lines.length >= opts.chunk) await send();
      }
      await send();
      console.log(
        `${file}: ${total.accepted} accepted, ${total.rejected} rejected (dead-lettered with their reason; see GET /api/dead-letters)`,
      );
      for (const r of total.rejections) console.log(`  line ${r.line}: ${r.reason}`);
      if (total.rejected > total.rejections.length)
        console.log(`  ... and ${total.rejected - total.rejections.length} more`);
    });
}
