/**
 * Keyboard navigation of an ARIA grid (role=grid > role=row > role=gridcell) with a roving
 * tabindex: one cell is in the tab order, the arrow keys move between cells, Home / End go to
 * the row's first / last cell, Ctrl+Home / Ctrl+End to the grid's, Page Up / Page Down jump
 * PAGE_ROWS rows, Enter and Space activate the cell as a click does
 * (https://www.w3.org/WAI/ARIA/apg/patterns/grid/).
 */

const PAGE_ROWS = 5;
const CELL = '[role="gridcell"]';

/** Where `key` moves focus from (row, col) in a grid of `rows` × `cols`; null if it does not move it. */
export function moveFor(key, { row, col, rows, cols, ctrl = false }) {
  const clampRow = (r) => Math.max(0, Math.min(rows - 1, r));
  const clampCol = (c) => Math.max(0, Math.min(cols - 1, c));
  switch (key) {
    case 'ArrowRight':
      return { row, col: clampCol(col + 1) };
    case 'ArrowLeft':
      return { row, col: clampCol(col - 1) };
    case 'ArrowDown':
      return { row: clampRow(row + 1), col };
    case 'ArrowUp':
      return { row: clampRow(row - 1), col };
    case 'Home':
      return ctrl ? { row: 0, col: 0 } : { row, col: 0 };
    case 'End':
      return ctrl ? { row: rows - 1, col: cols - 1 } : { row, col: cols - 1 };
    case 'PageDown':
      return { row: clampRow(row + PAGE_ROWS), col };
    case 'PageUp':
      return { row: clampRow(row - PAGE_ROWS), col };
    default:
      return null;
  }
}

/**
 * Wires the keyboard and the pointer to `grid` (the role=grid element), whose cells may be
 * replaced at any time. `activate(cell)` runs on Enter, Space and click. The caller keeps the
 * tab stop across re-renders with `restore()`.
 */
export function rovingGrid(grid, { activate }) {
  const bodyRows = () =>
    [...grid.querySelectorAll('[role="row"]')]
      .map((r) => [...r.querySelectorAll(CELL)])
      .filter((cells) => cells.length > 0);

  /** Makes `cell` the grid's only tab stop; focuses it unless told not to. */
  const setStop = (cell, focus = true) => {
    for (const c of grid.querySelectorAll(`${CELL}[tabindex="0"]`)) if (c !== cell) c.tabIndex = -1;
    cell.tabIndex = 0;
    if (focus) cell.focus({ preventScroll: false });
  };

  grid.addEventListener('keydown', (e) => {
    const cell = e.target.closest?.(CELL);
    if (!cell || e.altKey || e.metaKey) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      activate(cell);
      return;
    }
    const rows = bodyRows();
    const row = rows.findIndex((cells) => cells.includes(cell));
    if (row < 0) return;
    const col = rows[row].indexOf(cell);
    const to = moveFor(e.key, { row, col, rows: rows.length, cols: rows[row].length, ctrl: e.ctrlKey });
    if (!to) return;
    e.preventDefault();
    const target = rows[to.row];
    setStop(target[Math.min(to.col, target.length - 1)]);
  });

  grid.addEventListener('click', (e) => {
    const cell = e.target.closest?.(CELL);
    if (!cell) return;
    setStop(cell);
    activate(cell);
  });

  return {
    /** The cell in the tab order, if any. */
    stop: () => grid.querySelector(`${CELL}[tabindex="0"]`),
    /**
     * After the cells were replaced: the first of `candidates` (cells or null) found becomes the
     * tab stop, else the first cell; it takes focus back if the grid had it (`hadFocus`).
     */
    restore(candidates, hadFocus) {
      const cell = candidates.find(Boolean) ?? grid.querySelector(CELL);
      if (!cell) return;
      setStop(cell, false);
      if (hadFocus) cell.focus({ preventScroll: true });
    },
  };
}
