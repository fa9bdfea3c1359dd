import { EventEmitter } from 'node:events';

/**
 * Namespaced instrumentation events (KafkaJS style: `consumer.heartbeat`). Layers emit them; the
 * metrics collector, the timeline and the dashboard consume them instead of reaching into internals.
 */
export const LAB_EVENTS = {
  BATCH_INGEST_SPLIT: 'batch.ingest.split',
  BATCH_RUN_STARTED: 'batch.run.started',
  BATCH_RUN_PHASE: 'batch.run.phase',
  BATCH_RUN_FINISHED: 'batch.run.finished',
  BATCH_RUN_FAILED: 'batch.run.failed',
  BATCH_VIEW_SWAPPED: 'batch.view.swapped',
  LOGIC_DEPLOYED: 'lambda.logic.deployed',
  SPEED_FLUSH: 'speed.flush',
  SPEED_EXPIRED: 'speed.expired',
  SPEED_CRASH: 'speed.crash',
  KAPPA_JOB_STARTED: 'kappa.job.started',
  KAPPA_JOB_STOPPED: 'kappa.job.stopped',
  KAPPA_CHECKPOINT: 'kappa.checkpoint',
  KAPPA_CHECKPOINT_FAILED: 'kappa.checkpoint.failed',
  KAPPA_PARTITION_FENCED: 'kappa.partition.fenced',
  KAPPA_LATE_DROPPED: 'kappa.late.dropped',
  KAPPA_REPLAY_STARTED: 'kappa.replay.started',
  KAPPA_REPLAY_CAUGHT_UP: 'kappa.replay.caught-up',
  KAPPA_SWITCHOVER: 'kappa.switchover',
  /** The switchover gate refused an automatic switchover (payload: job, failedWindows, retryAt). */
  KAPPA_SWITCHOVER_REFUSED: 'kappa.switchover.refused',
  KAPPA_ROLLBACK: 'kappa.rollback',
  KAPPA_REPLAY_ABORTED: 'kappa.replay.aborted',
  KAPPA_JOB_RETIRED: 'kappa.job.retired',
} as const;

export type LabEventName = (typeof LAB_EVENTS)[keyof typeof LAB_EVENTS];

export interface LabEvent {
  name: LabEventName;
  at: number;
  payload: Record<string, unknown>;
}

export class LabEventBus {
  private readonly emitter = new EventEmitter();
  private readonly history: LabEvent[] = [];

  constructor(private readonly keep = 1000) {
    this.emitter.setMaxListeners(100);
  }

  emit(name: LabEventName, at: number, payload: Record<string, unknown> = {}): void {
    const event = { name, at, payload };
    this.history.push(event);
    if (this.history.length > this.keep) this.history.splice(0, this.history.length - this.keep);
    this.emitter.emit(name, event);
    this.emitter.emit('*', event);
  }

  on(name: LabEventName | '*', listener: (e: LabEvent) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  recent(limit = 100): LabEvent[] {
    return this.history.slice(-limit);
  }
}
