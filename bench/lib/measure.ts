/** Small measuring helpers the bench scripts share: timing with CPU, the median, number format. */

/** Wall-clock and CPU time (all threads of the process) of `fn`. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The median, rounded when it falls between two values. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** A whole number with thousands separators (en-US). */
export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
