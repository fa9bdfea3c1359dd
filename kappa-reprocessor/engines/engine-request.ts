import type { LabConfig } from '../../kernel/config/defaults.js';
import type { KappaLogicContext } from '../operator/index.js';
import type { KappaJobRecord } from '../state/index.js';

/** What a replay engine is built from. */
export interface EngineRequest {
  job: KappaJobRecord;
  logicContext: KappaLogicContext;
  settings: LabConfig['kappa'];
  /** Worker threads (embedded replay) the engine may use. */
  parallelism: number;
}
