import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../kernel/config/defaults.js';
import { readerSources } from '../state/index.js';
import { newJobRecord } from './lifecycle.js';
import { planCutover, type CutoverInput } from './cutover.js';

const W = 10_000;
const B = 1_700_000_000_000 - (1_700_000_000_000 % W);
const settings = {
  ...DEFAULTS.kappa,
  maxOutOfOrderMs: 1_000,
  allowedLatenessMs: 5_000,
  idleTimeoutMs: 20_000,
};
const job = (id: number, state: 'live' | 'replaying') =>
  newJobRecord({
    id,
    logicVersion: 1,
    group: `g${id}`,
    state,
    kind: state === 'live' ? 'initial' : 'replay',
    createdAt: 0,
  });

function input(over: Partial<CutoverInput>): CutoverInput {
  return {
    mode: 'gate',
    current: job(1, 'live'),
    candidate: job(2, 'replaying'),
    now: 5_000,
    settings,
    // partition 0 and 1 at B + 100 s, partition 2 stopped at B + 30 s
    maxEventTimes: new Map([
      [0, B + 99_990],
      [1, B + 99_980],
      [2, B + 29_990],
    ]),
    positions: { 0: 500, 1: 400, 2: 100 },
    ends: [0, 1, 2].map((p) => ({ partition: p, low: 0, end: [500, 400, 100][p]! })),
    ...over,
  };
}

describe('planCutover (gate)', () => {
  it('an idle partition (read to the end, far behind) does not hold T back', () => {
    const { cutover, record } = planCutover(input({}));
    expect(record.idlePartitions).toEqual([2]);
    expect(cutover).toMatchObject({ mode: 'gate', from: 1, at: B + 90_000, until: 5_000 + settings.graceMs });
  });

  it('a partition with unread records holds T back however far behind it is', () => {
    const { record } = planCutover(input({ positions: { 0: 500, 1: 400, 2: 99 } }));
    expect(record.idlePartitions).toEqual([]);
    expect(record.at).toBe(B + 20_000); // partition 2 finalized the windows before B + 20 s only
  });

  it('a partition within the idle timeout holds T back', () => {
    const { record } = planCutover(input({ settings: { ...settings, idleTimeoutMs: 100_000 } }));
    expect(record.at).toBe(B + 20_000);
  });

  it('a requested T is rounded down to a window and may not be later than the computed one', () => {
    expect(planCutover(input({ at: B + 45_000 })).record.at).toBe(B + 40_000);
    expect(() => planCutover(input({ at: B + 100_000 }))).toThrow(
      /later than the newest window job 1 has finalized/,
    );
  });

  it('readers take windows below T from job N and the rest from N+1 until N ends', () => {
    const { cutover } = planCutover(input({}));
    const p = { job: 2, logicVersion: 1, previous: 1, switchedAt: 5_000, cutover };
    expect(readerSources(p, B + 80_000, 6_000)).toEqual([{ job: 1, logicVersion: 1 }]);
    expect(readerSources(p, B + 90_000, 6_000)).toEqual([{ job: 2, logicVersion: 1 }]);
    expect(readerSources(p, B + 80_000, cutover!.until)).toEqual([{ job: 2, logicVersion: 1 }]);
  });
});

describe('planCutover (overlap, flip)', () => {
  it('overlap serves both tables summed until overlapMs, then N+1', () => {
    const { cutover } = planCutover(input({ mode: 'overlap', settings: { ...settings, overlapMs: 30_000 } }));
    expect(cutover).toMatchObject({ mode: 'overlap', at: null, until: 35_000 });
    const p = { job: 2, logicVersion: 1, previous: 1, switchedAt: 5_000, cutover };
    expect(readerSources(p, B, 34_999).map((s) => s.job)).toEqual([1, 2]);
    expect(readerSources(p, B, 35_000).map((s) => s.job)).toEqual([2]);
  });

  it('flip, or no job N, leaves no cutover in the pointer', () => {
    expect(planCutover(input({ mode: 'flip' })).cutover).toBeNull();
    expect(planCutover(input({ current: undefined })).record.mode).toBe('flip');
  });
});
