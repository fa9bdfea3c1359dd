import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

/**
 * prom-client's gauges whose names end in `_total`, which `promtool check metrics` rejects
 * ("non-counter metrics should not have _total suffix"); `sum(nodejs_active_handles)` and its
 * siblings give the same numbers.
 */
const LINT_FAILING = new Set([
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]);

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics (`process_*`: CPU, resident memory, file descriptors;
 * `nodejs_*`: heap, event-loop lag, GC, active handles), collected once per process into a
 * registry of their own — never the global one. They describe the process, not a lab, so the labs
 * of one process (tests, fast-forwarded scenarios) share them instead of each starting another
 * event-loop delay monitor and GC observer. Created on first use: a lab nobody scrapes pays nothing.
 */
export function processMetrics(): Metric[] {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  // getMetricsAsArray() hands back the metric objects themselves, typed by their common fields.
  const metrics = processRegistry.getMetricsAsArray().filter((m) => !LINT_FAILING.has(m.name));
  return metrics as unknown as Metric[];
}
