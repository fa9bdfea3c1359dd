/** What the Kappa control plane takes and returns: options, requests and the jobs view (DTOs). */
import type { LabConfig } from '../../kernel/config/defaults.js';
import type { EngineRequest } from '../engines/index.js';
import type { DeltaCounters, ProcessingEngine } from '../operator/index.js';
import type { RunnerStats } from '../runtime/index.js';
import type { KappaJobRecord } from '../state/index.js';
import type { HistoryArchive } from '../../kernel/ports/history-archive.js';
import type { CatchUpState } from './catch-up.js';
import type { ReplaySourceRequest } from './replay-sources.js';

export type KappaSettings = LabConfig['kappa'];

export const DEFAULT_GROUP_PREFIX = 'lklab-kappa-v';

export interface KappaReprocessorOptions {
  topic: string;
  settings: KappaSettings;
  /** Job N's consumer group is `${groupPrefix}${N}`. Default lklab-kappa-v. */
  groupPrefix?: string;
  /** Name of this process in dead letters and events. Default "lab". */
  runner?: string;
  /** Engine of a replay on the embedded log (default: inline on the main thread). */
  replayEngine?: (request: EngineRequest) => ProcessingEngine;
  /** How often progress, catch-up and grace are checked (ms). Default 250. */
  monitorIntervalMs?: number;
  /**
   * On Kafka + Redis: the lab's configuration, so that a replay runs its consumers in worker
   * threads that connect on their own (one Kafka client and Redis connection each). Without it a
   * replay runs `parallelism` consumers on the main thread.
   */
  threadConfig?: LabConfig;
  /** The history archive (the batch layer's master dataset) an archive replay reads; absent = none. */
  archive?: HistoryArchive;
}

export interface ReplayRequest {
  logicVersion: number;
  force?: boolean;
  /** Events/s; undefined = kappa.replayRateLimit; 0 = unlimited. */
  rateLimit?: number;
  /** Where the history is read: 'log' (default), 'archive' (Kappa+) or 'auto' (the log if it can, else the archive). */
  source?: ReplaySourceRequest;
}

export interface PartitionProgressView {
  partition: number;
  /** Next offset as checkpointed to the store (what readers see). */
  position: number;
  /** Next offset processed in memory by this process (≥ position), when it runs the partition. */
  processed: number | null;
  end: number;
  lag: number;
  /** End offset snapshotted when the replay started (replays only). */
  snapshotEnd: number | null;
  /** Share of the snapshot consumed (0..1; replays only). */
  progress: number | null;
  rate: number;
  arrival: number;
  /** ms until this partition has caught up; null when not converging. */
  etaMs: number | null;
}

export interface KappaJobView extends KappaJobRecord {
  table: string;
  active: boolean;
  lag: number;
  rate: number;
  etaMs: number | null;
  partitions: PartitionProgressView[];
  counters: DeltaCounters;
  catchUp: CatchUpState | null;
  runner: RunnerStats | null;
}

export interface KappaJobsView {
  active: number | null;
  previous: number | null;
  switchedAt: number | null;
  availableLogicVersions: number[];
  settings: KappaSettings;
  jobs: KappaJobView[];
}

export type { EngineRequest } from '../engines/index.js';
