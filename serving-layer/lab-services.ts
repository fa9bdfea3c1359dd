import type { BatchLayer } from '../batch-layer/index.js';
import type { KappaReprocessor } from '../kappa-reprocessor/index.js';
import type { Clock } from '../kernel/clock/clock.js';
import type { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { JobQueue } from '../kernel/ports/job-queue.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import type { SpeedLayer } from '../speed-layer/index.js';
import type { Measurement } from '../measurement/measurement-api.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import type { DeadLetterWriter } from '../kernel/ingest/dead-letter.js';
import type { IngestService } from '../kernel/ingest/ingest-service.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { GeneratorRunner } from '../kernel/workload/generator-runner.js';
import type { LagMonitor } from '../kernel/ingest/lag-monitor.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';

export type LabMode = 'embedded' | 'distributed';

export interface DependencyHealth {
  name: string;
  /** embedded adapter or the real system */
  kind: string;
  state: 'up' | 'down';
  detail: string;
}

/** What the serving layer needs from the running lab; the composition root (lab/create-lab.ts) wires it. */
export interface LabServices {
  readonly mode: LabMode;
  readonly clock: Clock;
  readonly config: Readonly<LabConfig>;
  readonly log: EventLog;
  readonly reference: ReferenceData;
  readonly ingest: IngestService;
  readonly deadLetters: DeadLetterWriter;
  readonly generator: GeneratorRunner;
  /** Consumer lag and back-pressure (kernel/ingest/lag-monitor.ts). */
  readonly lag: LagMonitor;
  readonly startedAt: number;
  readonly bus: LabEventBus;
  readonly store: RealtimeStore;
  readonly queue: JobQueue;
  readonly batch: BatchLayer;
  readonly speed: SpeedLayer;
  readonly kappa: KappaReprocessor;
  /** Truth oracle, correctness, latency, maintenance cost, divergence, timeline (measurement/). */
  readonly measurement: Measurement;
  dependencies(): Promise<DependencyHealth[]>;
}
