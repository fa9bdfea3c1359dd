/**
 * Crash-test helper (not part of the library): appends to an embedded log in a loop until it is
 * killed, printing one line per acknowledged append: `ack <partition> <end offset>`. Used by the
 * kill -9 test (run with `node --import tsx`) and by the recovery benchmark (from dist/).
 *
 *   append-loop-child --data-dir DIR --topic T --partitions N [--fsync-interval-ms MS]
 *                     [--batch RECORDS] [--value-bytes BYTES]
 *
 * Record values are `<partition>:<offset>:` padded with 'x' to --value-bytes, so a reader can
 * check that every record is intact and sits at the offset it was written for.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../../clock/system-clock.js';
import { openEmbeddedEventLog } from './embedded-event-log.js';

export function expectedValue(partition: number, offset: number, valueBytes: number): string {
  const head = `${partition}:${offset}:`;
  return head.length >= valueBytes ? head : head + 'x'.repeat(valueBytes - head.length);
}

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`append-loop-child: missing --${name}`);
  return v;
}

async function main(): Promise<void> {
  const dataDir = arg('data-dir');
  const topic = arg('topic');
  const partitions = Number(arg('partitions', '1'));
  const fsyncIntervalMs = Number(arg('fsync-interval-ms', '200'));
  const batch = Number(arg('batch', '100'));
  const valueBytes = Number(arg('value-bytes', '64'));
  const log = await openEmbeddedEventLog({ dataDir, clock: systemClock, fsyncIntervalMs });
  await log.ensureTopic(topic, { partitions });
  const next = (await log.offsets(topic)).map((o) => o.end);
  process.stdout.write(`ready ${next.join(',')}\n`);
  for (;;) {
    const records = [];
    for (let i = 0; i < batch; i++) {
      const p = i % partitions;
      records.push({ partition: p, value: expectedValue(p, next[p]!++, valueBytes) });
    }
    const acks = await log.append(topic, records);
    process.stdout.write(acks.map((a) => `ack ${a.partition} ${a.baseOffset + a.count}\n`).join(''));
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
