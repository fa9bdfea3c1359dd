/** What the measurement service is handed: the parts of the running lab it reads, and its settings. */
import type { BatchLayer } from '../batch-layer/index.js';
import type { KappaReprocessor } from '../kappa-reprocessor/index.js';
import type { Clock } from '../kernel/clock/clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import type { LabEventBus } from '../kernel/instrumentation/lab-events.js';
import type { EventLog } from '../kernel/ports/event-log.js';
import type { RealtimeStore } from '../kernel/ports/realtime-store.js';
import type { ReferenceData } from '../kernel/workload/reference-data.js';
import type { SpeedLayer } from '../speed-layer/index.js';
import type { CpuMeter } from './cpu-meter.js';

export type MeasurementSettings = LabConfig['measurement'];

/** The parts of the running lab the measurement reads. */
export interface MeasurementDeps {
  clock: Clock;
  config: Readonly<LabConfig>;
  /** The log as the layers see it (metered by `meter`). */
  log: EventLog;
  store: RealtimeStore;
  queueKind: string;
  bus: LabEventBus;
  reference: ReferenceData;
  batch: BatchLayer;
  speed: SpeedLayer;
  kappa: KappaReprocessor;
  meter: CpuMeter;
  topic: string;
}
