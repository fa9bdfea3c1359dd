import type { FastifyInstance } from 'fastify';
import type { Clock } from '../kernel/clock/clock.js';
import type { LabConfig } from '../kernel/config/defaults.js';
import type { LabServices } from '../serving-layer/lab-services.js';

/** What a scenario run uses of the lab it runs in: its services, its API (app.inject) and close. */
export interface ScenarioLab {
  readonly services: LabServices;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export interface ScenarioLabOptions {
  /** a fast run's virtual clock */
  clock?: Clock;
  /** a fast run starts the generator itself, on the virtual clock */
  roles?: { generator?: boolean };
}

/**
 * Builds the lab of one run. The scenario runner never imports the composition root: lab/create-lab.ts
 * (or the CLI, or a test) hands its createLab in.
 */
export type LabFactory = (config: Readonly<LabConfig>, options: ScenarioLabOptions) => Promise<ScenarioLab>;
