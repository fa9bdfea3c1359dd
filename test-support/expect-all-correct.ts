/**
 * The exactness assertion of the recount tests. Apart from recount.ts on purpose: recount.ts also
 * runs in child processes outside vitest (test/kappa-kill.test.ts), where importing vitest fails.
 */
import { expect } from 'vitest';
import { verdicts } from './recount.js';

/** Asserts every truth cell is served with exactly its value (all of them lie in [from, to)), and nothing else is served there. */
export function expectAllCorrect(
  served: Map<string, number>,
  truth: Map<string, number | Set<string>>,
  from: number,
  to: number,
): void {
  const v = verdicts(served, truth, from, to);
  expect(v, v.examples.join('\n')).toEqual({
    correct: truth.size,
    differ: 0,
    missing: 0,
    extra: 0,
    examples: [],
  });
}
