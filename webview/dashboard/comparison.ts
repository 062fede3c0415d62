// The dashboard's comparison table as data: one row per shown run, a column per config field that
// differs (from the host's ConfigDiff), then the final train loss, the final value of each evaluation
// metric and the best evaluation. No DOM here (comparisonTable.ts draws it), so unit tests run it.
import type { BestEvaluation } from '../../src/shared/bestCheckpoint';
import type { ConfigDiff, ConfigValue, SortOrder } from '../../src/protocol/dashboard';
import type { EvalField } from '../charts/runMetrics';

export type CellValue = ConfigValue;

export interface Cell {
  /** What the column sorts by; null sorts last in both directions. */
  value: CellValue;
  text: string;
  title?: string;
}

export interface Column {
  key: string;
  label: string;
  /** Numbers align right. */
  numeric: boolean;
  title?: string;
}

export interface ComparisonRow {
  runDir: string;
  cells: Record<string, Cell>;
}

export interface ComparisonTable {
  columns: Column[];
  rows: ComparisonRow[];
  /** A note above the table: identical configs, or runs whose config could not be read. */
  note: string;
}

/** What the table needs of one shown run. */
export interface ComparedRun {
  runDir: string;
  name: string;
  trainLoss?: number;
  /** The last value of each evaluation metric. */
  finalEval: Partial<Record<EvalField, number>>;
  best?: BestEvaluation;
}

export type { SortOrder };

const EVAL_LABELS: Record<EvalField, string> = {
  loss: 'final eval loss',
  token_accuracy: 'final token accuracy',
  exact_match: 'final exact match',
  accuracy: 'final accuracy',
  f1: 'final F1',
};

const NONE: Cell = { value: null, text: '–' };

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

function number(v: number | undefined): Cell {
  return v === undefined ? NONE : { value: v, text: formatNumber(v) };
}

function configCell(v: ConfigValue): Cell {
  if (v === null) return NONE;
  return { value: v, text: String(v), title: typeof v === 'string' && v.length > 40 ? v : undefined };
}

export function comparisonTable(runs: readonly ComparedRun[], diff: ConfigDiff, evalFields: readonly EvalField[]): ComparisonTable {
  const byDir = new Map(diff.runs.map((r) => [r.runDir, r]));
  const shownFields = evalFields.filter((f) => runs.some((r) => r.finalEval[f] !== undefined));
  const bestMetrics = new Set(runs.flatMap((r) => (r.best ? [r.best.metric] : [])));
  const sharedMetric = bestMetrics.size === 1 ? [...bestMetrics][0] : undefined;
  const anyBest = bestMetrics.size > 0;
  const columns: Column[] = [
    { key: 'run', label: 'run', numeric: false },
    ...diff.fields.map((f) => ({ key: `config:${f}`, label: f, numeric: false, title: `${f} in config.resolved.json` })),
    { key: 'trainLoss', label: 'final train loss', numeric: true },
    ...shownFields.map((f) => ({ key: `eval:${f}`, label: EVAL_LABELS[f], numeric: true })),
    ...(anyBest
      ? [
          { key: 'bestMetric', label: sharedMetric ? `best ${sharedMetric}` : 'best metric', numeric: true, title: 'metric_for_best_model at its best evaluation' },
          { key: 'bestStep', label: 'best step', numeric: true },
        ]
      : []),
  ];
  const rows = runs.map((run): ComparisonRow => {
    const config = byDir.get(run.runDir);
    const cells: Record<string, Cell> = { run: { value: run.name, text: run.name, title: run.runDir } };
    diff.fields.forEach((f, i) => (cells[`config:${f}`] = config ? configCell(config.values[i] ?? null) : NONE));
    cells.trainLoss = number(run.trainLoss);
    for (const f of shownFields) cells[`eval:${f}`] = number(run.finalEval[f]);
    if (anyBest) {
      const best = run.best;
      const metric = best && best.value !== undefined ? number(best.value) : NONE;
      cells.bestMetric = best && !sharedMetric && metric.value !== null ? { ...metric, text: `${best.metric} ${metric.text}` } : metric;
      cells.bestStep = best ? { value: best.step, text: `${best.step}${best.final ? '' : ' (so far)'}` } : NONE;
    }
    return { runDir: run.runDir, cells };
  });
  const unreadable = runs.filter((r) => byDir.get(r.runDir)?.error !== undefined);
  const notes: string[] = [];
  if (diff.fields.length === 0 && runs.length - unreadable.length > 1) notes.push('The resolved configs are identical (apart from names and folders).');
  for (const r of unreadable) notes.push(`${r.name}: ${byDir.get(r.runDir)?.error}`);
  return { columns, rows, note: notes.join(' ') };
}

const TYPE_ORDER = { number: 0, boolean: 1, string: 2 } as const;

/** Ascending order of two cell values; null is handled by sortRows (always last). */
export function compareValues(a: Exclude<CellValue, null>, b: Exclude<CellValue, null>): number {
  const ta = TYPE_ORDER[typeof a as keyof typeof TYPE_ORDER];
  const tb = TYPE_ORDER[typeof b as keyof typeof TYPE_ORDER];
  if (ta !== tb) return ta - tb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** Rows ordered by one column; rows without a value stay last whichever the direction, ties keep their order. */
export function sortRows(rows: readonly ComparisonRow[], order: SortOrder | undefined): ComparisonRow[] {
  if (!order) return [...rows];
  const sign = order.direction === 'ascending' ? 1 : -1;
  return [...rows].sort((x, y) => {
    const a = x.cells[order.key]?.value ?? null;
    const b = y.cells[order.key]?.value ?? null;
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    return sign * compareValues(a, b);
  });
}

/** A click on a column header: sorts by it ascending, or flips the direction when it already sorts by it. */
export function nextSort(current: SortOrder | undefined, key: string): SortOrder {
  return current?.key === key ? { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' } : { key, direction: 'ascending' };
}
