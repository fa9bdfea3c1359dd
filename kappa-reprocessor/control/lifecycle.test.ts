import { describe, expect, it } from 'vitest';
import type { KappaJobRecord, KappaJobState } from '../state/index.js';
import {
  canTransition,
  firstJob,
  isFinal,
  LEGAL_TRANSITIONS,
  newJobRecord,
  replayCandidate,
  RUNNING_STATES,
  transition,
} from './lifecycle.js';

const STATES: KappaJobState[] = ['live', 'replaying', 'caught-up', 'grace', 'retired', 'aborted'];

const replay = (id: number, state: KappaJobState = 'replaying'): KappaJobRecord => ({
  ...newJobRecord({ id, logicVersion: 2, group: `g${id}`, state: 'replaying', kind: 'replay', createdAt: 5 }),
  state,
});

describe('Kappa job lifecycle', () => {
  it('allows exactly the transitions the control plane makes', () => {
    const legal = STATES.flatMap((from) =>
      STATES.filter((to) => canTransition(from, to)).map((to) => `${from} -> ${to}`),
    );
    expect(legal.sort()).toEqual(
      [
        'replaying -> caught-up', // catch-up detected
        'replaying -> aborted', // abort
        'caught-up -> live', // switchover
        'caught-up -> aborted', // abort
        'live -> grace', // replaced by a switchover
        'live -> caught-up', // demoted by a rollback
        'grace -> live', // rolled back to
        'grace -> retired', // grace over, or a newer switchover
      ].sort(),
    );
  });

  it('refuses illegal transitions: ended jobs stay ended, a replay cannot skip catch-up, a live job is never aborted', () => {
    for (const [from, to] of [
      ['retired', 'live'],
      ['aborted', 'replaying'],
      ['replaying', 'live'],
      ['live', 'aborted'],
      ['live', 'retired'],
      ['grace', 'aborted'],
      ['caught-up', 'grace'],
      ['live', 'live'],
    ] as Array<[KappaJobState, KappaJobState]>) {
      expect(canTransition(from, to), `${from} -> ${to}`).toBe(false);
      expect(() => transition(replay(3, from), to)).toThrow(`Kappa job 3 cannot go from ${from} to ${to}`);
    }
    expect(isFinal('retired')).toBe(true);
    expect(isFinal('aborted')).toBe(true);
    expect(STATES.filter((s) => !isFinal(s)).sort()).toEqual([...RUNNING_STATES].sort());
    expect(LEGAL_TRANSITIONS.size).toBe(STATES.length);
  });

  it('transition() returns a new record with the changes applied and leaves the original alone', () => {
    const rec = replay(4);
    const caught = transition(rec, 'caught-up', { caughtUpAt: 1_234 });
    expect(caught).toMatchObject({ id: 4, state: 'caught-up', caughtUpAt: 1_234, group: 'g4' });
    expect(rec).toMatchObject({ state: 'replaying', caughtUpAt: null });
    const live = transition(caught, 'live', { activatedAt: 2_000 });
    expect(transition(live, 'grace', { retireAt: 9_000 })).toMatchObject({ state: 'grace', retireAt: 9_000 });
  });

  it('creates jobs only live (the first) or replaying', () => {
    const { record, pointer } = firstJob({ logicVersion: 1, group: 'lklab-kappa-v1', now: 77 });
    expect(record).toMatchObject({ id: 1, state: 'live', kind: 'initial', createdAt: 77, activatedAt: 77 });
    expect(pointer).toEqual({ job: 1, logicVersion: 1, previous: null, switchedAt: null });
    expect(replay(2).state).toBe('replaying');
    expect(() =>
      newJobRecord({ id: 2, logicVersion: 1, group: 'g', state: 'grace', kind: 'replay', createdAt: 0 }),
    ).toThrow('cannot start grace');
  });

  it('finds the replay in progress, replaying or caught up, and nothing else', () => {
    const live = firstJob({ logicVersion: 1, group: 'g1', now: 0 }).record;
    expect(replayCandidate([live, replay(2, 'aborted')])).toBeUndefined();
    expect(replayCandidate([live, replay(2, 'aborted'), replay(3, 'caught-up')])?.id).toBe(3);
    expect(replayCandidate([live, replay(4)])?.id).toBe(4);
  });
});
