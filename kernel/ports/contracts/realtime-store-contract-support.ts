/**
 * Shared pieces of the realtime-store contract (realtime-store.contract.ts): what an adapter hands
 * the suite, the per-test state (a fresh store from the factory, a random key prefix, cleanup)
 * and the helpers the topic files share.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import { isLabError } from '../../errors/lab-error.js';
import { SKETCH_STANDARD_ERROR, type RealtimeStore } from '../realtime-store.js';

export interface RealtimeStoreHarness {
  store: RealtimeStore;
  /** Closes `store` and opens it again on the same data (embedded: from its checkpoint). */
  reopen?: () => Promise<RealtimeStore>;
  /** Closes whatever is open and removes the data. */
  cleanup: () => Promise<void>;
}

/** Relative error the sketch tests accept: three standard errors (99.7 % of runs). */
export const SKETCH_TOLERANCE = 3 * SKETCH_STANDARD_ERROR;

export async function rejection(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; retriable: boolean; details: unknown }> {
  try {
    await p;
  } catch (err) {
    if (isLabError(err))
      return { code: err.code, message: err.message, retriable: err.retriable, details: err.details };
    throw err;
  }
  throw new Error('expected a rejection, but the call resolved');
}

export function members(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}-user-${i}`);
}

/** What one test of the suite gets. */
export interface RealtimeStoreTestSubject {
  harness: RealtimeStoreHarness;
  store: RealtimeStore;
  /** A random key prefix per test. */
  prefix: string;
}

export interface RealtimeStoreContractState {
  /** `bind` is called with each test's subject, after the setup and before the test. */
  bind(bind: (subject: RealtimeStoreTestSubject) => void): void;
}

/** Registers the per-test setup and teardown in the current describe. */
export function useRealtimeStoreHarness(
  factory: () => Promise<RealtimeStoreHarness>,
): RealtimeStoreContractState {
  const binders: Array<(subject: RealtimeStoreTestSubject) => void> = [];
  let harness: RealtimeStoreHarness;

  beforeEach(async () => {
    harness = await factory();
    const subject = { harness, store: harness.store, prefix: `t-${randomUUID().slice(0, 8)}:` };
    for (const bind of binders) bind(subject);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  return { bind: (bind) => void binders.push(bind) };
}
