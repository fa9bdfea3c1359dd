import { describe, expect, it } from 'vitest';
import { mapInputs } from './batch-run.js';

describe('mapInputs', () => {
  it('combines consecutive small splits up to the limit, in order, and keeps a large split alone', () => {
    const splits = [5, 5, 5, 12, 3, 3, 9].map((events, id) => ({ id, events }));
    const inputs = mapInputs(splits, 10).map((g) => g.map((s) => s.id));
    expect(inputs).toEqual([[0, 1], [2], [3], [4, 5], [6]]);
    expect(
      mapInputs(splits, 10).every((g) => g.length === 1 || g.reduce((s, x) => s + x.events, 0) <= 10),
    ).toBe(true);
    expect(mapInputs([], 10)).toEqual([]);
  });
});
