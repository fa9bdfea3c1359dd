/**
 * Ending a job (retired after grace or a newer switchover, aborted by a user): the ended record is
 * persisted first, so workers in other processes stop too; then its runner stops and its group,
 * table and offsets are removed — retried on every monitor tick until it succeeds.
 */
import type { Clock } from '../../kernel/clock/clock.js';
import type { EventLog } from '../../kernel/ports/event-log.js';
import type { RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { deleteTable, offsetsNamespace, type KappaJobRecord } from '../state/index.js';
import type { JobRunners } from './job-runners.js';
import { transition } from './lifecycle.js';
import type { JobMonitor } from './monitor.js';
import type { Registry } from './registry.js';

const PENDING = ' (cleanup pending)';

export class JobRetirement {
  /** Jobs whose table, group or offsets still have to be removed. */
  private readonly pending = new Set<number>();

  constructor(
    private readonly d: {
      registry: Registry;
      runners: JobRunners;
      monitor: JobMonitor;
      log: EventLog;
      store: RealtimeStore;
      clock: Clock;
      onError(err: Error): void;
    },
  ) {}

  /** A job loaded from the registry whose cleanup had not finished. */
  resumeIfPending(rec: KappaJobRecord): void {
    if ((rec.state === 'retired' || rec.state === 'aborted') && rec.endReason?.endsWith(PENDING))
      this.pending.add(rec.id);
  }

  /** Stops a job, marks it ended (persisted first, so workers stop too), then removes its data. */
  async end(rec: KappaJobRecord, state: 'retired' | 'aborted', reason: string): Promise<KappaJobRecord> {
    const ended = transition(rec, state, {
      endedAt: this.d.clock.now(),
      endReason: `${reason}${PENDING}`,
      retireAt: null,
    });
    await this.d.registry.persist([ended]);
    await this.d.runners.stop(rec.id);
    this.d.monitor.forget(rec.id);
    this.pending.add(rec.id);
    await this.cleanup(rec.id).catch((err: Error) => this.d.onError(err));
    return { ...this.d.registry.jobs.get(rec.id)! };
  }

  /** Retries every pending cleanup. */
  async retryAll(): Promise<void> {
    for (const id of [...this.pending]) await this.cleanup(id).catch((err: Error) => this.d.onError(err));
  }

  /** Removes the group (once no member is left), then the table and offsets. */
  private async cleanup(id: number): Promise<void> {
    const rec = this.d.registry.jobs.get(id);
    if (!rec) return;
    await this.d.log.deleteGroup(rec.group); // refused while another process still has a member
    // Deleted after the group: no member is left that could write one more checkpoint.
    await deleteTable(this.d.store, id);
    await this.d.store.deleteOffsets(offsetsNamespace(id));
    this.pending.delete(id);
    await this.d.registry.persist([{ ...rec, endReason: rec.endReason?.replace(PENDING, '') ?? null }]);
  }
}
