/**
 * A teaching scenario as written in scenarios/<id>.yaml (after schema validation). Times are
 * seconds of scenario time from the start of the run (virtual seconds in fast mode).
 * docs/scenarios.md describes every field.
 */
import type { GeneratorKnobs } from '../kernel/workload/ysb-generator.js';

export type Comparison = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface ScenarioWorkload {
  /** YSB events per second at the start. */
  rate: number;
  /** live (YSB default) or skew (YSB -w). */
  mode?: 'live' | 'skew';
  knobs?: Partial<GeneratorKnobs>;
}

/** Components a crash/restart (stop/start) action can hit. */
export type LabComponent = 'speed' | 'kappa' | 'generator';
/** Infrastructure an action can stop/start: only against the real stack (distributed mode). */
export type InfraComponent = 'kafka' | 'redis';

export type ScenarioAction =
  | { action: 'crash'; component: 'speed'; point: 'after-flush-before-commit' | 'before-flush' }
  | { action: 'crash'; component: Exclude<LabComponent, 'speed'> }
  | { action: 'restart'; component: LabComponent }
  | { action: 'stop'; component: InfraComponent }
  | { action: 'start'; component: InfraComponent }
  | { action: 'deploy'; layer: 'batch' | 'speed'; version: number }
  /** The business decides which logic is right from now on: the truth oracle recounts with it. */
  | { action: 'intend-logic'; version: number }
  | { action: 'batch-run'; wait?: boolean }
  | { action: 'fail-map-tasks'; untilAttempt: number }
  | {
      action: 'replay';
      version: number;
      force?: boolean;
      rateLimit?: number;
      wait?: boolean;
      /** Where the replay reads history (default 'log'); 'archive' = Kappa+. */
      source?: 'log' | 'archive' | 'auto';
    }
  | { action: 'switchover'; mode?: 'flip' | 'overlap' | 'gate' }
  | { action: 'rollback' }
  | { action: 'set-rate'; rate: number }
  | { action: 'enforce-retention' };

export type TimelineItem = ScenarioAction & {
  /** seconds from the start */
  at: number;
  /** short text for the timeline mark and the report */
  label?: string;
  /** the action is expected to be refused with this error code (the run goes on) */
  expectError?: string;
};

/** When an expectation is checked. */
export type ExpectationTime =
  | 'end'
  /** the last sample at or before this second */
  | number
  | {
      from: number | 'start';
      to: number | 'end';
      /** always (every sample in the range; default), sometime (at least one), never (none) */
      hold?: 'always' | 'sometime' | 'never';
    };

export interface Expectation {
  name: string;
  /** dotted path into a sample: correctness.*, latency.*, batchBoundaryLagMs, maintenance.*, recount.*, lab.* */
  metric: string;
  at: ExpectationTime;
  op: Comparison;
  /** a constant ... */
  value?: number | string | boolean | null;
  /** ... or another metric of the same sample, times `factor` (default 1) */
  than?: string;
  factor?: number;
  /** the lesson this expectation encodes, shown beside the verdict */
  lesson?: string;
}

export interface NarrativeBeat {
  at: number;
  text: string;
}

export interface Scenario {
  id: string;
  title: string;
  goal: string;
  /** seconds of scenario time */
  duration: number;
  seed?: number;
  workload: ScenarioWorkload;
  /** overrides of the lab configuration (kernel/config/defaults.ts), validated like a config file */
  config?: Record<string, unknown>;
  measure?: {
    /** seconds between samples (default 5) */
    sampleEvery?: number;
    /** a window counts as closed once its end is this many ms behind the clock (default 2000) */
    closeMarginMs?: number;
  };
  timeline: TimelineItem[];
  expectations: Expectation[];
  narrative: NarrativeBeat[];
}

/** A scenario with the file it came from. */
export interface LoadedScenario {
  file: string;
  scenario: Scenario;
}
