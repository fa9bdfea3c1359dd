/**
 * The overview's state, shared by its charts and its panels: the measurement snapshots received,
 * the timeline marks, the last live figures, and whether the lab serves the measurement API.
 */

export const state = {
  points: [],
  marks: [],
  live: [],
  measurement: null,
};

/** The timeline marks received so far, oldest first. */
export function marksList() {
  return state.marks;
}

/** One architecture's entry of a snapshot's per-architecture list (latency, maintenance, ...). */
export const arch = (p, name, key) => p[key]?.find((x) => x.arch === name);
