/**
 * What the scenario routes (plugins/scenarios.ts) need from the scenario runner: the serving layer
 * defines the contract, scenarios/scenario-service.ts implements it, and the composition root
 * (lab/create-lab.ts) hands it to buildApp. The serving layer never imports scenarios/.
 */

/** One teaching scenario, as GET /api/scenarios lists it. */
export interface ScenarioSummary {
  id: string;
  title: string;
  goal: string;
  /** seconds of scenario time */
  duration: number;
  actions: number;
  expectations: number;
  /** stops/starts Kafka or Redis: runs only live against the real stack */
  needsInfrastructure: boolean;
}

/**
 * A scenario run's state as the routes answer it; the route schema (runStateSchema) lists every
 * field, the scenario runner owns the full shape (scenarios/scenario-runner.ts, ScenarioRunState).
 */
export interface ScenarioRunView {
  readonly runId: string;
  readonly state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
}

export interface ScenarioService {
  /** The teaching scenarios a run can start from (scenarios/*.yaml). */
  scenarios(): ScenarioSummary[];
  /**
   * Starts a run of a scenario, or queues it; returns its first state at once. An unknown scenario
   * (LKL_ERR_SCENARIO_UNKNOWN), a mode it cannot run in and a full queue throw.
   */
  start(scenarioId: string, opts: { fast: boolean; seed?: number | undefined }): ScenarioRunView;
  /** Every kept run, newest first. */
  list(): ScenarioRunView[];
  get(runId: string): ScenarioRunView | undefined;
  /** Pauses or resumes a live run; undefined when the run is unknown. */
  setPaused(runId: string, paused: boolean): Promise<ScenarioRunView | undefined>;
  /** Cancels a queued or running run; undefined when the run is unknown. */
  cancel(runId: string): Promise<ScenarioRunView | undefined>;
  /** Drops the queue, cancels the running runs and waits for their labs to close. */
  close(): Promise<void>;
}
