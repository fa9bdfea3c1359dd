/**
 * kafkajs log lines → stderr, without the noise: error *responses* the adapter receives and
 * handles itself (unknown topic on an existence check, "rebalancing" on a heartbeat, …) are
 * dropped, and a line repeated while a broker is down is printed once per window with a count
 * of the repeats it stands for.
 */
import kafkajs, { type LogEntry, type logCreator, type logLevel as KafkaJsLevel } from 'kafkajs';

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { logLevel } = kafkajs;

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export const KAFKAJS_LEVELS: Record<KafkaLogLevel, KafkaJsLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** Repeats of one line within this window (ms) are counted, not printed. */
const REPEAT_WINDOW_MS = 10_000;

export function quietLogCreator(write: (line: string) => void = (l) => process.stderr.write(l)): logCreator {
  return () => {
    const seen = new Map<string, { at: number; suppressed: number }>();
    return ({ namespace, label, log }: LogEntry): void => {
      const { message = '', error } = log as { message?: string; error?: string };
      // Protocol error responses: the adapter gets them as errors and maps or handles them.
      if (namespace === 'Connection' && message.startsWith('Response ')) return;
      const key = `${label} ${namespace}: ${message}`;
      const now = performance.now();
      const prev = seen.get(key);
      if (prev && now - prev.at < REPEAT_WINDOW_MS) {
        prev.suppressed++;
        return;
      }
      const repeats =
        prev && prev.suppressed > 0
          ? ` [${prev.suppressed} repeats in the last ${Math.round((now - prev.at) / 1000)} s]`
          : '';
      seen.set(key, { at: now, suppressed: 0 });
      if (seen.size > 200) seen.delete(seen.keys().next().value as string);
      write(`[kafkajs] ${key}${error ? ` (${error})` : ''}${repeats}\n`);
    };
  };
}
