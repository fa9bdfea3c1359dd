import { LAB_EVENTS, type LabEvent, type LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { TimelineMark } from './measurement-api.js';

const str = (v: unknown): string => (v === undefined || v === null ? '?' : String(v));

/** The timeline label of an instrumentation event, or undefined when it is not a mark (flushes, checkpoints). */
export function markOf(e: LabEvent): TimelineMark | undefined {
  const p = e.payload;
  const mark = (kind: string, label: string): TimelineMark => ({
    at: e.at,
    kind,
    label,
    detail: { event: e.name, ...p },
  });
  switch (e.name) {
    case LAB_EVENTS.BATCH_RUN_STARTED:
      return mark(
        'batch-start',
        `batch run ${str(p.run)} started (logic v${str(p.logicVersion)}, ${str(p.events)} events)`,
      );
    case LAB_EVENTS.BATCH_RUN_FINISHED:
      return mark(
        'batch-run',
        `batch run ${str(p.run)} published view v${str(p.version)} (boundary ${str(p.boundary)})`,
      );
    case LAB_EVENTS.BATCH_RUN_FAILED:
      return mark('batch-failed', `batch run ${str(p.run)} failed: ${str(p.error)}`);
    case LAB_EVENTS.LOGIC_DEPLOYED:
      return mark('deploy', `logic v${str(p.logicVersion)} deployed to the ${str(p.layer)} layer`);
    case LAB_EVENTS.SPEED_CRASH:
      return mark('crash', `speed layer crashed (${str(p.point)})`);
    case LAB_EVENTS.KAPPA_REPLAY_STARTED:
      return mark(
        'replay-start',
        `Kappa replay: job ${str(p.job)} (logic v${str(p.logicVersion)}) started from offset 0`,
      );
    case LAB_EVENTS.KAPPA_REPLAY_CAUGHT_UP:
      return mark('caught-up', `Kappa job ${str(p.job)} caught up (lag ${str(p.lag)})`);
    case LAB_EVENTS.KAPPA_SWITCHOVER:
      return mark('switchover', `Kappa switchover: job ${str(p.from)} → job ${str(p.to)} (${str(p.how)})`);
    case LAB_EVENTS.KAPPA_ROLLBACK:
      return mark('rollback', `Kappa rollback: readers back on job ${str(p.to ?? p.job)}`);
    case LAB_EVENTS.KAPPA_REPLAY_ABORTED:
      return mark('abort', `Kappa replay job ${str(p.job)} aborted`);
    case LAB_EVENTS.KAPPA_JOB_RETIRED:
      return mark('retired', `Kappa job ${str(p.job)} retired`);
    default:
      return undefined;
  }
}

/** Timeline marks from the lab's instrumentation events (bounded; oldest first). */
export class Timeline {
  private readonly marks: TimelineMark[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly capacity = 1000) {}

  attach(bus: LabEventBus): void {
    for (const e of bus.recent(1000)) this.add(e);
    this.unsubscribe = bus.on('*', (e) => this.add(e));
  }

  detach(): void {
    this.unsubscribe?.();
  }

  private add(e: LabEvent): void {
    const m = markOf(e);
    if (!m) return;
    this.marks.push(m);
    if (this.marks.length > this.capacity) this.marks.splice(0, this.marks.length - this.capacity);
  }

  since(since?: number): TimelineMark[] {
    return since === undefined ? [...this.marks] : this.marks.filter((m) => m.at >= since);
  }
}
