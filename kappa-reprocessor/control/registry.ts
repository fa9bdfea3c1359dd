/** The control plane's copy of the job registry: loaded from the store, changed only by persisting. */
import type { FieldSet, RealtimeStore } from '../../kernel/ports/realtime-store.js';
import { loadRegistry, registrySets, type ActivePointer, type KappaJobRecord } from '../state/index.js';

export class Registry {
  jobs = new Map<number, KappaJobRecord>();
  active: ActivePointer | null = null;

  constructor(private readonly store: RealtimeStore) {}

  async load(): Promise<void> {
    const reg = await loadRegistry(this.store);
    this.jobs = reg.jobs;
    this.active = reg.active;
  }

  /** Writes the records (and the active pointer, and `extra` sets) in one atomic apply, then updates the copy. */
  async persist(records: KappaJobRecord[], active?: ActivePointer, extra: FieldSet[] = []): Promise<void> {
    await this.store.apply({ sets: [...registrySets(records, active), ...extra] });
    for (const r of records) this.jobs.set(r.id, r);
    if (active) this.active = active;
  }
}
