/** Waiting for a Kappa job: for a state, or for its checkpoints to cover the log (tests, benchmarks, scenario steps). */
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { offsetsNamespace, type KappaJobRecord, type KappaJobState } from '../state/index.js';

/** Resolves when `job` reaches one of `states` (polling the registry in memory). */
export async function waitForJobState(
  src: {
    job(id: number): KappaJobRecord | undefined;
    /** Resolves once the control-plane transition in progress has finished. */
    settled(): Promise<unknown>;
    lastError(): string | undefined;
  },
  job: number,
  states: KappaJobState[],
  timeoutMs: number,
): Promise<KappaJobRecord> {
  const started = performance.now();
  for (;;) {
    const rec = src.job(job);
    if (rec && states.includes(rec.state)) {
      await src.settled();
      return { ...src.job(job)! };
    }
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `Kappa job ${job} did not reach ${states.join('/')} within ${timeoutMs} ms (state ${rec?.state ?? 'unknown'}; ${src.lastError() ?? 'no error'})`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once job `id` has checkpointed everything appended to the log before the call. */
export async function syncJob(
  src: { log: EventLog; store: RealtimeStore; topic: string; lastError(): string | undefined },
  id: number,
  timeoutMs: number,
): Promise<void> {
  const ends = await src.log.offsets(src.topic);
  const started = performance.now();
  for (;;) {
    const stored = await src.store.readOffsets(offsetsNamespace(id));
    if (ends.every((e) => e.end === 0 || (stored[e.partition] ?? 0) >= e.end)) return;
    if (performance.now() - started > timeoutMs) {
      const behind = ends
        .filter((e) => (stored[e.partition] ?? 0) < e.end)
        .map((e) => `${e.partition}: ${stored[e.partition] ?? 0}/${e.end}`);
      throw new Error(
        `Kappa job ${id} did not checkpoint up to the log end within ${timeoutMs} ms (partition: checkpointed/end ${behind.join(', ')}; ${src.lastError() ?? 'no error'})`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
