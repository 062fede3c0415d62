// The trial table's order: by trial, status, a swept field or an objective; a second click on the same header
// reverses it. Trials without the value (not evaluated yet) stay last in either direction.
import type { ParamValue, SweepTrialRow } from '../../src/protocol/sweep';

export type SortKey = 'index' | 'status' | 'objective' | 'final' | `param:${string}`;

function valueOf(row: SweepTrialRow, key: SortKey): ParamValue | null {
  if (key === 'index') return row.index;
  if (key === 'status') return row.status;
  if (key === 'objective') return row.objective;
  if (key === 'final') return row.finalObjective;
  return row.params[key.slice('param:'.length)] ?? null;
}

function compare(a: ParamValue, b: ParamValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function sortTrials(rows: readonly SweepTrialRow[], key: SortKey, descending: boolean): SweepTrialRow[] {
  return rows.slice().sort((x, y) => {
    const a = valueOf(x, key);
    const b = valueOf(y, key);
    if (a === null || b === null) return a === b ? x.index - y.index : a === null ? 1 : -1;
    const order = compare(a, b) * (descending ? -1 : 1);
    return order !== 0 ? order : x.index - y.index;
  });
}

/** A swept value as the table shows it: numbers in at most 4 significant digits (1e-4 stays 0.0001). */
export function formatValue(value: ParamValue | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  return String(value);
}
