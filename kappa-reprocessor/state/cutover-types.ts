/** The cutover modes and the part of the active pointer that carries one (reader-cutover.ts reads it). */
export type CutoverMode = 'flip' | 'overlap' | 'gate';
export const CUTOVER_MODES: readonly CutoverMode[] = ['flip', 'overlap', 'gate'];

/** The part of the active pointer that says how readers leave job N (absent or null = flip). */
export interface ReaderCutover {
  mode: 'overlap' | 'gate';
  /** job N */
  from: number;
  fromLogicVersion: number;
  /** gate: cut-over event time T (a window start); windows below it come from N. null for overlap. */
  at: number | null;
  /** when readers stop reading job N (ms, the lab's clock): end of the overlap, or N's end of grace */
  until: number;
}
