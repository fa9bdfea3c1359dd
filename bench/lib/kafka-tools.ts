/**
 * Kafka's own performance tools as the benches run them: through the local stack's script
 * (`scripts/stack/stack.sh consumer-perf | producer-perf`), and the reports they print.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of scripts/stack/stack.sh, from the sources or from dist/. */
export function stackScript(): string {
  return join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    ...(import.meta.url.includes('/dist/') ? ['..'] : []),
    'scripts',
    'stack',
    'stack.sh',
  );
}

/**
 * ConsumerPerformance's report: the line after its `start.time, ...` header, as column → value
 * (numbers where the column is numeric). Throws with the output when there is no report.
 */
export function parseConsumerPerf(stdout: string): Record<string, number | string> {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const at = lines.findIndex((l) => l.startsWith('start.time'));
  if (at < 0 || !lines[at + 1])
    throw new Error(`unexpected ConsumerPerformance output:\n${stdout.slice(-2000)}`);
  const keys = lines[at]!.split(',').map((s) => s.trim());
  const values = lines[at + 1]!.split(',').map((s) => s.trim());
  return Object.fromEntries(
    keys.map((k, i) => [k, Number.isFinite(Number(values[i])) ? Number(values[i]) : (values[i] ?? '')]),
  );
}

/** A numeric column of a ConsumerPerformance report; throws when it is missing. */
export function consumerPerfColumn(report: Record<string, number | string>, name: string): number {
  const v = report[name];
  if (typeof v !== 'number') throw new Error(`ConsumerPerformance output has no numeric ${name} column`);
  return v;
}
