import { LabError } from '../../kernel/errors/lab-error.js';
import type { KappaLogic } from './kappa-logic.js';
import { kappaLogicV1 } from './v1.js';
import { kappaLogicV2 } from './v2.js';
import { kappaLogicV3 } from './v3.js';

export const KAPPA_LOGIC: ReadonlyMap<number, KappaLogic> = new Map(
  [kappaLogicV1, kappaLogicV2, kappaLogicV3].map((l) => [l.version, l]),
);

export function availableKappaLogicVersions(): number[] {
  return [...KAPPA_LOGIC.keys()].sort((a, b) => a - b);
}

/** The logic module of a version; LKL_ERR_KAPPA_LOGIC_UNKNOWN names the available ones. */
export function kappaLogic(version: number): KappaLogic {
  const logic = KAPPA_LOGIC.get(version);
  if (!logic) {
    throw new LabError(
      'LKL_ERR_KAPPA_LOGIC_UNKNOWN',
      `Kappa logic v${String(version)} does not exist; available: ${availableKappaLogicVersions()
        .map((v) => `v${v}`)
        .join(', ')} (modules in kappa-reprocessor/logic/).`,
      { details: { logicVersion: version, available: availableKappaLogicVersions() } },
    );
  }
  return logic;
}
