import type { StreamLogic } from './speed-logic.js';
import { speedLogicV1 } from './v1.js';
import { speedLogicV2 } from './v2.js';
import { speedLogicV3 } from './v3.js';

export const SPEED_LOGIC: ReadonlyMap<number, StreamLogic> = new Map(
  [speedLogicV1, speedLogicV2, speedLogicV3].map((l) => [l.version, l]),
);

export function speedLogic(version: number): StreamLogic {
  const logic = SPEED_LOGIC.get(version);
  if (!logic)
    throw new RangeError(
      `speed logic v${version} does not exist (available: ${[...SPEED_LOGIC.keys()].join(', ')})`,
    );
  return logic;
}
